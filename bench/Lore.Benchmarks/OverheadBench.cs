using System.Diagnostics;
using Microsoft.Extensions.AI;

namespace Lore.Benchmarks;

/// <summary>
/// Per-call overhead of UseLore (retrieval, injection, capture enqueue) against the bare inner client, with 10k
/// lessons in the served snapshot. The inner client answers at once, so every tick measured beyond the bare
/// client's is Lore's.
/// </summary>
internal static class OverheadBench
{
    /// <param name="minilm">
    /// Serve with the local MiniLM model as the vector half instead of the hashed embedding; the hashed run goes first
    /// as the baseline of the same run. Query embeddings run in the background (LoreOptions.QueryEmbeddingWait = 0).
    /// </param>
    public static async Task RunAsync(BenchReport report, bool quick, bool minilm = false)
    {
        if (minilm)
        {
            await RunAsync(report, quick);
        }

        const int lessons = 10_000;
        var calls = quick ? 5_000 : 50_000;
        report.Section($"UseLore per-call overhead ({lessons} lessons in the snapshot, {calls} calls{(minilm ? ", MiniLM embeddings" : "")})");
        using var generator = minilm ? new Lore.Embeddings.MiniLM.MiniLmEmbeddingGenerator() : null;
        var opening = Stopwatch.GetTimestamp();
        await using var bench = await BenchRuntime.CreateAsync(lessons, embeddings: generator);
        if (minilm)
        {
            report.Line($"runtime opened (model loaded, {lessons} lessons embedded) in {Stopwatch.GetElapsedTime(opening).TotalSeconds:F0} s");
        }

        var inner = new InstantChatClient();
        IChatClient withLore = new ChatClientBuilder(inner).UseLore(bench.Runtime).Build();
        var tasks = SyntheticLessons.Tasks(256, seed: 11);
        var tools = new ChatOptions { Tools = [AIFunctionFactory.Create(() => "ok", "lookup_order"), AIFunctionFactory.Create(() => "ok", "refund_order")] };

        // Tiered compilation keeps promoting hot methods on a background thread for seconds after they first run: the
        // calls are measured once a slice of warm-up calls has left the JIT nearly idle, not while it competes for a core.
        var warmUp = await JitWarmUp.RunUntilSettledAsync(async () =>
        {
            await MeasureAsync(inner, tasks, tools, 10_000, bench.Runtime, withEpisode: false);
            await MeasureAsync(withLore, tasks, tools, 10_000, bench.Runtime, withEpisode: true);
            await bench.Runtime.FlushAsync();
        }, "slices of 10,000 calls", minSlices: 3, maxSlices: 30, settledMethods: 10, TimeSpan.FromMilliseconds(10));
        var jitBefore = JitWarmUp.CompilationTime;
        var (bare, _, _) = await MeasureAsync(inner, tasks, tools, calls, bench.Runtime, withEpisode: false);
        var (lore, first, firstCpu) = await MeasureAsync(withLore, tasks, tools, calls, bench.Runtime, withEpisode: true);
        var jitMeasured = JitWarmUp.CompilationTime - jitBefore;
        await bench.Runtime.FlushAsync();

        // The same again with a second core kept busy (issue 15: the tail under contention), in the same run.
        Samples loaded, loadedFirst;
        using (new BackgroundLoad())
        {
            (loaded, loadedFirst, _) = await MeasureAsync(withLore, tasks, tools, calls, bench.Runtime, withEpisode: true);
            await bench.Runtime.FlushAsync();
        }

        report.Line($"warm-up: {warmUp}; JIT during the quiet measurement: {jitMeasured.TotalMilliseconds:F0} ms");
        report.Line("");
        report.Line("| client | p50 | p99 | mean |");
        report.Line("|---|---|---|---|");
        report.Line($"| bare inner client | {BenchReport.Us(bare.Percentile(50))} | {BenchReport.Us(bare.Percentile(99))} | {BenchReport.Us(bare.Mean)} |");
        report.Line($"| UseLore + inner | {BenchReport.Us(lore.Percentile(50))} | {BenchReport.Us(lore.Percentile(99))} | {BenchReport.Us(lore.Mean)} |");
        report.Line($"| UseLore, first call of an episode (retrieval runs) | {BenchReport.Us(first.Percentile(50))} | {BenchReport.Us(first.Percentile(99))} | {BenchReport.Us(first.Mean)} |");
        if (ThreadCpuClock.IsAvailable)
        {
            // The calling thread's CPU time: what the call cost, without the time a loaded machine kept it waiting.
            report.Line($"| UseLore, first call of an episode: thread CPU time ({firstCpu.Count} of {first.Count} calls that ended on the thread they began on) | {BenchReport.Us(firstCpu.Percentile(50))} | {BenchReport.Us(firstCpu.Percentile(99))} | {BenchReport.Us(firstCpu.Mean)} |");
        }
        report.Line($"| **added by Lore** | {BenchReport.Us(lore.Percentile(50) - bare.Percentile(50))} | {BenchReport.Us(lore.Percentile(99) - bare.Percentile(99))} | {BenchReport.Us(lore.Mean - bare.Mean)} |");
        if (minilm)
        {
            // Tasks never seen before: the first call is served lexically while the query embeds in the background.
            var cold = await MeasureColdAsync(withLore, tools, bench.Runtime, quick ? 100 : 400);
            report.Line($"| UseLore, first call of an episode whose task was never seen (served lexically; {cold.LexicalFirstCalls} of {(quick ? 100 : 400)} were) | {BenchReport.Us(cold.First.Percentile(50))} | {BenchReport.Us(cold.First.Percentile(99))} | {BenchReport.Us(cold.First.Mean)} |");
            report.Line($"| UseLore, next call of that episode once its query vector arrived (hybrid) | {BenchReport.Us(cold.Next.Percentile(50))} | {BenchReport.Us(cold.Next.Percentile(99))} | {BenchReport.Us(cold.Next.Mean)} |");
            report.Line($"| (not on the call) BeginEpisode to the task's query vector ready, MiniLM in the background | {BenchReport.Us(cold.Ready.Percentile(50))} | {BenchReport.Us(cold.Ready.Percentile(99))} | {BenchReport.Us(cold.Ready.Mean)} |");
        }

        report.Line($"| UseLore + inner, one core busy | {BenchReport.Us(loaded.Percentile(50))} | {BenchReport.Us(loaded.Percentile(99))} | {BenchReport.Us(loaded.Mean)} |");
        report.Line($"| UseLore, first call of an episode, one core busy | {BenchReport.Us(loadedFirst.Percentile(50))} | {BenchReport.Us(loadedFirst.Percentile(99))} | {BenchReport.Us(loadedFirst.Mean)} |");
        var stats = bench.Runtime.CaptureStatistics;
        report.Line($"capture: {stats.Written} records written, {stats.Dropped} dropped, {stats.Failed} failed");
    }

    private static async Task<(Samples All, Samples FirstCalls, Samples FirstCallsCpu)> MeasureAsync(IChatClient client, string[] tasks, ChatOptions options, int calls, LoreRuntime runtime, bool withEpisode)
    {
        var samples = new Samples(calls);
        var firstCalls = new Samples(calls / 8 + 1);
        var firstCallsCpu = new Samples(calls / 8 + 1);
        var warmup = Math.Min(2_000, calls / 5);
        EpisodeScope? episode = null;
        for (var i = 0; i < warmup + calls; i++)
        {
            // Eight model calls per episode, as in a short tool-using task.
            var task = tasks[i / 8 % tasks.Length];
            if (withEpisode && i % 8 == 0)
            {
                episode = runtime.BeginEpisode(task, new() { ["slice"] = $"slice-{i % 5}" }, unitKey: $"user-{i % 1000}");
            }

            var messages = new List<ChatMessage> { new(ChatRole.System, "You are a support agent."), new(ChatRole.User, task) };
            var thread = Environment.CurrentManagedThreadId;
            var cpuStart = ThreadCpuClock.Now();
            var start = Stopwatch.GetTimestamp();
            await client.GetResponseAsync(messages, options);
            var elapsed = Stopwatch.GetTimestamp() - start;
            var cpu = ThreadCpuClock.Now() - cpuStart;

            // A call that resumed on another thread has no CPU time of its own on one clock: its sample is left out.
            var sameThread = thread == Environment.CurrentManagedThreadId;
            if (i >= warmup)
            {
                samples.Add(elapsed);
                if (i % 8 == 0)
                {
                    firstCalls.Add(elapsed);
                    if (sameThread)
                    {
                        firstCallsCpu.Add(cpu);
                    }
                }
            }

            if (episode is not null && i % 8 == 7)
            {
                await episode.CompleteAsync(Outcome.Success());
                await episode.DisposeAsync();
                episode = null;
            }
        }

        return (samples, firstCalls, firstCallsCpu);
    }

    /// <summary>
    /// Episodes of tasks never seen before: the first call (its query not embedded yet), the time until the task's
    /// vector is ready in the background, and the episode's next call (served by the hybrid).
    /// </summary>
    private static async Task<ColdCalls> MeasureColdAsync(IChatClient client, ChatOptions options, LoreRuntime runtime, int episodes)
    {
        var cold = new ColdCalls(new Samples(episodes), new Samples(episodes), new Samples(episodes));
        var tasks = SyntheticLessons.Tasks(episodes, seed: 23);
        for (var i = 0; i < episodes; i++)
        {
            var task = $"{tasks[i]} (ticket {i})";
            List<ChatMessage> messages = [new(ChatRole.System, "You are a support agent."), new(ChatRole.User, task)];
            var begun = Stopwatch.GetTimestamp();
            await using var episode = runtime.BeginEpisode(task, unitKey: $"user-{i % 1000}");
            var start = Stopwatch.GetTimestamp();
            await client.GetResponseAsync(messages, options);
            cold.First.Add(Stopwatch.GetTimestamp() - start);
            if (!runtime.HasQueryVector(task))
            {
                cold.LexicalFirstCalls++;
            }

            var deadline = Stopwatch.GetTimestamp() + (Stopwatch.Frequency * 120);
            while (!runtime.HasQueryVector(task) && Stopwatch.GetTimestamp() < deadline)
            {
                await Task.Delay(1);
            }

            cold.Ready.Add(Stopwatch.GetTimestamp() - begun);
            start = Stopwatch.GetTimestamp();
            await client.GetResponseAsync([.. messages, new ChatMessage(ChatRole.Assistant, "done"), new ChatMessage(ChatRole.User, task)], options);
            cold.Next.Add(Stopwatch.GetTimestamp() - start);
            await episode.CompleteAsync(Outcome.Success());
        }

        return cold;
    }

    private sealed record ColdCalls(Samples First, Samples Next, Samples Ready)
    {
        public int LexicalFirstCalls { get; set; }
    }

    /// <summary>An inner client that answers immediately with a fixed message.</summary>
    private sealed class InstantChatClient : IChatClient
    {
        private static readonly ChatResponse Response = new(new ChatMessage(ChatRole.Assistant, "done")) { Usage = new UsageDetails { InputTokenCount = 10, OutputTokenCount = 1 } };

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => Task.FromResult(Response);

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.CompletedTask;
            yield return new ChatResponseUpdate(ChatRole.Assistant, "done");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
