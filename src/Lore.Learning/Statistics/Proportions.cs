namespace Lore.Learning.Statistics;

/// <summary>A two-sided interval for a proportion.</summary>
/// <param name="Low">The lower bound, in [0, 1].</param>
/// <param name="High">The upper bound, in [0, 1].</param>
public readonly record struct Interval(double Low, double High);

/// <summary>
/// The few statistics learning needs to tell a pattern from noise: Wilson score intervals for rates, Fisher's exact
/// test and the two-proportion z test for "worse than the rest", and Benjamini-Hochberg adjustment for testing many
/// patterns at once. Everything is exact or uses well-known approximations, with no dependency. The Wilson interval is
/// public so the dashboard (package Lore.Server) draws exactly the bands learning decides with; the tests stay internal.
/// </summary>
public static class Proportions
{
    /// <summary>The z value of a two-sided 95% interval.</summary>
    public const double Z95 = 1.959963984540054;

    /// <summary>
    /// Wilson score interval for <paramref name="successes"/> out of <paramref name="trials"/>: unlike the normal
    /// approximation it stays inside [0, 1] and behaves for small samples and rates near 0 or 1. With no trials the
    /// interval is [0, 1]; with z = 0 it collapses to the observed rate.
    /// </summary>
    public static Interval Wilson(long successes, long trials, double z = Z95)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(trials);
        ArgumentOutOfRangeException.ThrowIfNegative(successes);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(successes, trials);
        if (double.IsNaN(z) || z < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(z), z, "z must be a non-negative number.");
        }

        if (trials == 0)
        {
            return new Interval(0, 1);
        }

        double n = trials;
        var p = successes / n;
        var z2 = z * z;
        var denominator = 1 + z2 / n;
        var center = (p + z2 / (2 * n)) / denominator;
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denominator;

        // Exact ends: no successes means the lower bound is 0, all successes means the upper bound is 1.
        var low = successes == 0 ? 0 : Math.Clamp(center - half, 0, 1);
        var high = successes == trials ? 1 : Math.Clamp(center + half, 0, 1);
        return new Interval(Math.Min(low, p), Math.Max(high, p));
    }

    /// <summary>
    /// One-sided Fisher exact test on a 2x2 table: the probability, with all margins fixed, of seeing at least
    /// <paramref name="a"/> failures among the <paramref name="a"/> + <paramref name="b"/> episodes with a pattern when
    /// the <paramref name="c"/> + <paramref name="d"/> episodes without it fail <paramref name="c"/> times. Small p
    /// means the pattern fails more often than chance allows.
    /// </summary>
    internal static double FisherGreater(int a, int b, int c, int d, LogFactorials logFactorials)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(a);
        ArgumentOutOfRangeException.ThrowIfNegative(b);
        ArgumentOutOfRangeException.ThrowIfNegative(c);
        ArgumentOutOfRangeException.ThrowIfNegative(d);
        var withPattern = a + b;
        var failures = a + c;
        var total = a + b + c + d;
        var max = Math.Min(withPattern, failures);

        // log P(X = x) = log C(K, x) + log C(N - K, n - x) - log C(N, n)
        var logDenominator = logFactorials.Choose(total, withPattern);
        var p = 0.0;
        for (var x = a; x <= max; x++)
        {
            p += Math.Exp(logFactorials.Choose(failures, x) + logFactorials.Choose(total - failures, withPattern - x) - logDenominator);
        }

        return Math.Clamp(p, 0, 1);
    }

    /// <summary>
    /// Benjamini-Hochberg adjusted p-values (q-values) in the input order: rejecting every test with q at most alpha
    /// keeps the expected share of false discoveries at most alpha, which is what testing hundreds of patterns needs.
    /// </summary>
    internal static double[] BenjaminiHochberg(IReadOnlyList<double> pValues)
    {
        var m = pValues.Count;
        var order = Enumerable.Range(0, m).OrderBy(i => pValues[i]).ThenBy(i => i).ToArray();
        var q = new double[m];
        var running = 1.0;
        for (var rank = m; rank >= 1; rank--)
        {
            var i = order[rank - 1];
            running = Math.Min(running, pValues[i] * m / rank);
            q[i] = Math.Clamp(running, 0, 1);
        }

        return q;
    }

    /// <summary>
    /// Two-proportion z statistic for "rate 1 is above rate 2" with a pooled variance; 0 when either side is empty or
    /// both rates are 0 or 1 (no evidence either way).
    /// </summary>
    internal static double TwoProportionZ(long successes1, long trials1, long successes2, long trials2)
    {
        if (trials1 == 0 || trials2 == 0)
        {
            return 0;
        }

        var p1 = (double)successes1 / trials1;
        var p2 = (double)successes2 / trials2;
        var pooled = (double)(successes1 + successes2) / (trials1 + trials2);
        var variance = pooled * (1 - pooled) * (1.0 / trials1 + 1.0 / trials2);
        return variance <= 0 ? 0 : (p1 - p2) / Math.Sqrt(variance);
    }

    /// <summary>The standard normal cumulative distribution, accurate to about 1e-7 (Abramowitz and Stegun 26.2.17).</summary>
    internal static double NormalCdf(double z)
    {
        if (double.IsNaN(z))
        {
            return double.NaN;
        }

        if (z < -40)
        {
            return 0;
        }

        if (z > 40)
        {
            return 1;
        }

        var t = 1 / (1 + 0.2316419 * Math.Abs(z));
        var density = Math.Exp(-z * z / 2) / Math.Sqrt(2 * Math.PI);
        var tail = density * t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
        return z >= 0 ? 1 - tail : tail;
    }
}

/// <summary>A table of log(n!) up to a size, so exact tests over thousands of episodes cost additions, not factorials.</summary>
internal sealed class LogFactorials
{
    private readonly double[] _table;

    public LogFactorials(int max)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(max);
        _table = new double[max + 1];
        for (var i = 2; i <= max; i++)
        {
            _table[i] = _table[i - 1] + Math.Log(i);
        }
    }

    public double Of(int n) => _table[n];

    /// <summary>log C(n, k), or negative infinity when k is outside [0, n].</summary>
    public double Choose(int n, int k) => k < 0 || k > n ? double.NegativeInfinity : _table[n] - _table[k] - _table[n - k];
}

/// <summary>One stratum's 2x2 table for a stratified test: failures among episodes with a pattern, and the stratum's margins.</summary>
internal readonly record struct StratumTable(int FailedWith, int With, int Failed, int Total);

/// <summary>What a stratified comparison found: one-sided p, the Mantel-Haenszel risk ratio and how many strata carried information.</summary>
internal readonly record struct StratifiedResult(double P, double RiskRatio, int InformativeStrata);

/// <summary>
/// The Cochran-Mantel-Haenszel test: does a pattern go with failure within strata (kinds of task) rather than across
/// them? A pattern that only separates hard tasks from easy ones has no within-stratum association and is not
/// significant here, however large its crude lift.
/// </summary>
internal static class MantelHaenszel
{
    /// <summary>
    /// One-sided CMH test that failures are more frequent with the pattern (continuity-corrected), with the
    /// Mantel-Haenszel common risk ratio. Strata with fewer than two episodes, or where everyone (or no one) has the
    /// pattern or fails, carry no information and are skipped.
    /// </summary>
    public static StratifiedResult Test(IEnumerable<StratumTable> strata)
    {
        double observed = 0, expected = 0, variance = 0, rrNumerator = 0, rrDenominator = 0;
        var informative = 0;
        foreach (var s in strata)
        {
            if (s.Total < 2 || s.With < 0 || s.With > s.Total || s.FailedWith < 0 || s.FailedWith > s.With || s.Failed < s.FailedWith || s.Failed > s.Total)
            {
                continue;
            }

            double n = s.Total, n1 = s.With, m1 = s.Failed;
            var v = n1 * (n - n1) * m1 * (n - m1) / (n * n * (n - 1));
            if (v <= 0)
            {
                continue;
            }

            informative++;
            observed += s.FailedWith;
            expected += n1 * m1 / n;
            variance += v;
            var failedWithout = s.Failed - s.FailedWith;
            rrNumerator += s.FailedWith * (n - n1) / n;
            rrDenominator += failedWithout * n1 / n;
        }

        if (variance <= 0)
        {
            return new StratifiedResult(1, 1, 0);
        }

        var excess = observed - expected;
        var corrected = excess > 0.5 ? excess - 0.5 : Math.Min(excess, 0);
        var p = 1 - Proportions.NormalCdf(corrected / Math.Sqrt(variance));
        var ratio = rrDenominator > 0 ? rrNumerator / rrDenominator : rrNumerator > 0 ? double.PositiveInfinity : 1;
        return new StratifiedResult(Math.Clamp(p, 0, 1), ratio, informative);
    }
}
