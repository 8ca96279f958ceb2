using System.Diagnostics;

namespace Lore.Benchmarks;

/// <summary>
/// Retrieval latency (scope filter, hybrid scoring, top-k under the token budget) by snapshot size: back to back (the
/// index hot in the caches), with the caches flushed before each call (the index cold, as at an episode's first model
/// call, seconds after the previous one), and with a second core busy; plus the bytes allocated per retrieval, which
/// does not depend on the machine's load.
/// </summary>
internal static class RetrievalBench
{
    /// <summary>
    /// Walked between two cold calls: by default larger than the machine's last-level cache share (32 MiB);
    /// <c>--evict-kb N</c> walks N KiB instead (a few hundred KiB is what serving one proxied request touches).
    /// </summary>
    private static readonly long[] Evictor = new long[(Serving.BenchOptions.Int("--evict-kb") ?? 32 * 1024) * 1024 / sizeof(long)];

    public static async Task RunAsync(BenchReport report, bool quick)
    {
        report.Section("Retrieval latency by snapshot size (built-in hashed embedding)");
        report.Line("| lessons | p50 | p99 | mean | CPU p50 | CPU p90 | lessons returned (mean) | allocated per retrieval |");
        report.Line("|---|---|---|---|---|---|---|---|");
        var warmUps = new List<string>();
        var measuredJit = TimeSpan.Zero;
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

            // Measured once tiered compilation has settled: the first rows were otherwise read partly from code at tier 0,
            // with the compiler busy on the other core.
            warmUps.Add($"{size:N0}{(turnIsTask ? " (turn = task)" : "")}: " + await JitWarmUp.RunUntilSettledAsync(
                () => MeasureAsync(bench.Runtime, queries, Math.Min(iterations, 2_000), cold: false), "slices of 2,000 retrievals",
                minSlices: 3, maxSlices: 30, settledMethods: 10, TimeSpan.FromMilliseconds(10)));
            var jitBefore = JitWarmUp.CompilationTime;
            var (samples, cpu, returned, allocated) = await MeasureAsync(bench.Runtime, queries, iterations, cold: false);
            measuredJit += JitWarmUp.CompilationTime - jitBefore;
            report.Line($"| {size:N0}{(turnIsTask ? " (turn = task)" : "")} | {Times(samples, cpu)} | {BenchReport.N((double)returned / iterations, "F1")} | {allocated:N0} B |");
            if (!turnIsTask)
            {
                // Each call after the caches were flushed: the first call of an episode meets a cold index.
                var (cold, coldCpu, _, _) = await MeasureAsync(bench.Runtime, queries, Math.Min(iterations, quick ? 300 : 1_000), cold: true);
                report.Line($"| {size:N0}, caches flushed before each call | {Times(cold, coldCpu)} | | |");

                // The same queries with a second core kept busy (issue 15: the tail under contention), in the same run.
                using var load = new BackgroundLoad();
                var (loaded, loadedCpu, _, _) = await MeasureAsync(bench.Runtime, queries, iterations, cold: false);
                report.Line($"| {size:N0}, one core busy | {Times(loaded, loadedCpu)} | | |");
            }
        }

        report.Line("");
        report.Line($"Warm-up before each size's rows ({string.Join("; ", warmUps)}); JIT during the hot rows: {measuredJit.TotalMilliseconds:F0} ms.");
    }

    private static string Times(Samples wall, Samples cpu)
        => $"{BenchReport.Us(wall.Percentile(50))} | {BenchReport.Us(wall.Percentile(99))} | {BenchReport.Us(wall.Mean)} | "
           + (ThreadCpuClock.IsAvailable ? $"{BenchReport.Us(cpu.Percentile(50))} | {BenchReport.Us(cpu.Percentile(90))}" : "n/a | n/a");

    /// <summary>
    /// Times each retrieval (wall and the thread's CPU time); returns the samples, lessons returned and bytes allocated
    /// per retrieval.
    /// </summary>
    private static async Task<(Samples Samples, Samples Cpu, long Returned, long AllocatedPerCall)> MeasureAsync(LoreRuntime runtime, RetrievalQuery[] queries, int iterations, bool cold)
    {
        var samples = new Samples(iterations);
        var cpu = new Samples(iterations);
        long returned = 0;
        long allocatedBefore = 0;
        for (var i = 0; i < 500 + iterations; i++)
        {
            if (i == 500)
            {
                allocatedBefore = GC.GetAllocatedBytesForCurrentThread();
            }

            if (cold)
            {
                Flush();
            }

            var cpuStart = ThreadCpuClock.Now();
            var start = Stopwatch.GetTimestamp();
            var result = await runtime.RetrieveAsync(queries[i % queries.Length]);
            var elapsed = Stopwatch.GetTimestamp() - start;
            var cpuElapsed = ThreadCpuClock.Now() - cpuStart;
            if (i >= 500)
            {
                samples.Add(elapsed);
                cpu.Add(cpuElapsed);
                returned += result.Lessons.Count;
            }
        }

        return (samples, cpu, returned, (GC.GetAllocatedBytesForCurrentThread() - allocatedBefore) / iterations);
    }

    /// <summary>Writes over a buffer larger than the caches, evicting the index as other work between model calls does.</summary>
    private static void Flush()
    {
        var data = Evictor;
        for (var i = 0; i < data.Length; i += 8)
        {
            data[i]++;
        }
    }
}
