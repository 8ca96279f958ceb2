using System.Diagnostics;
using System.Globalization;
using Lore;
using Lore.MultiHost.Probe;
using Lore.PostgreSql;
using Lore.Simulation;
using Lore.Sqlite;

// One process of the multi-host tests and benchmark, driven through stdin and observed through stdout, one line per
// event, each stamped with the wall clock in UTC ticks (processes on one machine share it):
//
//   host --store S [--tenant T] [--name N] [--refresh-ms MS] [--no-listen]
//       an agent host: a LoreRuntime serving the simulated workplace agent. Prints "ready NAME STABLE TICKS", then
//       "serving STABLE CANDIDATE TICKS" whenever it starts serving another rollout (from its own change or another
//       host's). Commands on stdin: "run N SEED" (N simulated episodes: "progress K" after each, then "recorded ID"
//       per episode made durable and "ran N FAILED"), "rollback SNAPSHOT" / "activate SNAPSHOT" (prints
//       "changed STABLE TICKS" once committed), "quit".
//   crash-worker --store S [--tenant T] [--batch N] [--lease SECONDS]
//       a learning worker that dies mid-pass: leases a batch, prints "leased ID,ID,...", then hangs until killed.
try
{
    return args.FirstOrDefault() switch
    {
        "host" => await AgentHost.RunAsync(ProbeArguments.Parse(args[1..])),
        "crash-worker" => await CrashWorkerAsync(ProbeArguments.Parse(args[1..])),
        _ => Fail("usage: host|crash-worker --store S [options]"),
    };
}
catch (Exception ex)
{
    return Fail($"{ex.GetType().Name}: {ex.Message}");
}

static int Fail(string message)
{
    Console.Error.WriteLine($"probe: error: {message}");
    return 2;
}

static async Task<int> CrashWorkerAsync(ProbeArguments arguments)
{
    await using var store = await ProbeStore.OpenAsync(arguments.Store);
    var leases = await store.LeaseEpisodesAsync(arguments.Tenant, $"crash-{Environment.ProcessId}", arguments.Batch, TimeSpan.FromSeconds(arguments.LeaseSeconds));
    ProbeOutput.Line($"leased {string.Join(',', leases.Select(l => l.EpisodeId))}");
    await Console.In.ReadToEndAsync(); // hangs until the test kills the process (stdin stays open)
    return 3;
}

namespace Lore.MultiHost.Probe
{
    internal sealed record ProbeArguments(string Store, string Tenant, string Name, int RefreshMilliseconds, bool Listen, int Batch, double LeaseSeconds)
    {
        public static ProbeArguments Parse(string[] args)
        {
            var values = new Dictionary<string, string>(StringComparer.Ordinal);
            var flags = new HashSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < args.Length; i++)
            {
                if (args[i] == "--no-listen")
                {
                    flags.Add(args[i]);
                }
                else if (args[i].StartsWith("--", StringComparison.Ordinal) && i + 1 < args.Length)
                {
                    values[args[i]] = args[++i];
                }
                else
                {
                    throw new ArgumentException($"unexpected argument '{args[i]}'");
                }
            }

            return new ProbeArguments(
                values.GetValueOrDefault("--store") ?? throw new ArgumentException("--store is required"),
                values.GetValueOrDefault("--tenant") ?? Tenants.Default,
                values.GetValueOrDefault("--name") ?? $"host-{Environment.ProcessId}",
                int.Parse(values.GetValueOrDefault("--refresh-ms") ?? "5000", CultureInfo.InvariantCulture),
                !flags.Contains("--no-listen"),
                int.Parse(values.GetValueOrDefault("--batch") ?? "20", CultureInfo.InvariantCulture),
                double.Parse(values.GetValueOrDefault("--lease") ?? "3", CultureInfo.InvariantCulture));
        }
    }

    internal static class ProbeStore
    {
        public static async Task<ILoreStore> OpenAsync(string store)
            => store.StartsWith("postgres", StringComparison.OrdinalIgnoreCase) || store.Contains("Host=", StringComparison.OrdinalIgnoreCase)
                ? await PostgresLoreStore.OpenAsync(store)
                : await SqliteLoreStore.OpenAsync(store);
    }

    internal static class ProbeOutput
    {
        private static readonly Lock Gate = new();

        public static string Now => DateTime.UtcNow.Ticks.ToString(CultureInfo.InvariantCulture);

        public static void Line(string text)
        {
            lock (Gate)
            {
                Console.Out.WriteLine(text);
                Console.Out.Flush();
            }
        }
    }

    /// <summary>An agent host: a runtime over the shared store, serving the simulated workplace, driven by stdin.</summary>
    internal static class AgentHost
    {
        public static async Task<int> RunAsync(ProbeArguments arguments)
        {
            var store = await ProbeStore.OpenAsync(arguments.Store);
            var options = new LoreOptions
            {
                Store = store,
                Tenant = arguments.Tenant,
                RefreshInterval = TimeSpan.FromMilliseconds(arguments.RefreshMilliseconds),
                ListenForChanges = arguments.Listen,
                LoggerFactory = new ServingLines(),
            };
            await using var runtime = await LoreRuntime.OpenAsync(options);
            ProbeOutput.Line($"ready {arguments.Name} {runtime.Rollout.State.StableSnapshotId ?? "-"} {ProbeOutput.Now}");
            while (await Console.In.ReadLineAsync() is { } command)
            {
                var parts = command.Split(' ', StringSplitOptions.RemoveEmptyEntries);
                switch (parts.FirstOrDefault())
                {
                    case "run":
                        await RunEpisodesAsync(runtime, int.Parse(parts[1], CultureInfo.InvariantCulture), int.Parse(parts[2], CultureInfo.InvariantCulture));
                        break;
                    case "rollback":
                        var rolledBack = await runtime.Rollout.RollbackAsync($"probe:{arguments.Name}", "multi-host test", parts[1]);
                        ProbeOutput.Line($"changed {rolledBack.After.StableSnapshotId} {ProbeOutput.Now}");
                        break;
                    case "activate":
                        var activated = await runtime.Rollout.ActivateAsync(parts[1], $"probe:{arguments.Name}", "multi-host test");
                        ProbeOutput.Line($"changed {activated.After.StableSnapshotId} {ProbeOutput.Now}");
                        break;
                    case "quit":
                        return 0;
                    default:
                        ProbeOutput.Line($"unknown {command}");
                        break;
                }
            }

            return 0;
        }

        private static async Task RunEpisodesAsync(LoreRuntime runtime, int episodes, int seed)
        {
            var failedBefore = runtime.CaptureStatistics.Failed;
            var ids = new List<string>(episodes);
            for (var i = 0; i < episodes; i++)
            {
                // One simulated episode per run, so that a store error (a cut connection) costs one episode, which is
                // tried again, not the whole batch. The seed varies per episode so the tickets differ.
                for (var attempt = 1; ; attempt++)
                {
                    try
                    {
                        var simulation = new WorkplaceSimulation(new SimulationOptions { Seed = (seed * 10_007) + i, Episodes = 1, LearnEvery = 0, WindowSize = 1 });
                        var report = await simulation.RunAsync(runtime);
                        ids.Add(report.Episodes[0].EpisodeId);
                        break;
                    }
                    catch (Exception ex) when (attempt < 3 && ex is Npgsql.NpgsqlException or IOException or InvalidOperationException)
                    {
                        Console.Error.WriteLine($"episode {i} attempt {attempt} failed: {ex.GetType().Name}: {ex.Message}");
                    }
                }

                ProbeOutput.Line($"progress {i + 1}");
            }

            await runtime.FlushAsync();
            var failed = runtime.CaptureStatistics.Failed - failedBefore;

            // Only a run whose every capture batch was written is acknowledged, episode by episode.
            if (failed == 0)
            {
                foreach (var id in ids)
                {
                    ProbeOutput.Line($"recorded {id}");
                }
            }

            ProbeOutput.Line($"ran {ids.Count} {failed}");
        }
    }
}
