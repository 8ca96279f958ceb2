using System.Diagnostics;
using Lore.PostgreSql;
using Lore.Sqlite;
using Lore.Testing;

namespace Lore.Benchmarks.PostgreSql;

/// <summary>
/// Ingest throughput into PostgreSQL against SQLite, in the same run on the same machine: capture batches through
/// <see cref="ILoreStore.AppendAsync"/> and whole-episode imports, into a throwaway PostgreSQL 15 server started with
/// fsync on (as SQLite flushes every commit by default). PostgreSQL rows also show the multi-row INSERT path alone
/// (COPY turned off) and several writers at once, which is what many hosts sharing one store do.
/// </summary>
internal static class PostgresIngestBench
{
    private const int Batch = 512;

    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var episodes = SyntheticEpisodes.Create(quick ? 2_000 : 20_000, seed: 5).ToArray();
        var records = Records(episodes);
        var steps = episodes.Sum(e => e.Steps.Count);
        report.Section($"Ingest into PostgreSQL 15 vs SQLite ({episodes.Length:N0} episodes, {steps:N0} steps, {records.Count:N0} capture records, batches of {Batch})");

        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        await using var server = await PostgresServer.StartAsync(durable: true);
        try
        {
            var rows = new List<(string Store, string Path, double Seconds)>();

            await using (var sqlite = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "append.db")))
            {
                rows.Add(("SQLite", "AppendAsync (capture batches)", await AppendAsync(sqlite, records, writers: 1)));
            }

            await using (var sqlite = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "import.db")))
            {
                rows.Add(("SQLite", "import (one transaction)", await ImportAsync(sqlite, episodes)));
            }

            await using (var postgres = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync(), new PostgresStoreOptions { CopyThreshold = 1 }))
            {
                rows.Add(("PostgreSQL", "AppendAsync (binary COPY only)", await AppendAsync(postgres, records, writers: 1)));
            }

            await using (var postgres = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync(), new PostgresStoreOptions { CopyThreshold = int.MaxValue }))
            {
                rows.Add(("PostgreSQL", "AppendAsync (multi-row INSERT only)", await AppendAsync(postgres, records, writers: 1)));
            }

            await using (var postgres = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync()))
            {
                rows.Add(("PostgreSQL", "AppendAsync, 4 writers at once", await AppendAsync(postgres, records, writers: 4)));
            }

            await using (var postgres = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync(), new PostgresStoreOptions { CopyThreshold = 1 }))
            {
                rows.Add(("PostgreSQL", "import (one transaction, binary COPY)", await ImportAsync(postgres, episodes)));
            }

            await using (var postgres = await PostgresLoreStore.OpenAsync(await server.CreateDatabaseAsync(), new PostgresStoreOptions { CopyThreshold = int.MaxValue }))
            {
                rows.Add(("PostgreSQL", "import (one transaction, multi-row INSERT only)", await ImportAsync(postgres, episodes)));
            }

            var sqliteAppend = rows[0].Seconds;
            report.Line("| store | path | steps/s | records/s | vs SQLite AppendAsync |");
            report.Line("|---|---|---|---|---|");
            foreach (var (store, path, seconds) in rows)
            {
                var recordsPerSecond = path.StartsWith("import", StringComparison.Ordinal) ? "-" : BenchReport.N(records.Count / seconds);
                report.Line($"| {store} | {path} | **{BenchReport.N(steps / seconds)}** | {recordsPerSecond} | {BenchReport.N(sqliteAppend / seconds, "F2")} |");
            }

            report.Line("PostgreSQL: a throwaway local server (fsync on, synchronous_commit on); SQLite: WAL, synchronous=FULL. Both on the same disk.");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static List<CaptureRecord> Records(Episode[] episodes)
    {
        var records = new List<CaptureRecord>();
        foreach (var e in episodes)
        {
            records.Add(new EpisodeStarted(e with { Steps = [], Outcomes = [], EndedAt = null }));
            records.AddRange(e.Steps.Select(s => new StepRecorded(e.Id, s)));
            records.AddRange(e.Outcomes.Select(o => new OutcomeRecorded(e.Id, o)));
            records.Add(new EpisodeEnded(e.Id, e.EndedAt!.Value, []));
        }

        return records;
    }

    /// <summary>Appends the records in batches; with several writers each takes every n-th slice of whole episodes, as separate hosts would.</summary>
    private static async Task<double> AppendAsync(ILoreStore store, List<CaptureRecord> records, int writers)
    {
        var byEpisode = records.GroupBy(r => r.EpisodeId).Select(g => g.ToList()).ToList();
        var shares = Enumerable.Range(0, writers)
            .Select(w => byEpisode.Where((_, i) => i % writers == w).SelectMany(r => r).ToList())
            .ToList();
        var watch = Stopwatch.StartNew();
        await Task.WhenAll(shares.Select(share => Task.Run(async () =>
        {
            for (var i = 0; i < share.Count; i += Batch)
            {
                await store.AppendAsync(share.GetRange(i, Math.Min(Batch, share.Count - i)));
            }
        })));
        return watch.Elapsed.TotalSeconds;
    }

    private static async Task<double> ImportAsync(ILoreStore store, Episode[] episodes)
    {
        var watch = Stopwatch.StartNew();
        await using (var import = await store.BeginImportAsync())
        {
            foreach (var e in episodes)
            {
                await import.AddAsync(e);
            }

            await import.CommitAsync();
        }

        return watch.Elapsed.TotalSeconds;
    }
}
