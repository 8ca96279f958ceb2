using System.Collections.Immutable;
using Lore.Learning.Consolidation;

namespace Lore.Benchmarks;

/// <summary>
/// Lessons judged by experiment, in simulation (seeded, through the real <see cref="LessonHarmTest"/>): learning runs
/// of 10 passes over a growing window of clustered traffic in which 20 lessons have no effect at all, half of them
/// sent by retrieval mostly into hard episodes. Counts the runs in which any lesson is retired for harm, by the
/// holdout experiment and by the rules it replaced (the consolidator's raw with/without z test, and the monitor's
/// within-slice attribution); and how often a lesson that really harms is caught.
/// </summary>
internal static class LessonExperimentBench
{
    private const int Lessons = 20;
    private const int Passes = 10;
    private const int EpisodesPerPass = 500;
    private const double HoldoutShare = 0.1;

    public static Task RunAsync(BenchReport report, bool quick)
    {
        report.Section("Lessons judged by experiment (`lesson-experiment`)");
        report.Line($"a learning run: {Passes} passes, each after {EpisodesPerPass} more judged episodes (growing window to {Passes * EpisodesPerPass:N0}); units with own success offsets (+-0.25, 5-50 episodes each); "
            + $"30% of episodes hard (0.45 success) and 70% easy (0.85); {Lessons} lessons with no effect, 10 of them eligible 60% of hard and 7% of easy episodes (about 4:1 into hard ones), 10 eligible in 20% of any; "
            + $"holdout {BenchReport.N(HoldoutShare * 100)}% of units per lesson; harm test at alpha {BenchReport.N(LessonHarmTest.DefaultAlpha, "F2")} / {Lessons} lessons, at least 20 episodes and {LessonHarmTest.DefaultMinimumUnits} units a side.");
        report.Line("");
        report.Line("| rule (20 no-effect lessons, judged on every pass) | runs | learning runs with a false retirement (95% interval) |");
        report.Line("|---|---|---|");
        var runs = quick ? 100 : 500;
        var result = Simulate(runs, harmfulDrop: 0, seed: 41);
        var (low, high) = EvaluationBench.Wilson(result.Experiment, runs);
        report.Line($"| holdout experiment, cluster-robust always-valid one-sided test (the consolidator, retention and monitor now) | {runs} | **{Pct(result.Experiment, runs)}** ({BenchReport.N(100 * low, "F1")}-{BenchReport.N(100 * high, "F1")}%) |");
        report.Line($"| before: raw with/without, one-sided z <= -1.645 and drop >= 0.10, from 20 episodes (the consolidator) | {runs} | {Pct(result.RawRule, runs)} |");
        report.Line($"| before: within-slice attribution, always-valid, Bonferroni over lessons (the monitor) | {runs} | {Pct(result.SliceRule, runs)} |");

        var powerRuns = quick ? 50 : 200;
        var power = Simulate(powerRuns, harmfulDrop: 0.15, seed: 43);
        report.Line("");
        report.Line($"| a 21st lesson that lowers success by 15 points where injected (eligible in 20% of episodes) | {powerRuns} runs | caught within the run: **{Pct(power.HarmfulCaught, powerRuns)}**; median episodes to retirement {BenchReport.N(power.MedianCatch)} |");
        return Task.CompletedTask;
    }

    private static string Pct(int count, int runs) => $"{BenchReport.N(100.0 * count / runs, "F1")}% ({count}/{runs})";

    private sealed record Result(int Experiment, int RawRule, int SliceRule, int HarmfulCaught, double MedianCatch);

    private static Result Simulate(int runs, double harmfulDrop, int seed)
    {
        int experiment = 0, raw = 0, slice = 0, caught = 0;
        var catches = new List<double>();
        var lessonIds = Enumerable.Range(0, Lessons + (harmfulDrop > 0 ? 1 : 0)).Select(i => $"les-{i:D2}").ToArray();
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 20 });
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(seed * 100_003 + run);
            var window = new List<Episode>(Passes * EpisodesPerPass);
            var active = new List<(string Key, double Offset, double[] Draws, int Remaining)>();
            var next = 0;
            bool falseExperiment = false, falseRaw = false, falseSlice = false;
            for (var pass = 0; pass < Passes; pass++)
            {
                for (var e = 0; e < EpisodesPerPass; e++)
                {
                    while (active.Count < 100)
                    {
                        active.Add(($"u{next++}", random.NextDouble() * 0.5 - 0.25, lessonIds.Select(_ => random.NextDouble()).ToArray(), random.Next(5, 51)));
                    }

                    var index = random.Next(active.Count);
                    var unit = active[index];
                    active[index] = unit with { Remaining = unit.Remaining - 1 };
                    if (unit.Remaining == 1)
                    {
                        active[index] = active[^1];
                        active.RemoveAt(active.Count - 1);
                    }

                    var hard = random.NextDouble() < 0.3;
                    var injected = new List<string>();
                    var withheld = new List<string>();
                    var rate = (hard ? 0.45 : 0.85) + unit.Offset;
                    for (var l = 0; l < lessonIds.Length; l++)
                    {
                        var eligible = l < Lessons / 2 ? random.NextDouble() < (hard ? 0.6 : 0.067) : random.NextDouble() < 0.2;
                        if (!eligible)
                        {
                            continue;
                        }

                        if (unit.Draws[l] < HoldoutShare)
                        {
                            withheld.Add(lessonIds[l]);
                        }
                        else
                        {
                            injected.Add(lessonIds[l]);
                            rate -= l == Lessons ? harmfulDrop : 0;
                        }
                    }

                    var success = random.NextDouble() < Math.Clamp(rate, 0.02, 0.98);
                    window.Add(new Episode
                    {
                        Id = $"ep-{window.Count}",
                        UnitKey = unit.Key,
                        Labels = ImmutableSortedDictionary<string, string>.Empty.Add("slice", window.Count % 2 == 0 ? "refunds" : "billing"),
                        Outcomes = [success ? Outcome.Success() : Outcome.Failure()],
                        InjectedLessonIds = injected,
                        Steps = [new Step { Index = 0, Kind = StepKind.ModelCall, InjectedLessonIds = injected, WithheldLessonIds = withheld }],
                    });
                }

                var effects = LessonHarmTest.Measure(window, lessonIds, minimumEpisodes: 20);
                foreach (var (id, effect) in effects)
                {
                    var harms = LessonHarmTest.ShowsHarm(effect);
                    if (id == $"les-{Lessons:D2}")
                    {
                        if (harms && catches.Count == caught)
                        {
                            caught++;
                            catches.Add(window.Count);
                        }
                    }
                    else
                    {
                        falseExperiment |= harms;
                    }
                }

                if (harmfulDrop == 0)
                {
                    falseRaw |= RawRuleRetires(window, lessonIds);
                    falseSlice |= evaluator.AttributeLessons(window).Any(a => a.Harmful);
                }
            }

            experiment += falseExperiment ? 1 : 0;
            raw += falseRaw ? 1 : 0;
            slice += falseSlice ? 1 : 0;
        }

        var sorted = catches.Order().ToArray();
        return new Result(experiment, raw, slice, caught, sorted.Length == 0 ? 0 : sorted[(sorted.Length - 1) / 2]);
    }

    /// <summary>The consolidator's former rule: with vs all others, 20 episodes a side, one-sided z at -1.645 and a drop of 0.10.</summary>
    private static bool RawRuleRetires(List<Episode> window, string[] lessonIds)
    {
        int judged = window.Count, successes = window.Count(e => e.Score >= 1);
        foreach (var id in lessonIds)
        {
            int with = 0, ok = 0;
            foreach (var episode in window)
            {
                if (episode.InjectedLessonIds.Contains(id))
                {
                    with++;
                    ok += episode.Score >= 1 ? 1 : 0;
                }
            }

            var without = judged - with;
            if (with < 20 || without < 20)
            {
                continue;
            }

            double p1 = (double)ok / with, p2 = (double)(successes - ok) / without, pooled = (double)successes / judged;
            var se = Math.Sqrt(pooled * (1 - pooled) * (1.0 / with + 1.0 / without));
            if (se > 0 && p1 - p2 <= -0.10 && (p1 - p2) / se <= -1.6448536269514722)
            {
                return true;
            }
        }

        return false;
    }
}
