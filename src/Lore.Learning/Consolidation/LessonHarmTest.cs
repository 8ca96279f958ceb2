using System.Globalization;
using Lore.Learning.Statistics;

namespace Lore.Learning.Consolidation;

/// <summary>
/// Judges each lesson by experiment: among the judged episodes where retrieval found the lesson eligible, those of
/// units the per-lesson holdout withheld it from (recorded as <see cref="Step.WithheldLessonIds"/>) against those it
/// was injected into. The holdout is drawn by unit, so the comparison is randomised and the variance is the
/// cluster-robust one over units. Each lesson is tested one-sided for harm with the always-valid mixture sequential
/// test (Johari, Pekelis and Walsh, arXiv:1512.04922), so it may be looked at on every learning pass over a growing
/// window, at <c>alpha / m</c> for the m lessons judged together (Bonferroni across lessons). The consolidator,
/// retention and the rollout monitor retire a lesson for harm only on this evidence.
/// </summary>
public static class LessonHarmTest
{
    /// <summary>The family-wise level across the lessons judged together.</summary>
    public const double DefaultAlpha = 0.05;

    /// <summary>Units each side needs before the experiment may decide (the unit-level variance needs a few dozen).</summary>
    public const int DefaultMinimumUnits = 20;

    /// <summary>The mixing spread of the sequential test: tuned to effects of about ten points.</summary>
    public const double DefaultSpread = 0.1;

    /// <summary>
    /// The experiment's result for every lesson of <paramref name="lessonIds"/> that has eligible episodes on both
    /// sides in <paramref name="episodes"/> (read with their steps); lessons without are absent. The level is
    /// <paramref name="alpha"/> divided by the number of lessons in <paramref name="lessonIds"/>.
    /// </summary>
    public static IReadOnlyDictionary<string, LessonEffect> Measure(
        IEnumerable<Episode> episodes,
        IReadOnlyCollection<string> lessonIds,
        int minimumEpisodes,
        int minimumUnits = DefaultMinimumUnits,
        double alpha = DefaultAlpha,
        double spread = DefaultSpread)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        ArgumentNullException.ThrowIfNull(lessonIds);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumEpisodes, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(minimumUnits, 2);
        if (double.IsNaN(alpha) || alpha <= 0 || alpha >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "alpha must lie strictly between 0 and 1.");
        }

        if (double.IsNaN(spread) || spread <= 0 || spread > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(spread), spread, "spread must lie in (0, 1].");
        }

        var wanted = lessonIds.ToHashSet(StringComparer.Ordinal);
        var sides = new Dictionary<string, (Side With, Side Without)>(StringComparer.Ordinal);
        var withheld = new HashSet<string>(StringComparer.Ordinal);
        foreach (var episode in episodes)
        {
            if (episode.Score is not { } score || string.IsNullOrWhiteSpace(episode.UnitKey))
            {
                continue;
            }

            score = Math.Clamp(score, 0, 1);
            withheld.Clear();
            foreach (var step in episode.Steps)
            {
                withheld.UnionWith(step.WithheldLessonIds);
            }

            foreach (var id in episode.InjectedLessonIds.Distinct(StringComparer.Ordinal))
            {
                if (wanted.Contains(id))
                {
                    SidesOf(sides, id).With.Add(episode.UnitKey, score);
                }
            }

            foreach (var id in withheld)
            {
                if (wanted.Contains(id) && !episode.InjectedLessonIds.Contains(id, StringComparer.Ordinal))
                {
                    SidesOf(sides, id).Without.Add(episode.UnitKey, score);
                }
            }
        }

        var level = alpha / Math.Max(1, wanted.Count);
        var effects = new Dictionary<string, LessonEffect>(StringComparer.Ordinal);
        foreach (var (id, (with, without)) in sides)
        {
            if (with.Episodes > 0 && without.Episodes > 0)
            {
                effects[id] = Judge(with, without, minimumEpisodes, minimumUnits, level, spread);
            }
        }

        return effects;
    }

    /// <summary>
    /// The posterior probability that the lesson helps, under the test's N(0, spread^2) prior on its effect; 0.5 (no
    /// information) for an effect not measured by experiment, since retrieval's choices confound a plain comparison.
    /// </summary>
    public static double BenefitProbability(LessonEffect effect, double spread = DefaultSpread)
    {
        ArgumentNullException.ThrowIfNull(effect);
        if (!effect.Randomized || effect.DeltaVariance <= 0)
        {
            return 0.5;
        }

        return Proportions.NormalCdf(spread * effect.Delta / Math.Sqrt(effect.DeltaVariance * (effect.DeltaVariance + spread * spread)));
    }

    /// <summary>True when the experiment shows harm at its level, with enough data on both sides.</summary>
    public static bool ShowsHarm(LessonEffect effect)
    {
        ArgumentNullException.ThrowIfNull(effect);
        return effect.Randomized && effect.HasEnoughData && effect.Delta < 0 && effect.HarmPValue <= effect.Level;
    }

    /// <summary>One line of evidence for an audit record: rates, units, interval, p-value and level.</summary>
    public static string Describe(LessonEffect effect)
    {
        ArgumentNullException.ThrowIfNull(effect);
        return string.Create(CultureInfo.InvariantCulture,
            $"{effect.WithSuccessRate:0.000} with ({effect.WithCount} episodes, {effect.WithUnits} units) vs {effect.WithoutSuccessRate:0.000} withheld by the holdout ({effect.WithoutCount} episodes, {effect.WithoutUnits} units): {effect.Delta:+0.000;-0.000;0.000}, {(1 - effect.Level) * 100:0.###}% interval [{effect.IntervalLow:0.000}, {effect.IntervalHigh:0.000}], one-sided p(harm) = {effect.HarmPValue:0.####} at level {effect.Level:0.####}");
    }

    private static (Side With, Side Without) SidesOf(Dictionary<string, (Side With, Side Without)> sides, string id)
    {
        if (!sides.TryGetValue(id, out var pair))
        {
            sides[id] = pair = (new Side(), new Side());
        }

        return pair;
    }

    private static LessonEffect Judge(Side with, Side without, int minimumEpisodes, int minimumUnits, double level, double spread)
    {
        var delta = with.Mean - without.Mean;
        var pooledMean = (with.Sum + without.Sum) / (with.Episodes + without.Episodes);
        var variance = Math.Max(
            Math.Max(with.ClusterVariance(with.Mean) + without.ClusterVariance(without.Mean), with.ClusterVariance(pooledMean) + without.ClusterVariance(pooledMean)),
            with.IndependentVariance() + without.IndependentVariance());
        variance = Math.Max(variance, 1e-12);
        var t2 = spread * spread;
        var logRatio = 0.5 * Math.Log(variance / (variance + t2)) + t2 * delta * delta / (2 * variance * (variance + t2));
        var z = spread * delta / Math.Sqrt(variance * (variance + t2));
        var harm = Math.Min(1, Math.Exp(-(logRatio + Math.Log(2 * Proportions.NormalCdf(-z)))));
        var half = Math.Sqrt(variance * (variance + t2) / t2 * (2 * Math.Log(1 / level) + Math.Log((variance + t2) / variance)));
        return new LessonEffect(with.Episodes, with.Mean, without.Episodes, without.Mean)
        {
            Randomized = true,
            WithUnits = with.Units,
            WithoutUnits = without.Units,
            DeltaVariance = variance,
            HarmPValue = double.IsNaN(harm) ? 1 : harm,
            Level = level,
            IntervalLow = Math.Max(-1, delta - half),
            IntervalHigh = Math.Min(1, delta + half),
            HasEnoughData = with.Episodes >= minimumEpisodes && without.Episodes >= minimumEpisodes && with.Units >= minimumUnits && without.Units >= minimumUnits,
        };
    }

    /// <summary>One side of a lesson's experiment: per-unit totals and the sums the variances need.</summary>
    private sealed class Side
    {
        private readonly Dictionary<string, (int Episodes, double Sum)> _units = new(StringComparer.Ordinal);

        public int Episodes { get; private set; }

        public double Sum { get; private set; }

        public int Units => _units.Count;

        public double Mean => Episodes == 0 ? 0 : Sum / Episodes;

        private double _squares;

        public void Add(string unit, double score)
        {
            var (n, y) = _units.GetValueOrDefault(unit);
            _units[unit] = (n + 1, y + score);
            Episodes++;
            Sum += score;
            _squares += score * score;
        }

        /// <summary>G/(G-1) * sum_i (y_i - mean n_i)^2 / N^2; 0 with fewer than two units.</summary>
        public double ClusterVariance(double mean)
        {
            if (_units.Count < 2)
            {
                return 0;
            }

            double residuals = 0;
            foreach (var (n, y) in _units.Values)
            {
                residuals += (y - mean * n) * (y - mean * n);
            }

            return residuals * _units.Count / (_units.Count - 1.0) / ((double)Episodes * Episodes);
        }

        /// <summary>The episode-level variance of the mean, with one pseudo-observation of 0 and one of 1 (never zero).</summary>
        public double IndependentVariance()
        {
            var n = Episodes + 2.0;
            var sum = Sum + 1.0;
            return Math.Max((_squares + 1.0 - sum * sum / n) / (n - 1), 1e-12) / Math.Max(1, Episodes);
        }
    }
}
