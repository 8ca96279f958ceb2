using System.Diagnostics;

namespace Lore.Benchmarks;

/// <summary>
/// How long a rollback takes to reach the next episode. In process it is one pointer swap of the served rollout (what
/// the monitor does the moment evaluation decides); the full rollback adds the compare-and-swap write of the rollout
/// state and its audit entry to the SQLite store, which is what other processes see on their next refresh.
/// </summary>
internal static class RollbackBench
{
    private const int Lessons = 10_000;

    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var cycles = quick ? 200 : 2_000;
        report.Section($"Rollback latency ({Lessons} lessons per snapshot, SQLite store, {cycles} canary -> rollback cycles per path)");
        await using var bench = await BenchRuntime.CreateAsync(Lessons);
        var runtime = bench.Runtime;
        var stable = runtime.CurrentSnapshot!;
        var candidate = Snapshot.Create(stable.Id, stable.Tenant, [.. stable.Lessons.Skip(1)], stable.Settings, "bench", "candidate without one lesson", DateTimeOffset.UtcNow);
        await runtime.Store.SaveSnapshotAsync(candidate);

        var swap = new Samples(cycles);
        var persist = new Samples(cycles);
        var automatic = new Samples(cycles);
        var manual = new Samples(cycles);
        var wrong = 0;
        for (var i = 0; i < 2 * cycles + 20; i++)
        {
            var measured = i >= 20;
            await runtime.Rollout.CanaryAsync(1.0, "bench", "canary", candidate.Id);
            if (i % 2 == 0)
            {
                // The monitor's path: swap in memory at once, then write the store and the audit log.
                var start = Stopwatch.GetTimestamp();
                runtime.Rollout.RollbackLocally(candidate.Id);
                var swapped = Stopwatch.GetTimestamp();
                await runtime.Rollout.RollbackAsync("bench", "regressed", toSnapshotId: null, expectedCandidate: candidate.Id, evidence: null, CancellationToken.None);
                var written = Stopwatch.GetTimestamp();
                if (measured)
                {
                    swap.Add(swapped - start);
                    persist.Add(written - swapped);
                    automatic.Add(written - start);
                }
            }
            else
            {
                // An operator's `lore rollback` in process: read, decide, write, audit, swap.
                var start = Stopwatch.GetTimestamp();
                await runtime.Rollout.RollbackAsync("bench", "operator rollback");
                if (measured)
                {
                    manual.Add(Stopwatch.GetTimestamp() - start);
                }
            }

            await using var next = runtime.BeginEpisode("after the rollback", unitKey: $"user-{i}");
            wrong += next.SnapshotId == stable.Id ? 0 : 1;
        }

        await runtime.FlushAsync();
        report.Line("| rollback | p50 | p99 | mean |");
        report.Line("|---|---|---|---|");
        Row(report, "**in process: pointer swap** (next episode served the stable snapshot)", swap);
        Row(report, "store write + audit entry after the swap", persist);
        Row(report, "full automatic rollback (swap + store + audit)", automatic);
        Row(report, "full operator rollback (read, compare-and-swap write, audit, swap)", manual);
        report.Line($"episodes begun right after a rollback that were not served the stable snapshot: {wrong} of {2 * cycles + 20}");
    }

    private static void Row(BenchReport report, string name, Samples samples)
        => report.Line($"| {name} | {BenchReport.Us(samples.Percentile(50))} | {BenchReport.Us(samples.Percentile(99))} | {BenchReport.Us(samples.Mean)} |");
}
