using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using Lore.Simulation.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lore.Benchmarks.Serving;

/// <summary>
/// This bench binary started again as a helper process (the simulated upstream, the load generator), spoken to by
/// lines on its standard input and output, so that neither shares the measured process's CPU counters or thread pool.
/// </summary>
internal sealed class BenchChild : IDisposable
{
    private readonly Process _process;

    private BenchChild(Process process) => _process = process;

    public static Task<BenchChild> StartAsync(string[] arguments, nint? affinity)
    {
        var self = Environment.ProcessPath ?? throw new InvalidOperationException("the bench cannot find its own executable");
        var info = new ProcessStartInfo(self) { RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        if (Path.GetFileNameWithoutExtension(self) == "dotnet")
        {
            info.ArgumentList.Add(typeof(BenchChild).Assembly.Location);
        }

        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info) ?? throw new InvalidOperationException($"could not start the bench helper '{arguments[0]}'");
        if (affinity is { } mask && (OperatingSystem.IsLinux() || OperatingSystem.IsWindows()))
        {
            try
            {
                process.ProcessorAffinity = mask;
            }
            catch (Exception e) when (e is PlatformNotSupportedException or System.ComponentModel.Win32Exception)
            {
                Console.Error.WriteLine($"note: could not pin the bench helper '{arguments[0]}' to a core: {e.Message}");
            }
        }

        return Task.FromResult(new BenchChild(process));
    }

    public void Send(string line)
    {
        _process.StandardInput.WriteLine(line);
        _process.StandardInput.Flush();
    }

    public async Task<string> ReadLineAsync(string what)
    {
        var line = await _process.StandardOutput.ReadLineAsync();
        return line ?? throw new InvalidOperationException($"the bench helper exited before sending its {what} (exit code {(_process.HasExited ? _process.ExitCode : -1)})");
    }

    public void Dispose()
    {
        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill(entireProcessTree: true);
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    /// <summary>Runs a helper when the bench was started as one; null when it was not.</summary>
    public static async Task<int?> RunIfHelperAsync(string[] args)
    {
        switch (args.FirstOrDefault())
        {
            case "proxy-upstream":
                await ServeUpstreamAsync();
                return 0;
            case "proxy-load":
                await GenerateLoadAsync(stream: args.Contains("--stream"), agentLoop: args.Contains("--agent-loop"));
                return 0;
            default:
                return null;
        }
    }

    /// <summary>The simulated upstream on a Kestrel host of its own, until standard input closes.</summary>
    private static async Task ServeUpstreamAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapSimulatedUpstream("/v1");
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        Console.WriteLine(address.TrimEnd('/') + "/v1/");
        while (await Console.In.ReadLineAsync() is not null)
        {
        }

        await app.StopAsync();
        await app.DisposeAsync();
    }

    /// <summary>
    /// Closed-loop clients: for each <c>run URL KEY CLIENTS MS SAMPLES</c> line, CLIENTS clients send chat completions
    /// back to back for MS milliseconds (with a key: as episodes of four calls, the last one ending the episode), the
    /// latency of each 200 goes to SAMPLES (microseconds, 4 bytes each), and one line answers
    /// <c>requests errors with-lessons seconds</c>. With <paramref name="stream"/> every request asks for an SSE answer
    /// (the latency is then to the last byte of the stream).
    /// </summary>
    private static async Task GenerateLoadAsync(bool stream, bool agentLoop)
    {
        // Either independent calls (call c of client k sends body k + c), or agent loops (episode e of client k sends
        // task k + e, its conversation growing call by call).
        var single = ProxyBench.Bodies(64, stream);
        var loops = agentLoop ? ProxyBench.AgentLoopBodies(64, stream) : null;
        Func<int, int, int, byte[]> bodies = loops is null
            ? (client, episode, call) => single[(client + call) % single.Length]
            : (client, episode, call) => loops[(client + episode) % loops.Length][call % ProxyBench.CallsPerEpisode];
        using var http = new HttpMessageInvoker(new SocketsHttpHandler
        {
            MaxConnectionsPerServer = int.MaxValue,
            UseCookies = false,
            UseProxy = false,
            PooledConnectionLifetime = Timeout.InfiniteTimeSpan,
        });
        Console.WriteLine("ready");
        var run = 0;
        while (await Console.In.ReadLineAsync() is { } command)
        {
            var parts = command.Split(' ');
            if (parts.Length != 6 || parts[0] != "run")
            {
                await Console.Error.WriteLineAsync($"proxy-load: unknown command '{command}'");
                return;
            }

            var url = new Uri(new Uri(parts[1]), "chat/completions");
            var key = parts[2] == "-" ? null : parts[2];
            var clients = int.Parse(parts[3], CultureInfo.InvariantCulture);
            var duration = TimeSpan.FromMilliseconds(int.Parse(parts[4], CultureInfo.InvariantCulture));
            var (requests, errors, withLessons, seconds, latencies) = await PhaseAsync(http, url, key, bodies, clients, duration, run++);
            await using (var file = File.Create(parts[5]))
            {
                var buffer = new byte[4];
                foreach (var microseconds in latencies)
                {
                    BitConverter.TryWriteBytes(buffer, microseconds);
                    file.Write(buffer);
                }
            }

            Console.WriteLine(FormattableString.Invariant($"{requests} {errors} {withLessons} {seconds:F4}"));
        }
    }

    private static async Task<(long Requests, long Errors, long WithLessons, double Seconds, List<int> Latencies)> PhaseAsync(
        HttpMessageInvoker http, Uri url, string? key, Func<int, int, int, byte[]> bodies, int clients, TimeSpan duration, int run)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(duration.TotalSeconds * Stopwatch.Frequency);
        var started = Stopwatch.GetTimestamp();
        var results = await Task.WhenAll(Enumerable.Range(0, clients).Select(client => Task.Run(async () =>
        {
            var latencies = new List<int>(4096);
            long errors = 0, withLessons = 0;
            var episode = 0;
            var call = 0;
            while (Stopwatch.GetTimestamp() < deadline)
            {
                using var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(bodies(client, episode, call)) };
                request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
                if (key is not null)
                {
                    request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
                    request.Headers.Add("X-Lore-Episode", FormattableString.Invariant($"bench-{Environment.ProcessId}-{run}-{client}-{episode}"));
                    if (call % ProxyBench.CallsPerEpisode == ProxyBench.CallsPerEpisode - 1)
                    {
                        request.Headers.Add("X-Lore-End", "true");
                    }
                }

                var begin = Stopwatch.GetTimestamp();
                try
                {
                    using var response = await http.SendAsync(request, CancellationToken.None);
                    await response.Content.LoadIntoBufferAsync();
                    var elapsed = Stopwatch.GetElapsedTime(begin);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        latencies.Add((int)Math.Min(int.MaxValue, elapsed.Ticks / 10));
                        if (response.Headers.TryGetValues("X-Lore-Lessons", out var lessons) && lessons.First().Length > 0)
                        {
                            withLessons++;
                        }
                    }
                    else
                    {
                        errors++;
                    }
                }
                catch (HttpRequestException)
                {
                    errors++;
                }

                call++;
                if (call % ProxyBench.CallsPerEpisode == 0)
                {
                    episode++;
                }
            }

            return (latencies, errors, withLessons);
        })));
        var seconds = Stopwatch.GetElapsedTime(started).TotalSeconds;
        var all = new List<int>(results.Sum(r => r.latencies.Count));
        foreach (var r in results)
        {
            all.AddRange(r.latencies);
        }

        return (all.Count, results.Sum(r => r.errors), results.Sum(r => r.withLessons), seconds, all);
    }
}

/// <summary>Command-line options of the bench sections (<c>--clients 1,16,64 --seconds 5 --rounds 4</c>).</summary>
internal static class BenchOptions
{
    public static int? Int(string name) => Ints(name) is [var one] ? one : null;

    /// <summary>The value after <paramref name="name"/>, or null when the option is absent.</summary>
    public static string? Text(string name)
    {
        var args = Environment.GetCommandLineArgs();
        var at = Array.IndexOf(args, name);
        return at < 0 || at + 1 >= args.Length ? null : args[at + 1];
    }

    /// <summary>A comma-separated list of names, each one of <paramref name="known"/>; null when the option is absent.</summary>
    public static HashSet<string>? Names(string name, IReadOnlyCollection<string> known)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        var names = text.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (names.Length == 0 || names.FirstOrDefault(n => !known.Contains(n)) is { } unknown)
        {
            throw new ArgumentException($"{name} takes names separated by commas, each one of {string.Join(", ", known)}; '{text}' is not.");
        }

        return [.. names];
    }

    public static int[]? Ints(string name)
    {
        if (Text(name) is not { } text)
        {
            return null;
        }

        var values = text.Split(',');
        var parsed = new int[values.Length];
        for (var i = 0; i < values.Length; i++)
        {
            if (!int.TryParse(values[i], CultureInfo.InvariantCulture, out parsed[i]) || parsed[i] <= 0)
            {
                throw new ArgumentException($"{name} takes positive whole numbers separated by commas; '{text}' is not.");
            }
        }

        return parsed;
    }
}
