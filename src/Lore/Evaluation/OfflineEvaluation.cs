using System.Globalization;

namespace Lore;

/// <summary>One task of a fixed evaluation set, as a runner scored it.</summary>
public sealed record OfflineTaskResult(string TaskId, string Slice, double Score)
{
    /// <summary>How the task failed (see <see cref="FailureModes"/>); null for a success or when the runner cannot say.</summary>
    public string? FailureMode { get; init; }
}

/// <summary>
/// Replays a fixed task set with a given snapshot served (null: no lessons). The simulated workplace ships one;
/// in production it is the user's own harness (a test suite, recorded tickets, an evaluator model). It must run
/// the same tasks, in the same order, whatever snapshot it is given.
/// </summary>
public interface IOfflineEvaluationRunner
{
    /// <summary>Runs the task set with <paramref name="snapshot"/> served (none when null) and returns one result per task, in task order.</summary>
    Task<IReadOnlyList<OfflineTaskResult>> RunAsync(Snapshot? snapshot, CancellationToken cancellationToken = default);
}

/// <summary>When an offline evaluation passes: no slice (and not the whole set) significantly worse by more than a margin.</summary>
public sealed class OfflineEvaluationPolicy
{
    /// <summary>
    /// Family-wise confidence that no slice (nor the whole set) is reported as regressed when it did not regress: the
    /// per-slice intervals are corrected for testing every slice and the whole set (Bonferroni), and one-sided, since
    /// only a regression is acted on.
    /// </summary>
    public double Confidence { get; set; } = 0.95;

    /// <summary>A slice fails when its interval lies below zero and its mean drop is at least this large.</summary>
    public double Margin { get; set; } = 0.02;

    /// <summary>Throws naming the setting that is out of range; returns the policy so it can be validated where it is passed.</summary>
    public OfflineEvaluationPolicy Validate()
    {
        if (Confidence is <= 0.5 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Confidence), Confidence, "Confidence must lie in (0.5, 1).");
        }

        if (Margin is < 0 or >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Margin), Margin, "Margin must lie in [0, 1).");
        }

        return this;
    }
}

/// <summary>Candidate minus baseline on one slice of a paired replay (the same tasks under both snapshots).</summary>
public sealed record OfflineSliceDelta(string Slice, int Tasks, double BaselineMean, double CandidateMean, double Delta, double Low, double High, bool Regressed)
{
    /// <summary>The slice's change as one line for logs and the CLI, with its interval and whether it regressed.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Slice}: {BaselineMean:P1} -> {CandidateMean:P1} ({Delta:+0.0%;-0.0%;0.0%}, CI [{Low:+0.0%;-0.0%;0.0%}, {High:+0.0%;-0.0%;0.0%}], n={Tasks}){(Regressed ? " REGRESSED" : "")}");
}

/// <summary>What an offline evaluation found: per-slice deltas with confidence intervals, and whether it passes.</summary>
public sealed record OfflineEvaluationReport(string? BaselineSnapshotId, string? CandidateSnapshotId, OfflineSliceDelta Overall, IReadOnlyList<OfflineSliceDelta> Slices, bool Passed, string Reason)
{
    /// <summary>
    /// How the mix of failure modes moved between the replays (each task a unit of each arm), at a family-wise level of
    /// one minus the policy's confidence; empty when the runner reports no failure modes. Reported, not part of <see cref="Passed"/>.
    /// </summary>
    public FailureShift Shift { get; init; } = FailureShift.Empty;
}

/// <summary>
/// Compares two snapshots offline by replaying the same task set under each. Because the tasks are paired, the
/// comparison is on per-task differences (a paired t-interval), which needs far fewer tasks than comparing two
/// independent success rates.
/// </summary>
public static class OfflineEvaluation
{
    /// <summary>Replays the runner's tasks under <paramref name="baseline"/> and <paramref name="candidate"/> and compares them pairwise per slice under <paramref name="policy"/>.</summary>
    public static async Task<OfflineEvaluationReport> CompareAsync(IOfflineEvaluationRunner runner, Snapshot? baseline, Snapshot? candidate, OfflineEvaluationPolicy? policy = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runner);
        policy = (policy ?? new OfflineEvaluationPolicy()).Validate();
        var before = await runner.RunAsync(baseline, cancellationToken).ConfigureAwait(false);
        var after = await runner.RunAsync(candidate, cancellationToken).ConfigureAwait(false);
        return Compare(baseline?.Id, candidate?.Id, before, after, policy);
    }

    /// <summary>
    /// A <see cref="RolloutPolicy.CanaryGate"/> that replays the runner's task set under the stable snapshot and the
    /// candidate and lets the candidate into canary only when no slice regresses.
    /// </summary>
    public static Func<Snapshot?, Snapshot, CancellationToken, Task<CanaryGateResult>> CanaryGate(IOfflineEvaluationRunner runner, OfflineEvaluationPolicy? policy = null)
    {
        ArgumentNullException.ThrowIfNull(runner);
        policy = (policy ?? new OfflineEvaluationPolicy()).Validate();
        return async (stable, candidate, cancellationToken) =>
        {
            var report = await CompareAsync(runner, stable, candidate, policy, cancellationToken).ConfigureAwait(false);
            var details = System.Text.Json.JsonSerializer.Serialize(new { report.Overall, report.Slices }, LoreJson.Options);
            return new CanaryGateResult(report.Passed, "offline evaluation: " + report.Reason, details);
        };
    }

    /// <summary>Pairs results by position (they must be the same tasks in the same order) and computes the deltas.</summary>
    public static OfflineEvaluationReport Compare(string? baselineId, string? candidateId, IReadOnlyList<OfflineTaskResult> baseline, IReadOnlyList<OfflineTaskResult> candidate, OfflineEvaluationPolicy policy)
    {
        if (baseline.Count != candidate.Count)
        {
            throw new InvalidOperationException($"The runner returned {baseline.Count} results for the baseline but {candidate.Count} for the candidate; it must replay the same task set.");
        }

        if (baseline.Count == 0)
        {
            throw new InvalidOperationException("The runner returned no results: there is nothing to compare.");
        }

        for (var i = 0; i < baseline.Count; i++)
        {
            if (baseline[i].TaskId != candidate[i].TaskId)
            {
                throw new InvalidOperationException($"Result {i} is task '{baseline[i].TaskId}' for the baseline but '{candidate[i].TaskId}' for the candidate; the runner must replay the same tasks in the same order.");
            }

            foreach (var score in new[] { baseline[i].Score, candidate[i].Score })
            {
                if (double.IsNaN(score) || score < 0 || score > 1)
                {
                    throw new InvalidOperationException($"Task '{baseline[i].TaskId}' has score {score}; scores must lie in [0, 1].");
                }
            }
        }

        // One-sided (only a drop fails the gate), Bonferroni over the slices and the whole set.
        var pairs = baseline.Zip(candidate).ToArray();
        var tests = 1 + pairs.Select(p => p.First.Slice).Distinct(StringComparer.Ordinal).Count();
        var z = NormalQuantile(1 - (1 - policy.Confidence) / tests);
        var overall = Delta("(overall)", pairs, z, policy.Margin);
        var slices = pairs.GroupBy(p => p.First.Slice, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => Delta(g.Key, g.ToArray(), z, policy.Margin))
            .ToArray();
        var regressed = slices.Where(s => s.Regressed).Append(overall).Where(s => s.Regressed).ToArray();
        var reason = regressed.Length == 0
            ? $"no slice is significantly worse by {policy.Margin:P0} or more at {policy.Confidence:P0} family-wise confidence over {tests} tests"
            : "regressed: " + string.Join("; ", regressed.Select(r => r.ToString()));
        var counts = new FailureCounts();
        foreach (var (arm, results) in new[] { (RolloutArms.Baseline, baseline), (RolloutArms.Candidate, candidate) })
        {
            foreach (var result in results)
            {
                counts.Add(arm, result.Slice, "task:" + result.TaskId, result.Score >= 0.5 ? null : result.FailureMode ?? FailureModes.NoToolError);
            }
        }

        var shift = baseline.Concat(candidate).Any(r => r.FailureMode is not null)
            ? new FailureShiftAnalyzer(new EvaluationPolicy { FailureShiftAlpha = 1 - policy.Confidence }).Analyze(counts)
            : FailureShift.Empty;
        return new OfflineEvaluationReport(baselineId, candidateId, overall, slices, regressed.Length == 0, reason) { Shift = shift };
    }

    private static OfflineSliceDelta Delta(string slice, (OfflineTaskResult First, OfflineTaskResult Second)[] pairs, double z, double margin)
    {
        var n = pairs.Length;
        var baseMean = pairs.Average(p => p.First.Score);
        var candMean = pairs.Average(p => p.Second.Score);
        var diffs = pairs.Select(p => p.Second.Score - p.First.Score).ToArray();
        var mean = diffs.Average();
        var variance = n > 1 ? diffs.Sum(d => (d - mean) * (d - mean)) / (n - 1) : 0;

        // With identical outcomes on every pair the sample variance is 0 and the interval would collapse to a point;
        // the variance of one discordant pair in n + 1 keeps small samples honest.
        var floor = 1.0 / (n + 1);
        var halfWidth = z * Math.Sqrt(Math.Max(variance, floor) / n);
        var low = Math.Max(-1, mean - halfWidth);
        var high = Math.Min(1, mean + halfWidth);
        return new OfflineSliceDelta(slice, n, baseMean, candMean, mean, low, high, Regressed: high < 0 && mean <= -margin);
    }

    /// <summary>Acklam's rational approximation of the standard normal quantile (relative error below 1.2e-9).</summary>
    internal static double NormalQuantile(double p)
    {
        double[] a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
        double[] b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
        double[] c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
        double[] d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
        const double low = 0.02425;
        if (p < low)
        {
            var q = Math.Sqrt(-2 * Math.Log(p));
            return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        if (p > 1 - low)
        {
            var q = Math.Sqrt(-2 * Math.Log(1 - p));
            return -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
        }

        var r = p - 0.5;
        var s = r * r;
        return (((((a[0] * s + a[1]) * s + a[2]) * s + a[3]) * s + a[4]) * s + a[5]) * r / (((((b[0] * s + b[1]) * s + b[2]) * s + b[3]) * s + b[4]) * s + 1);
    }
}
