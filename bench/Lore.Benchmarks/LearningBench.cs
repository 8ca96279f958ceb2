using System.Diagnostics;
using System.Globalization;
using Lore.Learning;
using Lore.PostgreSql;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Data.Sqlite;

namespace Lore.Benchmarks;

/// <summary>
/// Learning throughput with the LLM-free extractors and the default guards: one full pass (read window, extract,
/// consolidate with statistics and admission, snapshot, commit) over the same synthetic episodes on SQLite and on a
/// throwaway PostgreSQL server, each the first pass of its store, with what every stage cost (wall, process CPU,
/// allocations). The first SQLite pass is the process's first, as a `lore learn` run pays it (jitting, the guard's
/// rule automata); the later passes show what a long-running host pays per pass.
/// </summary>
internal static class LearningBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var count = quick ? 2_000 : 20_000;
        var skipPostgres = Environment.GetCommandLineArgs().Contains("--no-postgres");
        report.Section($"Learning throughput, LLM-free extractors ({count:N0} episodes in the window)");
        report.Line($"load average before: {LoadAverage()} (2 cores: above ~2 means other processes share them)");
        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        try
        {
            var episodes = SyntheticEpisodes.Create(count, seed: 3).ToArray();
            var passes = new List<(string Store, Pass Pass)>();
            await using (var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "learn.db")))
            {
                passes.Add(("SQLite, first pass in the process", await PassAsync(store, episodes)));
            }

            // The same pass on a fresh store in the same process: what a long-running host's learner pays per pass
            // once its code is jitted and the guard's rule automata are built.
            await using (var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "again.db")))
            {
                passes.Add(("SQLite, a later pass", await PassAsync(store, episodes)));
            }

            if (!skipPostgres)
            {
                await using var server = await PostgresServer.StartAsync();
                await using var store = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync());
                passes.Add(("PostgreSQL, a later pass", await PassAsync(store, episodes)));
            }

            report.Line($"load average after: {LoadAverage()}");
            report.Line("");
            report.Line("| measure | " + string.Join(" | ", passes.Select(p => p.Store)) + " |");
            report.Line("|---|" + string.Concat(passes.Select(_ => "---|")));
            report.Line("| full pass (store read + extract + consolidate + guards + snapshot + commit) | " + string.Join(" | ", passes.Select(p => $"**{BenchReport.N(count / p.Pass.Wall.TotalSeconds)} episodes/s** ({p.Pass.Wall.TotalMilliseconds:F0} ms)")) + " |");
            report.Line("| the pass per second of process CPU (all threads; robust to other load) | " + string.Join(" | ", passes.Select(p => $"{BenchReport.N(count / p.Pass.Cpu.TotalSeconds)} episodes/CPU-s ({p.Pass.Cpu.TotalMilliseconds:F0} ms CPU)")) + " |");
            report.Line("| extractors alone | " + string.Join(" | ", passes.Select(p => $"{BenchReport.N(count / Math.Max(p.Pass.Run.Extractors.Sum(e => e.Elapsed.TotalSeconds), 1e-9))} episodes/s")) + " |");
            foreach (var extractor in passes[0].Pass.Run.Extractors)
            {
                report.Line($"| {extractor.Name} {extractor.Version} | " + string.Join(" | ", passes.Select(p => p.Pass.Run.Extractors.First(e => e.Name == extractor.Name) is var e ? $"{e.Candidates} candidates in {e.Elapsed.TotalMilliseconds:F0} ms" : "")) + " |");
            }

            report.Line("| lessons served after the pass | " + string.Join(" | ", passes.Select(p => $"{p.Pass.Run.AddedLessonIds.Count} added, {p.Pass.Run.Admissions.Count} admission decisions, snapshot {(p.Pass.Run.SnapshotId is null ? "none" : "made")}")) + " |");
            report.Line("");
            report.Line("Per stage (wall ms / process CPU ms / MB allocated; episodes/s = window / stage wall time):");
            report.Line("");
            report.Line("| stage | " + string.Join(" | ", passes.Select(p => p.Store)) + " |");
            report.Line("|---|" + string.Concat(passes.Select(_ => "---|")));
            foreach (var stage in passes.SelectMany(p => p.Pass.Stages.Select(s => s.Stage)).Distinct())
            {
                report.Line($"| {stage} | " + string.Join(" | ", passes.Select(p => Describe(p.Pass.Stages.FirstOrDefault(s => s.Stage == stage).Cost, count))) + " |");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    private sealed record Pass(LearningRun Run, TimeSpan Wall, TimeSpan Cpu, IReadOnlyList<(string Stage, StageCost Cost)> Stages);

    private static async Task<Pass> PassAsync(ILoreStore store, IReadOnlyList<Episode> episodes)
    {
        await using (var import = await store.BeginImportAsync())
        {
            foreach (var e in episodes)
            {
                await import.AddAsync(e);
            }

            await import.CommitAsync();
        }

        // --alloc-types: which types the pass allocates (sampled), to see what a first pass allocates beyond a later one.
        using var sampler = Environment.GetCommandLineArgs().Contains("--alloc-types") ? new Serving.AllocationSampler() : null;
        sampler?.Start();
        var clock = new LearningStageClock();
        var pipeline = new LearningPipeline(store, new LearningOptions { Window = episodes.Count }) { Stages = clock };
        var cpu = Environment.CpuUsage.TotalTime;
        var watch = Stopwatch.StartNew();
        var run = await pipeline.RunAsync(Tenants.Default, "bench");
        watch.Stop();
        if (sampler is not null)
        {
            Console.Error.WriteLine("allocations by type: " + string.Join("; ", sampler.Stop(25).Select(t => $"{t.Type} {100 * t.Share:F1}%")));
        }

        return new Pass(run, watch.Elapsed, Environment.CpuUsage.TotalTime - cpu, clock.Stages);
    }

    private static string Describe(StageCost cost, int episodes)
        => cost.Intervals == 0
            ? "-"
            : $"{cost.Wall.TotalMilliseconds:F0} / {cost.Cpu.TotalMilliseconds:F0} / {(cost.Allocated / 1048576.0).ToString("F1", CultureInfo.InvariantCulture)}" +
              (cost.Wall.TotalMilliseconds >= 1 ? $" ({BenchReport.N(episodes / cost.Wall.TotalSeconds)}/s)" : "");

    private static string LoadAverage()
        => File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "unknown";
}
