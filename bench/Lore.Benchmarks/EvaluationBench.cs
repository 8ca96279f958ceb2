using System.Diagnostics;

namespace Lore.Benchmarks;

/// <summary>
/// Continuous evaluation in simulation (seeded, no store): how many episodes a real regression on one slice takes to
/// roll back, and how often a candidate identical to the baseline is rolled back anyway when the decision is checked
/// after every single episode.
/// </summary>
internal static class EvaluationBench
{
    /// <summary>The simulated traffic: slice names, share of episodes and baseline success rate.</summary>
    private static readonly (string Name, double Share, double Rate)[] Traffic =
    [
        ("refunds", 0.20, 0.80),
        ("billing", 0.30, 0.85),
        ("shipping", 0.25, 0.75),
        ("account", 0.15, 0.90),
        ("other", 0.10, 0.65),
    ];

    private const double CanaryShare = 0.5;

    public static Task RunAsync(BenchReport report, bool quick)
    {
        var policy = new EvaluationPolicy();
        report.Section("Continuous evaluation (simulated traffic, decision checked after every episode)");
        report.Line($"traffic: {string.Join(", ", Traffic.Select(t => $"{t.Name} {BenchReport.N(t.Share * 100)}% at {BenchReport.N(t.Rate, "F2")}"))}; candidate share {BenchReport.N(CanaryShare * 100)}%; "
            + $"policy: alpha {BenchReport.N(policy.Alpha, "F2")}, minimum {policy.MinimumEpisodesPerArm} episodes per arm, mixture spread {BenchReport.N(policy.MixtureSpread, "F2")}, Bonferroni over {Traffic.Length} slices + overall");
        report.Line("");
        report.Line("| measure | value |");
        report.Line("|---|---|");

        var delayRuns = quick ? 100 : 500;
        var watch = Stopwatch.StartNew();
        var delay = DetectionDelay(policy, delayRuns, drop: 0.10, cap: 100_000, seed: 11);
        var elapsed = watch.Elapsed;
        report.Line($"| detection delay, 0.80 -> 0.70 on 'refunds' (20% of traffic), {delayRuns} runs | **median {BenchReport.N(delay.Median)}, p90 {BenchReport.N(delay.P90)} episodes** of total traffic (max {BenchReport.N(delay.Max)}) |");
        report.Line($"| ... rolled back within the cap of 100,000 episodes | {delay.Detected}/{delayRuns}; first evidence on 'refunds' {delay.OnSlice}, overall {delay.Overall}, another slice {delay.Detected - delay.OnSlice - delay.Overall} |");
        report.Line($"| ... candidate episodes on 'refunds' at rollback | median {BenchReport.N(delay.SliceMedian)} |");

        var aaRuns = quick ? 200 : 1000;
        const int horizon = 10_000;
        var aa = FalseAlarms(policy, aaRuns, horizon, seed: 23);
        var (low, high) = Wilson(aa.Rollbacks, aaRuns);
        report.Line($"| false rollback rate, {aaRuns} A/A runs of {horizon:N0} episodes checked after each | **{BenchReport.N(100.0 * aa.Rollbacks / aaRuns, "F1")}%** ({aa.Rollbacks}/{aaRuns}; 95% interval {BenchReport.N(100 * low, "F1")}-{BenchReport.N(100 * high, "F1")}%; target at most {BenchReport.N(policy.Alpha * 100)}%) |");
        report.Line($"| false promotion rate, same runs | {BenchReport.N(100.0 * aa.Promotions / aaRuns, "F1")}% ({aa.Promotions}/{aaRuns}) |");

        var checks = delay.Checks + aa.Checks;
        var total = elapsed + aa.Elapsed;
        report.Line($"| cost of one check (tally + evaluate, {Traffic.Length} slices) | {BenchReport.N(total.TotalMilliseconds * 1000 / checks, "F2")} µs ({checks:N0} checks) |");
        return Task.CompletedTask;
    }

    private sealed record Delay(double Median, double P90, double Max, double SliceMedian, int Detected, int OnSlice, int Overall, long Checks);

    private sealed record Alarms(int Rollbacks, int Promotions, long Checks, TimeSpan Elapsed);

    /// <summary>Runs until the first rollback (or the cap) with the candidate <paramref name="drop"/> worse on the first slice.</summary>
    private static Delay DetectionDelay(EvaluationPolicy policy, int runs, double drop, int cap, int seed)
    {
        var evaluator = new RolloutEvaluator(policy);
        var delays = new List<double>(runs);
        var sliceEpisodes = new List<double>(runs);
        int onSlice = 0, overall = 0;
        long checks = 0;
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(seed * 100_003 + run);
            var tally = new OutcomeTally();
            for (var episode = 1; episode <= cap; episode++)
            {
                Simulate(random, tally, regressedSlice: 0, drop);
                checks++;
                var decision = evaluator.Evaluate(tally.ToOutcomes());
                if (decision.Action == EvaluationAction.Rollback)
                {
                    delays.Add(episode);
                    sliceEpisodes.Add(decision.Slices.Single(s => s.Slice == Traffic[0].Name).Comparison.Candidate.Episodes);
                    onSlice += decision.Evidence[0].Slice == Traffic[0].Name ? 1 : 0;
                    overall += decision.Evidence[0].Slice == SliceVerdict.Overall ? 1 : 0;
                    break;
                }
            }
        }

        var sorted = delays.Order().ToArray();
        return new Delay(Percentile(sorted, 50), Percentile(sorted, 90), sorted.Length == 0 ? 0 : sorted[^1], Percentile(sliceEpisodes.Order().ToArray(), 50), sorted.Length, onSlice, overall, checks);
    }

    /// <summary>A/A runs of a fixed horizon: counts the runs that are ever rolled back (or promoted).</summary>
    private static Alarms FalseAlarms(EvaluationPolicy policy, int runs, int horizon, int seed)
    {
        var evaluator = new RolloutEvaluator(policy);
        int rollbacks = 0, promotions = 0;
        long checks = 0;
        var watch = Stopwatch.StartNew();
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(seed * 100_003 + run);
            var tally = new OutcomeTally();
            bool rolledBack = false, promoted = false;
            for (var episode = 1; episode <= horizon && !rolledBack; episode++)
            {
                Simulate(random, tally, regressedSlice: -1, drop: 0);
                checks++;
                var action = evaluator.Evaluate(tally.ToOutcomes()).Action;
                rolledBack = action == EvaluationAction.Rollback;
                promoted |= action == EvaluationAction.Promote;
            }

            rollbacks += rolledBack ? 1 : 0;
            promotions += promoted ? 1 : 0;
        }

        return new Alarms(rollbacks, promotions, checks, watch.Elapsed);
    }

    /// <summary>One episode: a slice by traffic share, an arm by the canary share, a pass/fail outcome at the arm's rate.</summary>
    private static void Simulate(Random random, OutcomeTally tally, int regressedSlice, double drop)
    {
        var u = random.NextDouble();
        var slice = 0;
        while (slice < Traffic.Length - 1 && u >= Traffic[slice].Share)
        {
            u -= Traffic[slice].Share;
            slice++;
        }

        var candidate = random.NextDouble() < CanaryShare;
        var rate = Traffic[slice].Rate - (candidate && slice == regressedSlice ? drop : 0);
        tally.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, Traffic[slice].Name, random.NextDouble() < rate ? 1 : 0);
    }

    private static double Percentile(double[] sorted, double p)
    {
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    /// <summary>The Wilson 95% interval of a proportion (the Monte Carlo error of a simulated rate).</summary>
    private static (double Low, double High) Wilson(int successes, int trials)
    {
        const double z = 1.959963984540054;
        double n = trials, p = successes / n, z2 = z * z;
        var center = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }
}
