using System.Diagnostics;
using Lore.Evaluation;

namespace Lore.Benchmarks;

/// <summary>
/// Continuous evaluation on simulated traffic that looks like the real thing (seeded, through the real evaluator and
/// tally, no store): units with their own success rates, returning populations, a canary share ramped while success
/// drifts, a slice made of a handful of units, several hosts sharing one tally. For each world: how often a candidate
/// identical to the baseline is ever rolled back or promoted when the decision is checked after every episode, next to
/// the episode-level (or per-host, or share-blind) evaluation the issue measured; and how long a real 10-point drop on
/// one slice takes to roll back, against the fixed-horizon sample size.
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

    /// <summary>The worlds the A/A runs are made in.</summary>
    internal enum World
    {
        /// <summary>Every episode its own unit, arm drawn per episode (the old bench's world).</summary>
        Independent,

        /// <summary>Units with their own success propensity (offset in +-0.25), 5-50 episodes each, 100 active at a time.</summary>
        Units,

        /// <summary>A fixed population of 300 returning units, 20,000 episodes.</summary>
        Returning,

        /// <summary>Units; canary share ramped 10% -> 25% -> 50% while success drifts down 20 points over the run.</summary>
        RampDrift,

        /// <summary>Units, plus a 'vip' slice (5% of traffic) that is only 6 units with very different rates.</summary>
        TinySlice,

        /// <summary>Units served by 4 hosts that each sync to the shared tally every 10 of their episodes and decide on it.</summary>
        Hosts,
    }

    private const double CanaryShare = 0.5;

    public static Task RunAsync(BenchReport report, bool quick)
    {
        var policy = Policy();
        report.Section("Continuous evaluation on realistic traffic (`evaluation`)");
        report.Line($"traffic: {string.Join(", ", Traffic.Select(t => $"{t.Name} {BenchReport.N(t.Share * 100)}% at {BenchReport.N(t.Rate, "F2")}"))}; candidate share {BenchReport.N(CanaryShare * 100)}% unless ramped; "
            + $"policy: alpha {BenchReport.N(policy.Alpha, "F2")}, minimum {policy.MinimumEpisodesPerArm} episodes from {policy.MinimumUnitsPerArm} units per arm, mixture spread {BenchReport.N(policy.MixtureSpread, "F2")}, "
            + $"the 5 slices declared, late-slice reserve {BenchReport.N(policy.LateSliceReserve, "F2")}, share-change reserve {BenchReport.N(policy.ShareChangeReserve, "F2")}; decision checked after every episode (every sync for hosts).");
        report.Line("");
        report.Line("| world (A/A: candidate identical to baseline) | runs x episodes | false rollback (95% interval) | false promotion | same test with the flaw the issue found kept: false rollback |");
        report.Line("|---|---|---|---|---|");

        var runs = quick ? 100 : 500;
        var watch = Stopwatch.StartNew();
        long checks = 0;
        foreach (var world in Enum.GetValues<World>())
        {
            var horizon = world == World.Returning ? 20_000 : 10_000;
            var aa = FalseAlarms(policy, world, runs, horizon, seed: 23 + (int)world);
            checks += aa.Checks;
            var (low, high) = Wilson(aa.Rollbacks, runs);
            var old = world switch
            {
                World.Independent => "same evaluation (episodes are units)",
                World.RampDrift => $"{Percent(aa.OldRollbacks, runs)} (one tally across share changes)",
                World.Hosts => $"{Percent(aa.OldRollbacks, runs)} (each host its own episode-level tally, any host acts)",
                _ => $"{Percent(aa.OldRollbacks, runs)} (episode-level variance)",
            };
            report.Line($"| {Describe(world)} | {runs} x {horizon:N0} | **{Percent(aa.Rollbacks, runs)}** ({BenchReport.N(100 * low, "F1")}-{BenchReport.N(100 * high, "F1")}%) | {Percent(aa.Promotions, runs)} | {old} |");
        }

        var delayRuns = quick ? 100 : 500;
        var delay = DetectionDelay(policy, delayRuns, drop: 0.10, cap: 200_000, seed: 11);
        checks += delay.Checks;
        report.Line("");
        report.Line("| detection, 0.80 -> 0.70 on 'refunds' (20% of traffic), units world (clustered) | value |");
        report.Line("|---|---|");
        report.Line($"| rolled back within 200,000 episodes | {delay.Detected}/{delayRuns}; first evidence on 'refunds' {delay.OnSlice}, overall {delay.Overall} |");
        report.Line($"| episodes of total traffic to rollback | **median {BenchReport.N(delay.Median)}**, p90 {BenchReport.N(delay.P90)} |");
        report.Line($"| fixed-horizon sample size for the same drop (one look, one-sided at the slice's level, 80% power, clustered variance) | median {BenchReport.N(delay.FixedHorizon)} episodes: the sequential test's median is {BenchReport.N(delay.Median / Math.Max(1, delay.FixedHorizon), "F2")}x it |");
        report.Line($"| cost of one check (tally + evaluate, 5 slices, units) | {BenchReport.N(watch.Elapsed.TotalMilliseconds * 1000 / checks, "F2")} µs ({checks:N0} checks) |");
        return Task.CompletedTask;
    }

    internal static EvaluationPolicy Policy() => new()
    {
        DeclaredSlices = Traffic.Select(t => t.Name).ToList(),
        LateSliceReserve = 0.1,
    };

    private static string Describe(World world) => world switch
    {
        World.Independent => "independent episodes, arm per episode",
        World.Units => "units with own success rates (5-50 episodes each)",
        World.Returning => "fixed population of 300 returning units",
        World.RampDrift => "share ramp 10% -> 25% -> 50%, success drifting down 20 points",
        World.TinySlice => "plus an undeclared slice of 6 units (5% of traffic)",
        _ => "4 hosts sharing the store's tally (sync every 10 episodes)",
    };

    private static string Percent(int count, int runs) => $"{BenchReport.N(100.0 * count / runs, "F1")}% ({count}/{runs})";

    private sealed record Alarms(int Rollbacks, int Promotions, int OldRollbacks, long Checks);

    private sealed record Delay(double Median, double P90, double FixedHorizon, int Detected, int OnSlice, int Overall, long Checks);

    /// <summary>A unit of simulated traffic: its key, its place on the canary line and its success offset.</summary>
    private sealed record Unit(string Key, double Position, double Offset, int Slice)
    {
        public int Remaining { get; set; }
    }

    /// <summary>Draws episodes of one world: slice, unit and outcome.</summary>
    private sealed class Population(World world, Random random)
    {
        private readonly List<Unit> _active = [];
        private readonly Unit[] _returning = Enumerable.Range(0, 300).Select(i => new Unit($"r{i}", random.NextDouble(), random.NextDouble() * 0.5 - 0.25, -1)).ToArray();
        private readonly Unit[] _vip = Enumerable.Range(0, 6).Select(i => new Unit($"vip{i}", random.NextDouble(), i % 2 == 0 ? -0.4 : 0.1, -1)).ToArray();
        private int _next;

        public (string Slice, int SliceIndex, Unit? Unit, bool Candidate, double Rate) Next(int episode, int horizon, double share)
        {
            if (world == World.TinySlice && random.NextDouble() < 0.05)
            {
                var vip = _vip[random.Next(_vip.Length)];
                return ("vip", -1, vip, vip.Position < share, Math.Clamp(0.8 + vip.Offset, 0.02, 0.98));
            }

            var u = random.NextDouble();
            var slice = 0;
            while (slice < Traffic.Length - 1 && u >= Traffic[slice].Share)
            {
                u -= Traffic[slice].Share;
                slice++;
            }

            Unit? unit = world switch
            {
                World.Independent => null,
                World.Returning => _returning[random.Next(_returning.Length)],
                _ => Active(),
            };
            var candidate = unit is null ? random.NextDouble() < share : unit.Position < share;
            var drift = world == World.RampDrift ? 0.2 * episode / horizon : 0;
            return (Traffic[slice].Name, slice, unit, candidate, Math.Clamp(Traffic[slice].Rate + (unit?.Offset ?? 0) - drift, 0.02, 0.98));
        }

        private Unit Active()
        {
            while (_active.Count < 100)
            {
                _active.Add(new Unit($"u{_next++}", random.NextDouble(), random.NextDouble() * 0.5 - 0.25, -1) { Remaining = random.Next(5, 51) });
            }

            var index = random.Next(_active.Count);
            var unit = _active[index];
            if (--unit.Remaining == 0)
            {
                _active[index] = _active[^1];
                _active.RemoveAt(_active.Count - 1);
            }

            return unit;
        }
    }

    private static double Share(World world, int episode) => world != World.RampDrift ? CanaryShare : episode < 3_000 ? 0.10 : episode < 6_000 ? 0.25 : 0.50;

    /// <summary>A/A runs: counts the runs that are ever rolled back (or promoted), and what the old evaluation did on the same traffic.</summary>
    internal static (int Rollbacks, int Promotions, int OldRollbacks, long Checks) FalseAlarmCounts(EvaluationPolicy policy, World world, int runs, int horizon, int seed)
    {
        var a = FalseAlarms(policy, world, runs, horizon, seed);
        return (a.Rollbacks, a.Promotions, a.OldRollbacks, a.Checks);
    }

    private static Alarms FalseAlarms(EvaluationPolicy policy, World world, int runs, int horizon, int seed)
    {
        var evaluator = new RolloutEvaluator(policy);
        var old = new RolloutEvaluator(new EvaluationPolicy { DeclaredSlices = policy.DeclaredSlices, LateSliceReserve = policy.LateSliceReserve, ShareChangeReserve = 0, MinimumUnitsPerArm = 2 });
        int rollbacks = 0, promotions = 0, oldRollbacks = 0;
        long checks = 0;
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(seed * 100_003 + run);
            var population = new Population(world, random);
            var period = 0;
            var share = Share(world, 0);
            var tally = new OutcomeTally(period);
            var blind = new OutcomeTally();
            var hostTallies = Enumerable.Range(0, 4).Select(_ => new OutcomeTally()).ToArray();
            var pending = Enumerable.Range(0, 4).Select(_ => new List<(string Arm, string Slice, string? Unit, double Score)>()).ToArray();
            bool rolledBack = false, promoted = false, oldRolledBack = false;
            for (var episode = 0; episode < horizon && !rolledBack; episode++)
            {
                var now = Share(world, episode);
                if (now != share)
                {
                    share = now;
                    tally = new OutcomeTally(++period);
                }

                var (slice, _, unit, candidate, rate) = population.Next(episode, horizon, share);
                var arm = candidate ? RolloutArms.Candidate : RolloutArms.Baseline;
                var score = random.NextDouble() < rate ? 1.0 : 0.0;
                EvaluationAction action;
                if (world == World.Hosts)
                {
                    // Before: each host tallied its own episodes (as independent ones) and checked after each of them.
                    var host = random.Next(4);
                    hostTallies[host].Add(arm, slice, null, score);
                    oldRolledBack |= !oldRolledBack && old.Evaluate(hostTallies[host].ToOutcomes()).Action == EvaluationAction.Rollback;
                    pending[host].Add((arm, slice, unit?.Key, score));
                    if (pending[host].Count < 10)
                    {
                        continue;
                    }

                    foreach (var p in pending[host])
                    {
                        tally.Add(p.Arm, p.Slice, p.Unit, p.Score);
                    }

                    pending[host].Clear();
                    action = evaluator.Evaluate(tally.ToOutcomes()).Action;
                }
                else
                {
                    tally.Add(arm, slice, unit?.Key, score);
                    blind.Add(arm, slice, world == World.RampDrift ? unit?.Key : null, score);
                    action = evaluator.Evaluate(tally.ToOutcomes()).Action;
                    if (world != World.Independent && !oldRolledBack)
                    {
                        oldRolledBack = old.Evaluate(blind.ToOutcomes()).Action == EvaluationAction.Rollback;
                    }
                }

                checks++;
                rolledBack = action == EvaluationAction.Rollback;
                promoted |= action == EvaluationAction.Promote;
            }

            rollbacks += rolledBack ? 1 : 0;
            promotions += promoted ? 1 : 0;
            oldRollbacks += oldRolledBack ? 1 : 0;
        }

        return new Alarms(rollbacks, promotions, oldRollbacks, checks);
    }

    /// <summary>Runs until the first rollback (or the cap) with the candidate <paramref name="drop"/> worse on 'refunds', units clustered.</summary>
    private static Delay DetectionDelay(EvaluationPolicy policy, int runs, double drop, int cap, int seed)
    {
        var evaluator = new RolloutEvaluator(policy);
        var delays = new List<double>(runs);
        var fixedHorizon = new List<double>(runs);
        int onSlice = 0, overall = 0;
        long checks = 0;
        var zPower = OfflineEvaluation.NormalQuantile(0.8);
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(seed * 100_003 + run);
            var population = new Population(World.Units, random);
            var tally = new OutcomeTally();
            for (var episode = 1; episode <= cap; episode++)
            {
                var (slice, index, unit, candidate, rate) = population.Next(episode, cap, CanaryShare);
                rate -= candidate && index == 0 ? drop : 0;
                tally.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, slice, unit?.Key, random.NextDouble() < rate ? 1 : 0);
                checks++;
                var decision = evaluator.Evaluate(tally.ToOutcomes());
                if (decision.Action != EvaluationAction.Rollback)
                {
                    continue;
                }

                delays.Add(episode);
                onSlice += decision.Evidence[0].Slice == Traffic[0].Name ? 1 : 0;
                overall += decision.Evidence[0].Slice == SliceVerdict.Overall ? 1 : 0;

                // The fixed-horizon size: the slice's clustered variance scaled to one candidate episode, then
                // n = (z_level + z_power)^2 * variance / drop^2 candidate episodes on the slice.
                var refunds = tally.ToOutcomes().Slices.Single(s => s.Slice == Traffic[0].Name);
                var verdict = decision.Slices.Single(s => s.Slice == Traffic[0].Name).Comparison;
                var perEpisode = MixtureSequentialTest.Difference(refunds.Baseline, refunds.Candidate).Variance * refunds.Candidate.Episodes;
                var z = OfflineEvaluation.NormalQuantile(1 - verdict.Alpha) + zPower;
                fixedHorizon.Add(z * z * perEpisode / (drop * drop) / (Traffic[0].Share * CanaryShare));
                break;
            }
        }

        var sorted = delays.Order().ToArray();
        return new Delay(Percentile(sorted, 50), Percentile(sorted, 90), Percentile(fixedHorizon.Order().ToArray(), 50), sorted.Length, onSlice, overall, checks);
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
    internal static (double Low, double High) Wilson(int successes, int trials)
    {
        const double z = 1.959963984540054;
        double n = trials, p = successes / n, z2 = z * z;
        var center = (p + z2 / (2 * n)) / (1 + z2 / n);
        var half = z * Math.Sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / (1 + z2 / n);
        return (Math.Max(0, center - half), Math.Min(1, center + half));
    }
}
