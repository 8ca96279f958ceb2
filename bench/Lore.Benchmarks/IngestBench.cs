using System.Diagnostics;
using Lore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Lore.Benchmarks;

/// <summary>
/// Capture ingest into SQLite: CaptureRecords appended in batches as the background writer does, against a
/// baseline of the same number of rows inserted raw (one prepared INSERT, one transaction per batch) into a bare
/// table on the same disk in the same run.
/// </summary>
internal static class IngestBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var episodes = SyntheticEpisodes.Create(quick ? 2_000 : 20_000, seed: 5).ToArray();

        // --ids random: ids the callers chose (random UUIDs, seeded), which land all over the id index, instead of
        // ids that sort in arrival order and append to it (Lore's own UUIDv7s, the synthetic "ep-0000001").
        var idKind = Serving.BenchOptions.Text("--ids") ?? "ordered";
        if (idKind is not ("ordered" or "random"))
        {
            throw new ArgumentException($"--ids is 'ordered' or 'random', not '{idKind}'.");
        }

        if (idKind == "random")
        {
            var random = new Random(11);
            var bytes = new byte[16];
            episodes = [.. episodes.Select(e =>
            {
                random.NextBytes(bytes);
                return e with { Id = new Guid(bytes).ToString() };
            })];
        }
        var perEpisode = episodes.Select(e => (CaptureRecord[])[
            new EpisodeStarted(e with { Steps = [], Outcomes = [], EndedAt = null }),
            .. e.Steps.Select(s => new StepRecorded(e.Id, s)),
            .. e.Outcomes.Select(o => new OutcomeRecorded(e.Id, o)),
            new EpisodeEnded(e.Id, e.EndedAt!.Value, [])]).ToArray();

        // Each episode's records in turn; or, with --interleave N, the records of N episodes in flight round-robin, as
        // concurrent callers' records reach the proxy's capture writer (most steps then address an episode started in
        // an earlier batch).
        var inFlight = Math.Max(1, Serving.BenchOptions.Int("--interleave") ?? 1);
        var records = new List<CaptureRecord>();
        foreach (var group in perEpisode.Chunk(inFlight))
        {
            for (var position = 0; position < group.Max(g => g.Length); position++)
            {
                records.AddRange(group.Where(g => position < g.Length).Select(g => g[position]));
            }
        }

        var steps = episodes.Sum(e => e.Steps.Count);
        // --batch N: records per AppendAsync (the proxy's capture writer commits about 16 at a time under load).
        var batch = Serving.BenchOptions.Int("--batch") ?? 512;
        report.Section($"Ingest into SQLite ({episodes.Length:N0} episodes, {steps:N0} steps, {records.Count:N0} capture records, batches of {batch}, {idKind} ids)");

        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        try
        {
            var (baseline, baselineCpu) = RawBaseline(Path.Combine(directory, "raw.db"), records.Count, batch);

            await using var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "lore.db"));
            // CPU per record as well as wall time: with a commit every few records, wall time is mostly the fsync's
            // wait, which a shared machine's disk makes vary several-fold between runs; the CPU the writer spends does not.
            var cpuBefore = Environment.CpuUsage.TotalTime;
            var watch = Stopwatch.StartNew();
            for (var i = 0; i < records.Count; i += batch)
            {
                await store.AppendAsync(records.GetRange(i, Math.Min(batch, records.Count - i)));
            }

            watch.Stop();
            var loreCpu = (Environment.CpuUsage.TotalTime - cpuBefore).TotalMicroseconds / records.Count;
            var loreRecordsPerSecond = records.Count / watch.Elapsed.TotalSeconds;
            var loreStepsPerSecond = steps / watch.Elapsed.TotalSeconds;

            var importStore = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "import.db"));
            await using (importStore)
            {
                var importWatch = Stopwatch.StartNew();
                await using (var import = await importStore.BeginImportAsync())
                {
                    foreach (var e in episodes)
                    {
                        await import.AddAsync(e);
                    }

                    await import.CommitAsync();
                }

                importWatch.Stop();
                report.Line("| path | records/s | steps/s | vs raw SQLite rows/s | CPU µs / record | vs raw |");
                report.Line("|---|---|---|---|---|---|");
                report.Line($"| raw SQLite INSERT baseline | {BenchReport.N(baseline)} | - | 1.00 | {BenchReport.N(baselineCpu, "F1")} | 1.00 |");
                report.Line($"| ILoreStore.AppendAsync (capture) | {BenchReport.N(loreRecordsPerSecond)} | **{BenchReport.N(loreStepsPerSecond)}** | {BenchReport.N(loreRecordsPerSecond / baseline, "F2")} | **{BenchReport.N(loreCpu, "F1")}** | {BenchReport.N(loreCpu / baselineCpu, "F2")} |");
                report.Line($"| ILoreStore import (one transaction) | - | {BenchReport.N(steps / importWatch.Elapsed.TotalSeconds)} | - | - | - |");
            }
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Rows per second and CPU µs per row of the raw inserts.</summary>
    private static (double RowsPerSecond, double CpuPerRow) RawBaseline(string path, int rows, int batch)
    {
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using (var pragma = connection.CreateCommand())
        {
            pragma.CommandText = "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; CREATE TABLE rows (id INTEGER PRIMARY KEY, episode TEXT, idx INTEGER, payload TEXT);";
            pragma.ExecuteNonQuery();
        }

        var payload = new string('x', 300);
        var cpuBefore = Environment.CpuUsage.TotalTime;
        var watch = Stopwatch.StartNew();
        for (var i = 0; i < rows; i += batch)
        {
            using var tx = connection.BeginTransaction();
            using var insert = connection.CreateCommand();
            insert.CommandText = "INSERT INTO rows (episode, idx, payload) VALUES ($e, $i, $p)";
            var e = insert.Parameters.Add("$e", SqliteType.Text);
            var idx = insert.Parameters.Add("$i", SqliteType.Integer);
            var p = insert.Parameters.Add("$p", SqliteType.Text);
            insert.Prepare();
            for (var j = i; j < Math.Min(rows, i + batch); j++)
            {
                e.Value = $"ep-{j / 8}";
                idx.Value = j % 8;
                p.Value = payload;
                insert.ExecuteNonQuery();
            }

            tx.Commit();
        }

        return (rows / watch.Elapsed.TotalSeconds, (Environment.CpuUsage.TotalTime - cpuBefore).TotalMicroseconds / rows);
    }
}
