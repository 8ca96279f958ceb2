using System.Diagnostics;
using System.Globalization;
using Lore.PostgreSql;
using Lore.Testing;

namespace Lore.Benchmarks;

/// <summary>
/// How long a rollout change made on one host takes to be served by every other host sharing a PostgreSQL store
/// (target: p99 under 1 s). Each host is a LoreRuntime on its own store instance (its own connection pool and LISTEN
/// connection), as separate processes would be; one host alternately rolls back to one snapshot and promotes another,
/// and every other host's moment of serving the change is timed from the start of the acting call (an upper bound:
/// it includes the acting host's own compare-and-swap write, which is where the commit happens). Then the same with
/// notifications off, to show what the polling fallback alone gives.
/// </summary>
internal static class PropagationBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var hosts = quick ? 4 : 8;
        var changes = quick ? 30 : 200;
        var polledChanges = quick ? 8 : 40;
        var pollInterval = TimeSpan.FromMilliseconds(500);
        report.Section($"Rollout propagation across hosts (PostgreSQL 15 on loopback, {hosts} hosts, one acting)");

        await using var server = await PostgresServer.StartAsync();
        var database = await server.CreateDatabaseAsync();
        var (first, second) = await SeedAsync(database);

        var notified = await MeasureAsync(database, hosts, changes, listen: true, refresh: TimeSpan.FromSeconds(5), first, second);
        var polled = await MeasureAsync(database, hosts, polledChanges, listen: false, refresh: pollInterval, first, second);

        report.Line("| path | changes x hosts | p50 | p99 | max |");
        report.Line("|---|---|---|---|---|");
        Row(report, "**LISTEN/NOTIFY** (poll every 5 s as fallback)", notified, changes * (hosts - 1));
        Row(report, $"polling only, every {pollInterval.TotalMilliseconds:F0} ms (notifications off)", polled, polledChanges * (hosts - 1));
        report.Line($"target: p99 under 1 s with notifications: {(notified.Percentile(99) / Stopwatch.Frequency < 1.0 ? "met" : "MISSED")}. With polling only a change waits up to one interval (the default RefreshInterval is 5 s).");
    }

    private static async Task<(string First, string Second)> SeedAsync(string database)
    {
        await using var store = await PostgresLoreStore.OpenAsync(database);
        var lessons = SyntheticLessons.Create(200, seed: 7);
        var first = Snapshot.Create(null, Tenants.Default, lessons, new RetrievalSettings(), "bench", "first", DateTimeOffset.UtcNow);
        var second = Snapshot.Create(first.Id, Tenants.Default, lessons.Skip(1), new RetrievalSettings(), "bench", "second", DateTimeOffset.UtcNow);
        await store.SaveSnapshotAsync(first);
        await store.SaveSnapshotAsync(second);
        await store.SetActiveSnapshotAsync(Tenants.Default, first.Id);
        return (first.Id, second.Id);
    }

    private static async Task<Samples> MeasureAsync(string database, int hostCount, int changes, bool listen, TimeSpan refresh, string first, string second)
    {
        var runtimes = new List<LoreRuntime>();
        try
        {
            for (var i = 0; i < hostCount; i++)
            {
                var store = await PostgresLoreStore.OpenAsync(database);
                runtimes.Add(await LoreRuntime.OpenAsync(new LoreOptions { Store = store, ListenForChanges = listen, RefreshInterval = refresh }));
            }

            var acting = runtimes[0];
            var watching = runtimes.Skip(1).ToArray();
            var samples = new Samples(changes * watching.Length);
            for (var i = 0; i < changes + 2; i++)
            {
                var target = acting.Rollout.State.StableSnapshotId == first ? second : first;
                var served = watching.Select(async runtime =>
                {
                    while (runtime.Rollout.State.StableSnapshotId != target)
                    {
                        await runtime.WhenServingChangesAsync().WaitAsync(TimeSpan.FromSeconds(30));
                    }

                    return Stopwatch.GetTimestamp();
                }).ToArray();
                var start = Stopwatch.GetTimestamp();
                await acting.Rollout.RollbackAsync("bench", "propagation bench", target);
                var times = await Task.WhenAll(served);
                if (i >= 2)
                {
                    foreach (var at in times)
                    {
                        samples.Add(at - start);
                    }
                }
            }

            return samples;
        }
        finally
        {
            foreach (var runtime in runtimes)
            {
                await runtime.DisposeAsync(); // closes its store too
            }
        }
    }

    private static void Row(BenchReport report, string name, Samples samples, int count)
        => report.Line(string.Create(CultureInfo.InvariantCulture,
            $"| {name} | {count} | {Ms(samples.Percentile(50))} | {Ms(samples.Percentile(99))} | {Ms(samples.Percentile(100))} |"));

    private static string Ms(double ticks) => (ticks * 1000.0 / Stopwatch.Frequency).ToString("F1", CultureInfo.InvariantCulture) + " ms";
}
