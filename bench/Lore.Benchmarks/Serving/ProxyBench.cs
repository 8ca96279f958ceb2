using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json.Nodes;
using Lore.Retrieval;
using Lore.Server;
using Lore.Server.Security;
using Lore.Simulation;
using Lore.Simulation.Upstream;
using Lore.Sqlite;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lore.Benchmarks.Serving;

/// <summary>
/// The proxy against the floor a bare reverse proxy sets. Three processes: the simulated upstream (the workplace's
/// agent over the OpenAI protocol), this one (hosting both <c>lore serve</c> and a bare YARP <c>MapForwarder</c> in
/// front of the same upstream, on separate Kestrel hosts) and a load generator (pinned to the last core where the OS
/// allows, the servers to the others). For each client count the arms are warmed up until the JIT has settled, then
/// alternate (in reverse every other round) for several rounds; each phase
/// reports throughput, latency, and CPU per request from this process's own counters (the servers' process: the
/// upstream and the load generator are not in it). Lore's arm has a 1,000-lesson snapshot, injects lessons into every call and captures every call to SQLite, in
/// episodes of four calls; another arm sends the same calls to the same server under a tenant with no snapshot, to
/// attribute retrieval and injection; and <c>yarp-log</c> is bare YARP writing each call's bytes to SQLite
/// (<see cref="RecordingYarp"/>), the durable write alone, to tell Lore's own work from what recording any call costs;
/// <c>yarp-floor</c> also retrieves from the same snapshot and splices the lessons in (<see cref="LessonSplice"/>), the
/// least that "injection and capture on" can cost.
/// </summary>
internal static class ProxyBench
{
    private const int LessonCount = 1_000;
    public const int CallsPerEpisode = 4;

    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var clientCounts = BenchOptions.Ints("--clients") ?? (quick ? [1, 16] : [1, 16, 64]);
        var phase = TimeSpan.FromSeconds(BenchOptions.Int("--seconds") ?? (quick ? 2 : 5));
        var rounds = BenchOptions.Int("--rounds") ?? (quick ? 2 : 4);
        var pin = !Environment.GetCommandLineArgs().Contains("--no-pin") && Environment.ProcessorCount >= 2;
        var stream = Environment.GetCommandLineArgs().Contains("--stream");
        var agentLoop = Environment.GetCommandLineArgs().Contains("--agent-loop");
        if (BenchOptions.Int("--min-threads") is { } minThreads)
        {
            ThreadPool.SetMinThreads(minThreads, minThreads);
        }

        report.Section($"OpenAI-compatible proxy against bare YARP: {string.Join('/', clientCounts)} clients, {rounds} rounds of {phase.TotalSeconds:F0} s phases per arm, load generator in its own process{(pin ? " pinned to the last core" : "")}{(stream ? ", SSE answers (`--stream`)" : "")}{(agentLoop ? ", agent loops (`--agent-loop`: an episode's calls re-send its growing conversation)" : "")}");

        var allButLast = (nint)((1L << (Environment.ProcessorCount - 1)) - 1);
        var lastCore = (nint)(1L << (Environment.ProcessorCount - 1));
        using var upstream = await BenchChild.StartAsync(["proxy-upstream"], pin ? allButLast : null);
        var upstreamBase = new Uri(await upstream.ReadLineAsync("upstream"));
        if (pin && (OperatingSystem.IsLinux() || OperatingSystem.IsWindows()))
        {
            Process.GetCurrentProcess().ProcessorAffinity = allButLast;
        }

        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "bench.db"));
        try
        {
            var snapshot = Snapshot.Create(null, "bench", SyntheticLessons.Create(LessonCount, 7, "bench"), new RetrievalSettings(), "bench", $"{LessonCount} synthetic lessons", DateTimeOffset.UtcNow);
            await store.SaveSnapshotAsync(snapshot);
            await store.SetActiveSnapshotAsync("bench", snapshot.Id);
            var (key, presented) = ApiKeyAuthentication.Issue("bench", ApiKeyRole.Agent, "bench", "bench", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(key);

            // A tenant with no snapshot: the same proxy path without retrieval and injection, to attribute their cost.
            var (bareKey, barePresented) = ApiKeyAuthentication.Issue("bench-no-lessons", ApiKeyRole.Agent, "bench", "bench", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(bareKey);

            var options = new LoreServerOptions
            {
                Store = store,
                Urls = "http://127.0.0.1:0",
                UpstreamBaseUrl = upstreamBase,
                RequestsPerMinutePerKey = int.MaxValue,
            };
            // --capture-window MS: the capture writer's batch window (default: LoreOptions' own).
            var window = BenchOptions.Int("--capture-window") is { } ms ? TimeSpan.FromMilliseconds(ms) : (TimeSpan?)null;
            options.ConfigureRuntime = o =>
            {
                o.Capture.OverflowPolicy = CaptureOverflowPolicy.Wait;
                o.Capture.BatchWindow = window ?? o.Capture.BatchWindow;
            };
            var lore = LoreServer.Build(options, ["--Logging:LogLevel:Default=Warning"]);
            await lore.StartAsync();
            var yarp = await StartBareYarpAsync(upstreamBase);
            await using var recordingYarp = await RecordingYarp.StartAsync(upstreamBase, Path.Combine(directory, "yarp-calls.db"));
            var floorIndex = LessonIndex.Build(snapshot);
            CheckSplice(floorIndex);
            await using var floorYarp = await RecordingYarp.StartAsync(upstreamBase, Path.Combine(directory, "yarp-floor.db"), floorIndex);
            using var load = await BenchChild.StartAsync(["proxy-load", .. stream ? ["--stream"] : Array.Empty<string>(), .. agentLoop ? ["--agent-loop"] : Array.Empty<string>()], pin ? lastCore : null);
            await load.ReadLineAsync("load generator ready");
            try
            {
                // A phase of an arm that records calls ends when its calls are stored: the writer's backlog is written
                // inside the phase (and counted in its CPU), not in the next arm's phase.
                var tenants = lore.Services.GetRequiredService<Lore.Server.Hosting.TenantRuntimes>();
                Func<Task> Settle(string tenant) => async () => await (await tenants.GetAsync(tenant)).FlushAsync();
                var allArms = new (string Id, string Name, Uri Base, string? Key, Func<Task>? Settle)[]
                {
                    ("direct", "direct to the upstream", upstreamBase, null, null),
                    ("yarp", "bare YARP", new Uri(Address(yarp) + "/v1/"), null, null),
                    ("yarp-log", "bare YARP writing each call's bytes to SQLite (the durable write alone)", new Uri(Address(recordingYarp.App) + "/v1/"), null, recordingYarp.FlushAsync),
                    ("yarp-floor", "bare YARP that also retrieves and splices the lessons (the least injection and capture can cost)", new Uri(Address(floorYarp.App) + "/v1/"), null, floorYarp.FlushAsync),
                    ("lore", "Lore proxy", new Uri(Address(lore) + "/v1/"), presented, Settle("bench")),
                    ("no-snapshot", "Lore proxy, tenant without a snapshot (no retrieval, no injection)", new Uri(Address(lore) + "/v1/"), barePresented, Settle("bench-no-lessons")),
                };

                // --arms lore (or yarp,lore, ...) runs only those arms: a profiler attached to this process then sees one arm.
                var chosen = BenchOptions.Names("--arms", [.. allArms.Select(a => a.Id)]);
                var arms = chosen is null ? allArms : [.. allArms.Where(a => chosen.Contains(a.Id))];
                var loreArm = Array.FindIndex(arms, a => a.Id == "lore");
                var yarpArm = Array.FindIndex(arms, a => a.Id == "yarp");
                var directArm = Array.FindIndex(arms, a => a.Id == "direct");

                report.Line("| clients | arm | throughput | vs YARP | CPU / request (servers' process) | vs YARP | allocated / request | p50 | p99 | added p50 / p99 vs direct |");
                report.Line("|---|---|---|---|---|---|---|---|---|---|");
                using var sampler = Environment.GetCommandLineArgs().Contains("--alloc-types") ? new AllocationSampler() : null;
                var withLessons = 0L;
                var loreRequests = 0L;
                foreach (var clients in clientCounts)
                {
                    var results = arms.Select(_ => new ArmResult()).ToArray();
                    // Every arm, one second each, in rounds until a round leaves the JIT nearly idle (a fixed one-second
                    // warm-up left up to 2 s of tier-up compilation, this process's CPU, in the first measured phases).
                    var warmup = await JitWarmUp.RunUntilSettledAsync(async () =>
                    {
                        foreach (var arm in arms)
                        {
                            await DriveAsync(load, arm.Base, arm.Key, clients, TimeSpan.FromSeconds(1), null, arm.Settle);
                        }
                    }, "rounds of 1 s per arm", minSlices: 1, maxSlices: 12, settledMethods: 30, TimeSpan.FromMilliseconds(30));

                    // Odd rounds run the arms in reverse, so no arm always follows the same one (a phase inherits the
                    // previous one's thread pool, caches and garbage).
                    for (var round = 0; round < rounds; round++)
                    {
                        for (var i = 0; i < arms.Length; i++)
                        {
                            var a = round % 2 == 0 ? i : arms.Length - 1 - i;
                            await DriveAsync(load, arms[a].Base, arms[a].Key, clients, phase, results[a], arms[a].Settle);
                        }
                    }

                    if (loreArm >= 0)
                    {
                        withLessons += results[loreArm].WithLessons;
                        loreRequests += results[loreArm].Requests;
                    }

                    var direct = directArm >= 0 ? results[directArm] : null;
                    var bare = yarpArm >= 0 ? results[yarpArm] : null;
                    for (var a = 0; a < arms.Length; a++)
                    {
                        var r = results[a];
                        var vsYarp = a == directArm || bare is null;
                        var added = a == directArm || direct is null ? "" : $"{Ms(r.Latency.Percentile(50) - direct.Latency.Percentile(50))} / {Ms(r.Latency.Percentile(99) - direct.Latency.Percentile(99))}";
                        report.Line($"| {clients} | {arms[a].Name} | {BenchReport.N(r.Throughput)} req/s{r.ErrorNote} | {(vsYarp ? "" : Ratio(r.Throughput, bare!.Throughput))} | {BenchReport.N(r.CpuPerRequestMs, "F3")} ms | {(vsYarp ? "" : Ratio(r.CpuPerRequestMs, bare!.CpuPerRequestMs))} | {BenchReport.N(r.AllocatedPerRequest / 1024.0, "F1")} KiB | {Ms(r.Latency.Percentile(50))} | {Ms(r.Latency.Percentile(99))} | {added} |");
                    }

                    if (sampler is not null && loreArm >= 0)
                    {
                        // One more Lore phase with the allocation sampler on (it costs a little CPU of its own).
                        sampler.Start();
                        var sampled = new ArmResult();
                        await DriveAsync(load, arms[loreArm].Base, arms[loreArm].Key, clients, phase, sampled, arms[loreArm].Settle);
                        var types = sampler.Stop(BenchOptions.Int("--alloc-top") ?? 12);
                        report.Line($"| {clients} | Lore proxy allocations by type (sampled, {BenchReport.N(sampled.AllocatedPerRequest / 1024.0, "F1")} KiB/request) | {string.Join("; ", types.Select(t => $"{t.Type} {BenchReport.N(100 * t.Share, "F0")}%"))} | | | | | | | |");
                    }

                    report.Line($"| {clients} | context switches per request (voluntary + pre-empted); GCs per 1,000 requests; GC pause per request | {string.Join("; ", results.Select((r, a) => $"{arms[a].Id} {BenchReport.N((double)r.VoluntarySwitches / Math.Max(1, r.Requests), "F2")} + {BenchReport.N((double)r.InvoluntarySwitches / Math.Max(1, r.Requests), "F2")}, {BenchReport.N(1000.0 * r.Collections / Math.Max(1, r.Requests), "F2")} GCs, {BenchReport.N(r.GcPause.TotalMicroseconds / Math.Max(1, r.Requests), "F1")} µs paused"))} | | | | | | | |");
                    report.Line($"| {clients} | warm-up: {warmup} | JIT during the measured phases: {string.Join(", ", results.Select((r, a) => $"{arms[a].Id} {r.Jit.TotalMilliseconds:F0} ms"))} | | | | | | | |");
                    foreach (var (id, name) in new[] { ("yarp-log", "YARP writing each call to SQLite"), ("yarp-floor", "YARP retrieving, splicing and writing each call") })
                    {
                        var floorArm = Array.FindIndex(arms, a => a.Id == id);
                        if (loreArm >= 0 && floorArm >= 0)
                        {
                            var (l, y) = (results[loreArm], results[floorArm]);
                            report.Line($"| {clients} | Lore proxy vs {name} | {Ratio(l.Throughput, y.Throughput)} | | {BenchReport.N(l.CpuPerRequestMs - y.CpuPerRequestMs, "F3")} ms more | {Ratio(l.CpuPerRequestMs, y.CpuPerRequestMs)} | | | | |");
                        }
                    }

                    if (loreArm >= 0 && bare is not null)
                    {
                        report.Line($"| {clients} | Lore proxy per phase (req/s vs YARP's phase of the same round) | {string.Join(", ", results[loreArm].PhaseThroughputs.Zip(bare.PhaseThroughputs, (l, y) => Ratio(l, y)))} | | | | | | | |");
                    }
                }

                var runtime = await lore.Services.GetRequiredService<Lore.Server.Hosting.TenantRuntimes>().GetAsync("bench");
                await runtime.FlushAsync();
                var capture = runtime.CaptureStatistics;
                report.Line($"Lore calls with lessons injected: {BenchReport.N(100.0 * withLessons / Math.Max(1, loreRequests), "F0")}%; episodes of {CallsPerEpisode} calls; capture: {capture.Written} records written, {capture.Dropped} dropped, {capture.Failed} failed; the recording YARP stored {recordingYarp.Written} calls, the floor YARP {floorYarp.Written}, {floorYarp.Spliced} of them with lessons spliced in. CPU of the direct arm is what this process spends idle; the upstream's CPU is in its own process. Targets: throughput >= 0.8x YARP at 16 and 64 clients, CPU per request <= 1.5x YARP's.");
            }
            finally
            {
                // --keep-store DIR: a copy of the store as the last phase left it, its WAL included, to see what the
                // capture commits wrote (bench/tools/wal-pages.py counts their pages by table and index).
                if (BenchOptions.Text("--keep-store") is { } keep)
                {
                    Directory.CreateDirectory(keep);
                    foreach (var file in Directory.GetFiles(directory))
                    {
                        File.Copy(file, Path.Combine(keep, Path.GetFileName(file)), overwrite: true);
                    }
                }

                await yarp.StopAsync();
                await yarp.DisposeAsync();
                await lore.StopAsync();
                await lore.DisposeAsync();
            }
        }
        finally
        {
            await store.DisposeAsync();
            try
            {
                Directory.Delete(directory, recursive: true);
            }
            catch (IOException)
            {
            }
        }
    }

    /// <summary>
    /// One phase: the load generator runs in its own process for the phase; this process's CPU time is read around it
    /// (nothing else runs here meanwhile but the servers).
    /// </summary>
    private static async Task DriveAsync(BenchChild load, Uri baseAddress, string? key, int clients, TimeSpan duration, ArmResult? into, Func<Task>? settle)
    {
        var samples = Path.GetTempFileName();
        try
        {
            var self = Process.GetCurrentProcess();
            var cpuBefore = self.TotalProcessorTime;
            var allocatedBefore = GC.GetTotalAllocatedBytes(precise: false);
            var jitBefore = JitWarmUp.CompilationTime;
            var switchesBefore = ProcessSwitches.Now();
            var gcBefore = GC.CollectionCount(0);
            var pausedBefore = GC.GetTotalPauseDuration();
            load.Send(FormattableString.Invariant($"run {baseAddress.AbsoluteUri} {key ?? "-"} {clients} {(int)duration.TotalMilliseconds} {samples}"));
            var summary = await load.ReadLineAsync("phase result");
            if (settle is not null)
            {
                await settle();
            }

            self.Refresh();
            var cpu = self.TotalProcessorTime - cpuBefore;
            var allocated = GC.GetTotalAllocatedBytes(precise: false) - allocatedBefore;
            var switches = ProcessSwitches.Now();
            var collections = GC.CollectionCount(0) - gcBefore;
            var paused = GC.GetTotalPauseDuration() - pausedBefore;
            if (into is null)
            {
                return;
            }

            var fields = summary.Split(' ');
            var requests = long.Parse(fields[0], CultureInfo.InvariantCulture);
            var seconds = double.Parse(fields[3], CultureInfo.InvariantCulture);
            into.Requests += requests;
            into.Errors += long.Parse(fields[1], CultureInfo.InvariantCulture);
            into.WithLessons += long.Parse(fields[2], CultureInfo.InvariantCulture);
            into.Seconds += seconds;
            into.Cpu += cpu;
            into.Jit += JitWarmUp.CompilationTime - jitBefore;
            into.Allocated += allocated;
            into.VoluntarySwitches += switches.Voluntary - switchesBefore.Voluntary;
            into.InvoluntarySwitches += switches.Involuntary - switchesBefore.Involuntary;
            into.Collections += collections;
            into.GcPause += paused;
            into.PhaseThroughputs.Add(requests / seconds);
            var bytes = await File.ReadAllBytesAsync(samples);
            for (var i = 0; i + 4 <= bytes.Length; i += 4)
            {
                into.Latency.Add(BitConverter.ToInt32(bytes, i) * Stopwatch.Frequency / 1_000_000);
            }
        }
        finally
        {
            File.Delete(samples);
        }
    }

    /// <summary>A bare YARP reverse proxy: Kestrel, routing and <c>MapForwarder</c> to the same upstream, nothing else.</summary>
    private static async Task<WebApplication> StartBareYarpAsync(Uri upstream)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        app.MapForwarder("/v1/{**rest}", upstream.GetLeftPart(UriPartial.Authority));
        await app.StartAsync();
        return app;
    }

    private static string Address(WebApplication app)
        => app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/');

    /// <summary>Chat requests for simulated tickets, with the workplace's ten tools offered (what an agent sends); SSE answers asked for when <paramref name="stream"/>.</summary>
    public static byte[][] Bodies(int count, bool stream = false)
    {
        var workplace = new Workplace(7);
        var environment = workplace.CreateEnvironment(workplace.CreateTask(0));
        var tools = new JsonArray([.. environment.Tools.Select(t => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = t.Name, ["description"] = t.Description, ["parameters"] = JsonNode.Parse(t.JsonSchema.GetRawText()) },
        })]);
        return [.. Enumerable.Range(0, count).Select(i =>
        {
            var body = new JsonObject
            {
                ["model"] = "gpt-4o-mini",
                ["messages"] = new JsonArray(
                    new JsonObject { ["role"] = "system", ["content"] = "You are a customer-operations agent. Work the ticket with the tools you have." },
                    new JsonObject { ["role"] = "user", ["content"] = workplace.CreateTask(i).Text }),
                ["tools"] = tools.DeepClone(),
            };
            if (stream)
            {
                body["stream"] = true;
            }

            return Encoding.UTF8.GetBytes(body.ToJsonString());
        })];
    }

    /// <summary>
    /// Agent loops (<c>--agent-loop</c>): for each of <paramref name="count"/> tasks, the bodies of an episode's
    /// <see cref="CallsPerEpisode"/> calls as an agent sends them. Call k re-sends the system prompt, the task, and the k
    /// tool calls made so far with their results, so every call of an episode has the same latest user turn and a
    /// longer conversation than the one before.
    /// </summary>
    public static byte[][][] AgentLoopBodies(int count, bool stream = false)
    {
        var first = Bodies(count, stream);
        var workplace = new Workplace(7);
        var tools = workplace.CreateEnvironment(workplace.CreateTask(0)).Tools.Select(t => t.Name).ToArray();
        return [.. first.Select(bytes =>
        {
            var body = JsonNode.Parse(bytes)!.AsObject();
            var calls = new byte[CallsPerEpisode][];
            for (var k = 0; k < CallsPerEpisode; k++)
            {
                calls[k] = Encoding.UTF8.GetBytes(body.ToJsonString());
                var messages = body["messages"]!.AsArray();
                var id = FormattableString.Invariant($"call_{k}");
                messages.Add(new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = null,
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = id,
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = tools[k % tools.Length], ["arguments"] = FormattableString.Invariant($"{{\"order_id\":\"A-{1000 + k}\"}}") },
                    }),
                });
                messages.Add(new JsonObject { ["role"] = "tool", ["tool_call_id"] = id, ["content"] = FormattableString.Invariant($"{{\"status\":\"ok\",\"order_id\":\"A-{1000 + k}\",\"total\":{42 + k}.5}}") });
            }

            return calls;
        })];
    }

    /// <summary>The floor arm must forward what Lore forwards: the caller's body with the lessons' system message first.</summary>
    private static void CheckSplice(LessonIndex index)
    {
        var body = Bodies(1)[0];
        var spliced = JsonNode.Parse(LessonSplice.Apply(index, body))!.AsObject();
        var messages = spliced["messages"]!.AsArray();
        var original = JsonNode.Parse(body)!["messages"]!.AsArray();
        if (messages.Count != original.Count + 1 || (string?)messages[0]!["role"] != "system" || !JsonNode.DeepEquals(messages[1], original[0])
            || !((string?)messages[0]!["content"] ?? "").Contains("snapshot=", StringComparison.Ordinal))
        {
            var text = spliced.ToJsonString();
            throw new InvalidOperationException("The floor arm's splice did not put the lessons' system message in front of the caller's messages: " + text[..Math.Min(400, text.Length)]);
        }
    }

    private static string Ratio(double value, double baseline) => baseline <= 0 ? "-" : BenchReport.N(value / baseline, "F2") + "x";

    private static string Ms(double ticks) => BenchReport.N(ticks * 1000.0 / Stopwatch.Frequency, "F2") + " ms";

    private sealed class ArmResult
    {
        public Samples Latency { get; } = new(100_000);

        public List<double> PhaseThroughputs { get; } = [];

        public long Requests { get; set; }

        public long Errors { get; set; }

        public long WithLessons { get; set; }

        public double Seconds { get; set; }

        public TimeSpan Cpu { get; set; }

        /// <summary>Time the JIT spent compiling during the arm's measured phases (any method, on any thread): left-over warm-up.</summary>
        public TimeSpan Jit { get; set; }

        /// <summary>Bytes allocated by this process (both servers) during the arm's phases.</summary>
        public long Allocated { get; set; }

        /// <summary>Context switches of this process (both servers, every thread) during the arm's phases: blocked and woken, and pre-empted.</summary>
        public long VoluntarySwitches { get; set; }

        public long InvoluntarySwitches { get; set; }

        /// <summary>Garbage collections (any generation) during the arm's phases.</summary>
        public int Collections { get; set; }

        /// <summary>Time the garbage collector held the servers' threads paused during the arm's phases.</summary>
        public TimeSpan GcPause { get; set; }

        public double AllocatedPerRequest => (double)Allocated / Math.Max(1, Requests);

        public double Throughput => Requests / Math.Max(Seconds, 1e-9);

        public double CpuPerRequestMs => Cpu.TotalMilliseconds / Math.Max(1, Requests);

        public string ErrorNote => Errors == 0 ? "" : $" ({Errors} errors)";
    }
}
