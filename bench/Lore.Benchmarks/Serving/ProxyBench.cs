using System.Diagnostics;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
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
/// The proxy's overhead under load: N concurrent clients (default 200) send chat completions for a bounded time, first
/// straight to the upstream, then through <c>lore serve</c>'s proxy (API-key auth, lesson retrieval from a 1,000-lesson
/// snapshot, injection, forwarding, capture to SQLite), alternating twice so drift hits both arms alike. The upstream is
/// the simulated workplace's agent over the OpenAI protocol on its own Kestrel host; everything runs on loopback in
/// this process. Reports throughput and per-request latency p50/p99 of each arm and the latency the proxy adds.
/// </summary>
internal static class ProxyBench
{
    private const int LessonCount = 1_000;
    private const int CallsPerEpisode = 4;

    public static async Task RunAsync(BenchReport report, bool quick, int? concurrency = null, double? seconds = null)
    {
        var clients = concurrency ?? Option("--clients") ?? (quick ? 50 : 200);
        var phase = TimeSpan.FromSeconds(seconds ?? Option("--seconds") ?? (quick ? 3 : 20));
        var warmup = TimeSpan.FromSeconds(quick ? 1 : 3);
        // --min-threads N: SQLite's synchronous writes (capture, fsync) block pool threads; on 2 cores the pool's
        // default minimum (one per core) then starves request handling until it injects threads.
        if (Option("--min-threads") is { } minThreads)
        {
            ThreadPool.SetMinThreads(minThreads, minThreads);
        }

        report.Section($"OpenAI-compatible proxy: {clients} concurrent clients, {phase.TotalSeconds:F0} s per phase, twice per arm (simulated upstream on loopback)");

        await using var upstream = await SimulatedUpstreamHost.StartAsync();
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

            var options = new LoreServerOptions
            {
                Store = store,
                Urls = "http://127.0.0.1:0",
                UpstreamBaseUrl = upstream.BaseAddress,
                RequestsPerMinutePerKey = int.MaxValue,
            };
            options.ConfigureRuntime = o => o.Capture.OverflowPolicy = CaptureOverflowPolicy.Wait;
            var app = LoreServer.Build(options, ["--Logging:LogLevel:Default=Warning"]);
            await app.StartAsync();
            try
            {
                var proxy = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First().TrimEnd('/') + "/v1/");
                var bodies = Bodies(64);
                using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = int.MaxValue, UseCookies = false, PooledConnectionLifetime = Timeout.InfiniteTimeSpan })
                {
                    Timeout = TimeSpan.FromSeconds(30),
                };

                await DriveAsync(http, upstream.BaseAddress, null, bodies, clients, warmup);
                await DriveAsync(http, proxy, presented, bodies, clients, warmup);
                var direct = new Phase();
                var proxied = new Phase();
                for (var round = 0; round < 2; round++)
                {
                    direct.Add(await DriveAsync(http, upstream.BaseAddress, null, bodies, clients, phase));
                    proxied.Add(await DriveAsync(http, proxy, presented, bodies, clients, phase));
                }

                var runtime = await app.Services.GetRequiredService<Lore.Server.Hosting.TenantRuntimes>().GetAsync("bench");
                await runtime.FlushAsync();
                var capture = runtime.CaptureStatistics;

                report.Line("| arm | requests | errors | throughput | p50 | p99 | p99.9 |");
                report.Line("|---|---|---|---|---|---|---|");
                report.Line(Row("direct to upstream", direct));
                report.Line(Row("through the proxy", proxied));
                report.Line($"| **added by the proxy** | | | | **{Ms(proxied.Latency.Percentile(50) - direct.Latency.Percentile(50))}** | **{Ms(proxied.Latency.Percentile(99) - direct.Latency.Percentile(99))}** | {Ms(proxied.Latency.Percentile(99.9) - direct.Latency.Percentile(99.9))} |");
                report.Line($"proxied calls with lessons injected: {BenchReport.N(100.0 * proxied.WithLessons / Math.Max(1, proxied.Requests), "F0")}%; episodes of {CallsPerEpisode} calls; capture: {capture.Written} records written, {capture.Dropped} dropped, {capture.Failed} failed; target: added p99 < 2 ms at 200 concurrent");
            }
            finally
            {
                await app.StopAsync();
                await app.DisposeAsync();
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

    /// <summary><c>proxy --clients N --seconds S --min-threads T</c> override the defaults.</summary>
    private static int? Option(string name)
    {
        var args = Environment.GetCommandLineArgs();
        var at = Array.IndexOf(args, name);
        return at >= 0 && at + 1 < args.Length && int.TryParse(args[at + 1], System.Globalization.CultureInfo.InvariantCulture, out var value) && value > 0 ? value : null;
    }

    /// <summary>N clients sending back to back until the time is up; each client works episodes of four calls.</summary>
    private static async Task<Phase> DriveAsync(HttpClient http, Uri baseAddress, string? key, byte[][] bodies, int clients, TimeSpan duration)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var phase = new Phase();
            var run = Guid.NewGuid().ToString("n");
            var url = new Uri(baseAddress, "chat/completions");
            var episode = 0;
            var call = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bodies[(client + call) % bodies.Length]) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (key is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    request.Headers.Add("X-Lore-Episode", $"bench-{run}-{episode}");
                    if (call % CallsPerEpisode == CallsPerEpisode - 1)
                    {
                        request.Headers.Add("X-Lore-End", "true");
                    }
                }

                var begin = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request, HttpCompletionOption.ResponseContentRead);
                    var elapsed = Stopwatch.GetTimestamp() - begin;
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        phase.Ticks.Add(elapsed);
                        phase.Requests++;
                        if (response.Headers.TryGetValues("X-Lore-Lessons", out var lessons) && lessons.First().Length > 0)
                        {
                            phase.WithLessons++;
                        }
                    }
                    else
                    {
                        phase.Errors++;
                    }
                }
                catch (HttpRequestException)
                {
                    phase.Errors++;
                }

                call++;
                if (call % CallsPerEpisode == 0)
                {
                    episode++;
                }
            }

            return phase;
        })));
        var merged = new Phase();
        foreach (var result in results)
        {
            merged.Add(result);
        }

        merged.Seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        return merged;
    }

    /// <summary>Chat requests for simulated tickets, with the workplace's ten tools offered (what an agent sends).</summary>
    private static byte[][] Bodies(int count)
    {
        var workplace = new Workplace(7);
        var environment = workplace.CreateEnvironment(workplace.CreateTask(0));
        var tools = new JsonArray([.. environment.Tools.Select(t => (JsonNode)new JsonObject
        {
            ["type"] = "function",
            ["function"] = new JsonObject { ["name"] = t.Name, ["description"] = t.Description, ["parameters"] = JsonNode.Parse(t.JsonSchema.GetRawText()) },
        })]);
        return [.. Enumerable.Range(0, count).Select(i => Encoding.UTF8.GetBytes(new JsonObject
        {
            ["model"] = "gpt-4o-mini",
            ["messages"] = new JsonArray(
                new JsonObject { ["role"] = "system", ["content"] = "You are a customer-operations agent. Work the ticket with the tools you have." },
                new JsonObject { ["role"] = "user", ["content"] = workplace.CreateTask(i).Text }),
            ["tools"] = tools.DeepClone(),
        }.ToJsonString()))];
    }

    private static string Row(string arm, Phase phase)
        => $"| {arm} | {phase.Requests} | {phase.Errors} | {BenchReport.N(phase.Requests / phase.Seconds)} req/s | {Ms(phase.Latency.Percentile(50))} | {Ms(phase.Latency.Percentile(99))} | {Ms(phase.Latency.Percentile(99.9))} |";

    private static string Ms(double ticks) => BenchReport.N(ticks * 1000.0 / Stopwatch.Frequency, "F2") + " ms";

    private sealed class Phase
    {
        public List<long> Ticks { get; } = new(100_000);

        public Samples Latency
        {
            get
            {
                var samples = new Samples(Ticks.Count);
                foreach (var t in Ticks)
                {
                    samples.Add(t);
                }

                return samples;
            }
        }

        public long Requests { get; set; }

        public long Errors { get; set; }

        public long WithLessons { get; set; }

        public double Seconds { get; set; }

        public void Add(Phase other)
        {
            Ticks.AddRange(other.Ticks);
            Requests += other.Requests;
            Errors += other.Errors;
            WithLessons += other.WithLessons;
            Seconds += other.Seconds;
        }
    }

    /// <summary>The simulated upstream on a Kestrel host of its own, as a separate model endpoint would be.</summary>
    private sealed class SimulatedUpstreamHost : IAsyncDisposable
    {
        private readonly WebApplication _app;

        private SimulatedUpstreamHost(WebApplication app, Uri baseAddress)
        {
            _app = app;
            BaseAddress = baseAddress;
        }

        public Uri BaseAddress { get; }

        public static async Task<SimulatedUpstreamHost> StartAsync()
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            app.MapSimulatedUpstream("/v1");
            await app.StartAsync();
            var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
            return new SimulatedUpstreamHost(app, new Uri(address.TrimEnd('/') + "/v1/"));
        }

        public async ValueTask DisposeAsync()
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
