using Lore.Evaluation;

namespace Lore;

/// <summary>
/// Continuous evaluation of a candidate snapshot against the baseline: decides, as often as it is asked, whether the
/// candidate should be rolled back, may be promoted, or needs more data, without watching inflating false alarms.
/// </summary>
/// <remarks>
/// <para>
/// Each comparison is the two-sample mixture sequential probability ratio test of Johari, Pekelis and Walsh ("Always
/// Valid Inference", arXiv:1512.04922; Operations Research 70(3), 2022) on the difference of success rates, with a
/// normal mixing distribution of spread <see cref="EvaluationPolicy.MixtureSpread"/> and a plug-in variance that is
/// cluster-robust over units (the rollout randomises units, not episodes). Its p-values are always valid: the chance
/// that a comparison ever shows a difference that is not there is at most its level, however often it is checked,
/// so evaluating after every episode is safe. Each direction is tested one-sided, because each is acted on alone:
/// "worse" (overall or on any slice) rolls back, "better" (overall only) promotes.
/// </para>
/// <para>
/// Family-wise error, by a plan fixed before the data: the counts of each period of constant canary share (a share
/// change moves units between arms, so each period is tested on its own) are judged at a planned part of Alpha: the
/// first period at <c>1 - ShareChangeReserve</c> of it, the k-th later one at <c>ShareChangeReserve/(k(k+1))</c>,
/// which sums to Alpha over any number of share changes, restarts and re-entries. Within a period the level is split between the
/// overall test and the declared slices (equally, <c>1 - LateSliceReserve</c> of it) and the slices nobody declared
/// (the j-th to appear gets <c>LateSliceReserve/(j(j+1))</c>); with nothing declared and a single slice seen, that
/// slice is the overall population and is tested once. The chance that a rollout with no real difference anywhere is
/// ever rolled back, or ever promoted, is therefore at most <see cref="EvaluationPolicy.Alpha"/>. A comparison only
/// decides once both arms have <see cref="EvaluationPolicy.MinimumEpisodesPerArm"/> episodes from
/// <see cref="EvaluationPolicy.MinimumUnitsPerArm"/> units; slices below it are reported and not acted on.
/// </para>
/// <para>
/// Rollback: the candidate is significantly worse overall or on any slice with enough data. Promote: significantly
/// better overall and significantly worse nowhere. Otherwise continue. The evaluator holds no state: the same counts
/// always give the same decision, whether they come from the store's shared tally or an <see cref="OutcomeTally"/>.
/// </para>
/// </remarks>
public sealed class RolloutEvaluator
{
    private readonly double _alpha;
    private readonly int _minimum;
    private readonly int _minimumUnits;
    private readonly double _spread;
    private readonly int _expectedSlices;
    private readonly double _lateReserve;
    private readonly double _shareReserve;
    private readonly HashSet<string> _declared;

    /// <summary>Copies and validates <paramref name="policy"/> (the defaults when null); later changes to it have no effect.</summary>
    public RolloutEvaluator(EvaluationPolicy? policy = null)
    {
        policy ??= new EvaluationPolicy();
        policy.Validate();
        _alpha = policy.Alpha;
        _minimum = policy.MinimumEpisodesPerArm;
        _minimumUnits = policy.MinimumUnitsPerArm;
        _spread = policy.MixtureSpread;
        _expectedSlices = policy.ExpectedSlices;
        _lateReserve = policy.LateSliceReserve;
        _shareReserve = policy.ShareChangeReserve;
        _declared = new HashSet<string>(policy.DeclaredSlices, StringComparer.Ordinal);
    }

    /// <summary>
    /// The part of the level the counts of share period <paramref name="period"/> may spend: all but
    /// <see cref="EvaluationPolicy.ShareChangeReserve"/> for the first, <c>ShareChangeReserve/(k(k+1))</c> for the
    /// k-th later one (summing to 1).
    /// </summary>
    public double PeriodShare(int period)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(period);
        return period == 0 ? 1 - _shareReserve : _shareReserve / (period * (period + 1.0));
    }

    /// <summary>Compares two arms on one population at the policy's full <see cref="EvaluationPolicy.Alpha"/>.</summary>
    public ArmComparison Compare(ArmOutcomes baseline, ArmOutcomes candidate) => Compare(baseline, candidate, _alpha);

    /// <summary>The decision for a rollout's outcomes so far, with its reason and evidence.</summary>
    public EvaluationDecision Evaluate(RolloutOutcomes outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var periodAlpha = _alpha * PeriodShare(outcomes.Period);
        var levels = SliceLevels(outcomes.SlicesInOrderSeen, periodAlpha, out var overallLevel, out var tests);
        var slicesTested = levels is not null;

        var overall = new SliceVerdict(SliceVerdict.Overall, Compare(outcomes.Baseline, outcomes.Candidate, overallLevel));
        var slices = new SliceVerdict[outcomes.Slices.Count];
        var regressions = new List<SliceVerdict>();
        if (overall.Verdict == ComparisonVerdict.CandidateWorse)
        {
            regressions.Add(overall);
        }

        for (var i = 0; i < slices.Length; i++)
        {
            var slice = outcomes.Slices[i];
            var comparison = !slicesTested ? overall.Comparison : Compare(slice.Baseline, slice.Candidate, levels![slice.Slice]);
            slices[i] = new SliceVerdict(slice.Slice, comparison);
            if (slicesTested && comparison.Verdict == ComparisonVerdict.CandidateWorse)
            {
                regressions.Add(slices[i]);
            }
        }

        if (regressions.Count > 0)
        {
            regressions.Sort((a, b) => a.Comparison.PValue != b.Comparison.PValue
                ? a.Comparison.PValue.CompareTo(b.Comparison.PValue)
                : string.CompareOrdinal(a.Slice, b.Slice));
            var first = regressions[0];
            var where = first.Slice == SliceVerdict.Overall ? "The candidate regressed overall" : $"The candidate regressed on slice '{first.Slice}'";
            var more = regressions.Count > 1 ? $"; {regressions.Count - 1} more regression(s) in the evidence" : "";
            return new EvaluationDecision(EvaluationAction.Rollback, $"{where}: {first.Comparison.Describe()}{more}.", overall, slices, regressions, tests);
        }

        if (overall.Verdict == ComparisonVerdict.CandidateBetter)
        {
            return new EvaluationDecision(EvaluationAction.Promote, $"The candidate is better overall with no slice regression: {overall.Comparison.Describe()}.", overall, slices, [overall], tests);
        }

        string reason;
        if (!overall.Comparison.HasEnoughData)
        {
            reason = $"Waiting for data: decisions need {_minimum} episodes from {_minimumUnits} units in each arm (baseline has {outcomes.Baseline.Episodes} from {outcomes.Baseline.Units}, candidate {outcomes.Candidate.Episodes} from {outcomes.Candidate.Units}).";
        }
        else
        {
            var ready = !slicesTested ? slices.Length : slices.Count(s => s.Comparison.HasEnoughData);
            reason = $"No significant difference yet: {overall.Comparison.Describe()}; {ready} of {slices.Length} slice(s) have enough data to be tested.";
        }

        return new EvaluationDecision(EvaluationAction.Continue, reason, overall, slices, [], tests);
    }

    /// <summary>
    /// The level of each observed slice under the plan (null when the single slice seen is the overall population),
    /// the overall test's level and the number of tests planned so far.
    /// </summary>
    internal Dictionary<string, double>? SliceLevels(IReadOnlyList<string> slicesInOrderSeen, double periodAlpha, out double overallLevel, out int tests)
    {
        var slots = _declared.Count > 0 ? _declared.Count : _expectedSlices;
        if (slots == 0 && slicesInOrderSeen.Count <= 1)
        {
            overallLevel = periodAlpha;
            tests = 1;
            return null;
        }

        var primary = periodAlpha * (1 - _lateReserve) / (1 + slots);
        var reserve = periodAlpha * _lateReserve;
        overallLevel = primary;
        var levels = new Dictionary<string, double>(StringComparer.Ordinal);
        int anonymous = 0, late = 0;
        foreach (var slice in slicesInOrderSeen)
        {
            if (_declared.Contains(slice) || (_declared.Count == 0 && anonymous < _expectedSlices && ++anonymous > 0))
            {
                levels[slice] = primary;
            }
            else
            {
                late++;
                levels[slice] = reserve / (late * (late + 1.0));
            }
        }

        tests = 1 + slots + late;
        return levels;
    }

    /// <summary>
    /// Measures, for every lesson injected into any of <paramref name="episodes"/>, the success of the judged episodes
    /// with it against comparable ones without it (see <see cref="LessonAttribution"/>), in ordinal order of lesson id.
    /// Pass the episodes whose comparison is meaningful, typically both arms of one rollout.
    /// </summary>
    public IReadOnlyList<LessonAttribution> AttributeLessons(IEnumerable<Episode> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var sliceTotals = new Dictionary<string, ArmOutcomes>(StringComparer.Ordinal);
        var withLesson = new Dictionary<string, Dictionary<string, ArmOutcomes>>(StringComparer.Ordinal);
        var all = default(ArmOutcomes);
        foreach (var episode in episodes)
        {
            if (episode.Score is not { } score)
            {
                continue;
            }

            var slice = episode.Slice;
            sliceTotals[slice] = sliceTotals.GetValueOrDefault(slice).Add(score);
            all = all.Add(score);
            var ids = episode.InjectedLessonIds;
            for (var i = 0; i < ids.Count; i++)
            {
                if (IndexOf(ids, ids[i]) < i)
                {
                    continue; // the same lesson injected at several model calls counts once
                }

                if (!withLesson.TryGetValue(ids[i], out var bySlice))
                {
                    withLesson[ids[i]] = bySlice = new Dictionary<string, ArmOutcomes>(StringComparer.Ordinal);
                }

                bySlice[slice] = bySlice.GetValueOrDefault(slice).Add(score);
            }
        }

        var level = _alpha / Math.Max(1, withLesson.Count);
        var results = new List<LessonAttribution>(withLesson.Count);
        foreach (var (lessonId, bySlice) in withLesson.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            results.Add(Attribute(lessonId, bySlice, sliceTotals, all, level));
        }

        return results;
    }

    private LessonAttribution Attribute(string lessonId, Dictionary<string, ArmOutcomes> bySlice, Dictionary<string, ArmOutcomes> sliceTotals, ArmOutcomes all, double level)
    {
        var with = default(ArmOutcomes);
        var strata = new List<(ArmOutcomes With, ArmOutcomes Without)>();
        foreach (var (slice, sliceWith) in bySlice)
        {
            with += sliceWith;
            var sliceWithout = ArmOutcomes.Remainder(sliceTotals[slice], sliceWith);
            if (sliceWith.Episodes >= _minimum && sliceWithout.Episodes >= _minimum)
            {
                strata.Add((sliceWith, sliceWithout));
            }
        }

        var without = ArmOutcomes.Remainder(all, with);
        if (strata.Count == 0)
        {
            // Reported for information only: the raw difference, judged as if no slice could be compared.
            var raw = Compare(without, with, level);
            return new LessonAttribution(lessonId, with, without, 0, raw.Effect, raw.IntervalLow, raw.IntervalHigh, raw.PValue, level, false, LessonImpact.Inconclusive);
        }

        // Post-stratified difference: slices weighted by their episodes with the lesson, variances by the squared weights.
        double treated = strata.Sum(s => s.With.Episodes);
        double effect = 0, variance = 0;
        foreach (var (sliceWith, sliceWithout) in strata)
        {
            var weight = sliceWith.Episodes / treated;
            var estimate = MixtureSequentialTest.Difference(sliceWithout, sliceWith);
            effect += weight * estimate.Effect;
            variance += weight * weight * estimate.Variance;
        }

        var result = MixtureSequentialTest.Test(new DifferenceEstimate(effect, variance), _spread, level);
        var impact = result.PValue > level ? LessonImpact.Inconclusive : effect < 0 ? LessonImpact.Harmful : LessonImpact.Helpful;
        return new LessonAttribution(lessonId, with, without, strata.Count, effect, result.Low, result.High, result.PValue, level, true, impact);
    }

    /// <summary>
    /// Compares the arms one-sided in the direction of the observed effect, at <paramref name="level"/>: the p-value
    /// is that of "the candidate is worse" when the effect is negative and "better" otherwise; the interval is the
    /// two-sided always-valid one at the same level (so it may still touch 0 when the one-sided test decides).
    /// </summary>
    private ArmComparison Compare(ArmOutcomes baseline, ArmOutcomes candidate, double level)
    {
        var enough = baseline.Episodes >= _minimum && candidate.Episodes >= _minimum
            && baseline.Units >= _minimumUnits && candidate.Units >= _minimumUnits;
        if (baseline.Episodes == 0 || candidate.Episodes == 0)
        {
            return new ArmComparison(baseline, candidate, 0, -1, 1, 1, level, false, ComparisonVerdict.Inconclusive);
        }

        var estimate = MixtureSequentialTest.Difference(baseline, candidate);
        var result = MixtureSequentialTest.Test(estimate, _spread, level);
        var pValue = estimate.Effect < 0 ? result.WorsePValue : result.BetterPValue;
        var verdict = !enough || pValue > level ? ComparisonVerdict.Inconclusive
            : estimate.Effect < 0 ? ComparisonVerdict.CandidateWorse
            : ComparisonVerdict.CandidateBetter;
        return new ArmComparison(baseline, candidate, estimate.Effect, result.Low, result.High, pValue, level, enough, verdict);
    }

    private static int IndexOf(IReadOnlyList<string> ids, string id)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (string.Equals(ids[i], id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
