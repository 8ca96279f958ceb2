using System.Diagnostics;

namespace Lore.Benchmarks;

/// <summary>Retrieval latency (scope filter, hybrid scoring, top-k under the token budget) by snapshot size.</summary>
internal static class RetrievalBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        report.Section("Retrieval latency by snapshot size (built-in hashed embedding)");
        report.Line("| lessons | p50 | p99 | mean | lessons returned (mean) |");
        report.Line("|---|---|---|---|---|");
        foreach (var size in quick ? new[] { 1_000, 10_000 } : new[] { 1_000, 10_000, 100_000 })
        foreach (var turnIsTask in new[] { false, true })
        {
            await using var bench = await BenchRuntime.CreateAsync(size);
            var tasks = SyntheticLessons.Tasks(512, seed: 13);
            var queries = tasks.Select((t, i) => new RetrievalQuery
            {
                Task = t,
                Turn = turnIsTask ? t : tasks[(i + 1) % tasks.Length],
                UnitKey = $"user-{i % 1000}",
                Labels = new Dictionary<string, string> { ["slice"] = $"slice-{i % 5}" },
                AvailableTools = ["lookup_order", "refund_order", "get_invoice", "pay_invoice"],
            }).ToArray();
            var iterations = quick ? 2_000 : size >= 100_000 ? 5_000 : 20_000;
            var (samples, returned) = await MeasureAsync(bench.Runtime, queries, iterations);
            report.Line($"| {size:N0}{(turnIsTask ? " (turn = task)" : "")} | {BenchReport.Us(samples.Percentile(50))} | {BenchReport.Us(samples.Percentile(99))} | {BenchReport.Us(samples.Mean)} | {BenchReport.N((double)returned / iterations, "F1")} |");
            if (!turnIsTask)
            {
                // The same queries with a second core kept busy (issue 15: the tail under contention), in the same run.
                using var load = new BackgroundLoad();
                var (loaded, _) = await MeasureAsync(bench.Runtime, queries, iterations);
                report.Line($"| {size:N0}, one core busy | {BenchReport.Us(loaded.Percentile(50))} | {BenchReport.Us(loaded.Percentile(99))} | {BenchReport.Us(loaded.Mean)} | |");
            }
        }
    }

    private static async Task<(Samples Samples, long Returned)> MeasureAsync(LoreRuntime runtime, RetrievalQuery[] queries, int iterations)
    {
        var samples = new Samples(iterations);
        long returned = 0;
        for (var i = 0; i < 500 + iterations; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var result = await runtime.RetrieveAsync(queries[i % queries.Length]);
            var elapsed = Stopwatch.GetTimestamp() - start;
            if (i >= 500)
            {
                samples.Add(elapsed);
                returned += result.Lessons.Count;
            }
        }

        return (samples, returned);
    }
}
