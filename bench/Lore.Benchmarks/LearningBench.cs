using System.Diagnostics;
using Lore.Learning;
using Lore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Lore.Benchmarks;

/// <summary>Learning throughput with the LLM-free extractors: one full pass (read window, extract, consolidate, snapshot).</summary>
internal static class LearningBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var count = quick ? 2_000 : 20_000;
        report.Section($"Learning throughput, LLM-free extractors ({count:N0} episodes in the window)");
        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        try
        {
            await using var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "learn.db"));
            await using (var import = await store.BeginImportAsync())
            {
                foreach (var e in SyntheticEpisodes.Create(count, seed: 3))
                {
                    await import.AddAsync(e);
                }

                await import.CommitAsync();
            }

            var options = new LearningOptions { Window = count };
            var pipeline = new LearningPipeline(store, options);
            var watch = Stopwatch.StartNew();
            var run = await pipeline.RunAsync(Tenants.Default, "bench");
            watch.Stop();
            var extraction = run.Extractors.Sum(e => e.Elapsed.TotalSeconds);
            report.Line("| measure | value |");
            report.Line("|---|---|");
            report.Line($"| full pass (store read + extract + consolidate + snapshot) | **{BenchReport.N(count / watch.Elapsed.TotalSeconds)} episodes/s** ({watch.Elapsed.TotalMilliseconds:F0} ms) |");
            report.Line($"| extractors alone | {BenchReport.N(count / Math.Max(extraction, 1e-9))} episodes/s |");
            foreach (var e in run.Extractors)
            {
                report.Line($"| {e.Name} {e.Version} | {e.Candidates} candidates in {e.Elapsed.TotalMilliseconds:F0} ms |");
            }

            report.Line($"| lessons served after the pass | {run.AddedLessonIds.Count} added, snapshot {run.SnapshotId ?? "none"} |");
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
