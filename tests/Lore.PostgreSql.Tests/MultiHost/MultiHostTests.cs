using System.Text.Json;
using Npgsql;

namespace Lore.PostgreSql.Tests.MultiHost;

/// <summary>
/// Many hosts, one state, as separate processes on one throwaway PostgreSQL: agent hosts (the probe: a LoreRuntime
/// serving the simulated workplace agent) record episodes, learning workers (the lore CLI's
/// <c>lore worker --json</c>) learn from them, and a rollout change made on one host is served by every host. Every wait is on a line a process
/// prints; nothing sleeps.
/// </summary>
public sealed class MultiHostTests : IAsyncLifetime
{
    private const string Probe = "Lore.MultiHost.Probe.dll";
    private const string Cli = "Lore.Cli.dll";

    private readonly List<ChildProcess> _processes = [];
    private string _database = "";

    private static readonly System.Diagnostics.Stopwatch Clock = System.Diagnostics.Stopwatch.StartNew();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Notes a phase of the test with the time since the test run started, for reading a slow or failed run.</summary>
    private static void Phase(string what) => TestContext.Current.TestOutputHelper?.WriteLine($"{Clock.Elapsed.TotalSeconds,7:F2} s  {what}");

    // A database of its own, dropped after: processes are killed mid-write here, which a reused database need not survive.
    public async ValueTask InitializeAsync() => _database = await TestDatabases.CreateEmptyAsync();

    public async ValueTask DisposeAsync()
    {
        foreach (var process in _processes)
        {
            await process.DisposeAsync();
        }

        await TestDatabases.DropAsync(_database);
    }

    /// <summary>The test database's connection string, naming the process to PostgreSQL (so a test can cut its connections).</summary>
    private string Store(string applicationName) => new NpgsqlConnectionStringBuilder(_database) { ApplicationName = applicationName }.ConnectionString;

    private Task<ChildProcess> HostAsync(string name, int refreshMilliseconds = 5000)
        => ReadyAsync(ChildProcess.Start(name, Probe, "host", "--store", Store($"lore-{name}"), "--name", name, "--refresh-ms", refreshMilliseconds.ToString(System.Globalization.CultureInfo.InvariantCulture)), "ready ");

    /// <summary>Tracks a started process and waits for the line that says it is up.</summary>
    private async Task<ChildProcess> ReadyAsync(ChildProcess process, string readyPrefix)
    {
        _processes.Add(process);
        await process.WaitForLineAsync(l => l.StartsWith(readyPrefix, StringComparison.Ordinal), what: readyPrefix.Trim());
        return process;
    }

    // Leases outlast any pass on a loaded machine (a pass closer than its safety margin to expiry abandons its batch);
    // the tests that need leases to expire ask for short ones.
    private Task<ChildProcess> WorkerAsync(string name, int batch = 10, int leaseSeconds = 900)
        => ReadyAsync(ChildProcess.Start(name, Cli, "worker", "--store", Store($"lore-{name}"), "--name", name, "--json", "--idle", "0.2",
            "--batch", batch.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--lease", leaseSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture)), "{\"event\":\"started\"");

    /// <summary>Runs episodes on a host and returns the ids it acknowledged (made durable).</summary>
    private static async Task<(List<string> Recorded, int Ran, int Failed)> RunAsync(ChildProcess host, int episodes, int seed, Func<Task>? midway = null)
    {
        var start = host.Lines.Count;
        await host.SendAsync($"run {episodes} {seed}");
        if (midway is not null)
        {
            await host.WaitForLineAsync(l => l == $"progress {episodes / 3}", start, $"progress {episodes / 3}");
            await midway();
        }

        var (end, ran) = await host.WaitForLineAsync(l => l.StartsWith("ran ", StringComparison.Ordinal), start, "ran");
        var recorded = host.Lines.Skip(start).Take(end - start).Where(l => l.StartsWith("recorded ", StringComparison.Ordinal)).Select(l => l["recorded ".Length..]).ToList();
        var parts = ran.Split(' ');
        return (recorded, int.Parse(parts[1], System.Globalization.CultureInfo.InvariantCulture), int.Parse(parts[2], System.Globalization.CultureInfo.InvariantCulture));
    }

    private sealed record Pass(string Worker, string Outcome, IReadOnlyList<string> Learned, IReadOnlyDictionary<string, int> Attempts);

    private static List<Pass> Passes(params ChildProcess[] workers)
        => [.. workers.SelectMany(w => w.Lines.Where(l => l.Contains("\"event\":\"pass\"", StringComparison.Ordinal)).Select(l =>
        {
            using var json = JsonDocument.Parse(l);
            var root = json.RootElement;
            return new Pass(
                root.GetProperty("worker").GetString()!,
                root.GetProperty("outcome").GetString()!,
                [.. root.GetProperty("learned").EnumerateArray().Select(e => e.GetString()!)],
                root.GetProperty("attempts").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetInt32()));
        }))];

    /// <summary>Waits until the workers have learned from every one of <paramref name="ids"/> (others may be learned too).</summary>
    private static async Task WaitForLearnedAsync(IReadOnlyCollection<string> ids, params ChildProcess[] workers)
    {
        while (true)
        {
            var learned = Passes(workers).SelectMany(p => p.Learned).ToHashSet(StringComparer.Ordinal);
            var missing = ids.Count(id => !learned.Contains(id));
            if (missing == 0)
            {
                return;
            }

            var next = workers.Select(w => (Worker: w, From: w.Lines.Count)).ToArray();
            await Task.WhenAny(next.Select(n => n.Worker.WaitForLineAsync(_ => true, n.From, $"a pass ({missing} of {ids.Count} episodes still to learn)")));
        }
    }

    /// <summary>Waits until the workers together have learned from <paramref name="expected"/> episodes.</summary>
    private static async Task WaitForLearnedAsync(int expected, params ChildProcess[] workers)
    {
        while (true)
        {
            var learned = Passes(workers).SelectMany(p => p.Learned).Count();
            if (learned >= expected)
            {
                return;
            }

            // Whichever worker prints next may have learned more.
            var next = workers.Select(w => (Worker: w, From: w.Lines.Count)).ToArray();
            await Task.WhenAny(next.Select(n => n.Worker.WaitForLineAsync(_ => true, n.From, $"a pass ({learned} of {expected} episodes learned so far)")));
        }
    }

    /// <summary>
    /// Two snapshots of one lesson each, stored before any host starts; the first is made active. A rollback target is
    /// whichever of them is not active when the test acts, so a change always happens whatever learning published.
    /// </summary>
    private async Task<(string Active, string Spare)> SeedSnapshotsAsync()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        Snapshot Make(string id, string text, string? parent) => Snapshot.Create(parent, Tenants.Default, [new Lesson
        {
            Id = id,
            Kind = LessonKind.Guideline,
            Text = text,
            Trigger = LessonTrigger.OnDescription("refund an order for a customer"),
            Scope = new LessonScope { Tenant = Tenants.Default },
            Extractor = new ExtractorInfo("seed", "1"),
            Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
            Confidence = 0.9,
            CreatedAt = DateTimeOffset.UtcNow,
        }], new RetrievalSettings(), "test", "seed", DateTimeOffset.UtcNow);
        var active = Make("les-seed-lookup", "Look up the order with lookup_order before issuing any refund.", null);
        var spare = Make("les-seed-confirm", "Confirm the refund amount with the customer before issuing it.", active.Id);
        await store.SaveSnapshotAsync(active, Ct);
        await store.SaveSnapshotAsync(spare, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, active.Id, Ct);
        return (active.Id, spare.Id);
    }

    private async Task<string> NotActiveAsync((string Active, string Spare) seeds)
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        return await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct) == seeds.Active ? seeds.Spare : seeds.Active;
    }

    private async Task AssertStoredAsync(IEnumerable<string> episodeIds)
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        foreach (var id in episodeIds)
        {
            var episode = await store.GetEpisodeAsync(id, Ct);
            Assert.True(episode is { EndedAt: not null, Steps.Count: > 0, Outcomes.Count: > 0 }, $"acknowledged episode {id} is {(episode is null ? "missing" : "incomplete")} in the store");
        }
    }

    private async Task AssertNothingLeftToLeaseAsync()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        Assert.Empty(await store.LeaseEpisodesAsync(Tenants.Default, "test-check", 1000, TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Two_hosts_and_two_workers_learn_from_every_episode_once_and_a_rollback_on_one_host_is_served_by_both()
    {
        var seeds = await SeedSnapshotsAsync();
        Phase("seeded");
        var hosts = await Task.WhenAll(HostAsync("host-1"), HostAsync("host-2"));
        var workers = await Task.WhenAll(WorkerAsync("worker-1"), WorkerAsync("worker-2"));
        Phase("hosts and workers started");

        var runs = await Task.WhenAll(RunAsync(hosts[0], 25, seed: 1), RunAsync(hosts[1], 25, seed: 2));
        var recorded = runs.SelectMany(r => r.Recorded).ToList();
        Phase("episodes recorded");
        Assert.All(runs, r => Assert.Equal((25, 0, 25), (r.Ran, r.Failed, r.Recorded.Count)));
        await WaitForLearnedAsync(recorded.Count, workers);
        Phase("episodes learned");

        var passes = Passes(workers);
        var learned = passes.SelectMany(p => p.Learned).ToList();
        Assert.Equal(recorded.Order(StringComparer.Ordinal), learned.Order(StringComparer.Ordinal)); // every episode, none twice
        Assert.All(passes, p => Assert.Equal("completed", p.Outcome));
        await AssertStoredAsync(recorded);
        await AssertNothingLeftToLeaseAsync();

        // Roll back on host 1 (to the seed, or to the spare if learning published nothing) and watch both hosts serve it.
        var seed = await NotActiveAsync(seeds);
        var from = hosts.Select(h => h.Lines.Count).ToArray();
        await hosts[0].SendAsync($"rollback {seed}");
        var (_, changed) = await hosts[0].WaitForLineAsync(l => l.StartsWith($"changed {seed} ", StringComparison.Ordinal), from[0], "changed");
        var served = await Task.WhenAll(hosts.Select((h, i) => h.WaitForLineAsync(l => l.StartsWith($"serving {seed} ", StringComparison.Ordinal), from[i], $"serving {seed}")));

        Phase("rollback served");
        var committed = ChildProcess.StampOf(changed);
        var delays = served.Select(s => ChildProcess.StampOf(s.Line) - committed).ToArray();
        Phase($"rollback served by host-1 {delays[0].TotalMilliseconds:F1} ms and host-2 {delays[1].TotalMilliseconds:F1} ms after it committed on host-1");
        Assert.All(hosts, h => Assert.False(h.HasExited));
    }

    [Fact]
    public async Task A_killed_workers_leases_expire_and_the_other_worker_learns_from_those_episodes()
    {
        var host = await HostAsync("host-1");
        var (recorded, _, failed) = await RunAsync(host, 30, seed: 3);
        Assert.Equal((0, 30), (failed, recorded.Count));

        var crashing = ChildProcess.Start("crashing-worker", Probe, "crash-worker", "--store", Store("lore-crashing"), "--batch", "10", "--lease", "2");
        _processes.Add(crashing);
        var (_, leasedLine) = await crashing.WaitForLineAsync(l => l.StartsWith("leased ", StringComparison.Ordinal), what: "leased");
        var orphaned = leasedLine["leased ".Length..].Split(',');
        Assert.Equal(10, orphaned.Length);
        crashing.Kill();

        var survivor = await WorkerAsync("survivor");
        await WaitForLearnedAsync(30, survivor);

        var passes = Passes(survivor);
        var learned = passes.SelectMany(p => p.Learned).ToList();
        Assert.Equal(recorded.Order(StringComparer.Ordinal), learned.Order(StringComparer.Ordinal));
        var attempts = passes.SelectMany(p => p.Attempts).ToDictionary(a => a.Key, a => a.Value);
        Assert.All(orphaned, id => Assert.Equal(2, attempts[id])); // the dead worker's grant, then the survivor's
        Assert.All(recorded.Except(orphaned), id => Assert.Equal(1, attempts[id]));
        await AssertNothingLeftToLeaseAsync();
    }

    [Fact]
    public async Task Connections_cut_mid_batch_lose_no_acknowledged_episode_and_the_change_feed_recovers()
    {
        var seeds = await SeedSnapshotsAsync();
        // No polling on the host: only the change feed can bring it changes. A short lease on the worker: a pass the cut
        // breaks leaves its batch leased, to be retried when the lease expires.
        var started = await Task.WhenAll(HostAsync("host-1", refreshMilliseconds: 0), WorkerAsync("worker-1", leaseSeconds: 4));
        var (host, worker) = (started[0], started[1]);
        var server = await TestDatabases.ServerAsync();

        // Only this test's database: other tests run beside this one on the same server, some with 'lore-' names too.
        var database = new NpgsqlConnectionStringBuilder(_database).Database!;
        var (recorded, ran, failed) = await RunAsync(host, 30, seed: 4, midway: () => server.ExecuteAdminAsync(
            $"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name LIKE 'lore-%' AND datname = '{database}' AND pid <> pg_backend_pid();", Ct));

        Assert.Equal(30, ran);
        Assert.Equal(failed == 0 ? 30 : 0, recorded.Count); // a run is acknowledged only when every capture batch was written
        Assert.True(failed == 0, $"{failed} capture records failed after the cut despite the retry");
        await AssertStoredAsync(recorded);

        // An episode cut off mid-way is still ended and stored (not acknowledged): the workers learn from everything stored, once.
        // Wait for the ids, not a count: a cut-off episode can end after this read and be learned before an acknowledged one
        // whose batch sits in a lease the cut orphaned (learned only once that lease expires).
        var stored = new List<string>();
        await using (var check = await PostgresLoreStore.OpenAsync(_database, Ct))
        {
            await foreach (var episode in check.ReadEpisodesAsync(new EpisodeQuery { EndedOnly = true, WithoutSteps = true }, Ct))
            {
                stored.Add(episode.Id);
            }
        }

        await WaitForLearnedAsync(stored, worker);
        var learned = Passes(worker).SelectMany(p => p.Learned).ToList();
        Assert.Equal(learned.Count, learned.Distinct(StringComparer.Ordinal).Count());
        var notLearned = recorded.Except(learned, StringComparer.Ordinal).ToList();
        Assert.True(notLearned.Count == 0, $"acknowledged episodes never learned: {string.Join(", ", notLearned)} (in the ended list read: {string.Join(", ", notLearned.Select(stored.Contains))}; learned {learned.Count}, stored {stored.Count})");
        await AssertNothingLeftToLeaseAsync();

        // The host's LISTEN connection was cut too: a change made elsewhere must still reach it, through the reconnected feed.
        var target = await NotActiveAsync(seeds);
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        var from = host.Lines.Count;
        await new RolloutController(store, Tenants.Default).RollbackAsync("test", "after the cut", target, Ct);
        await host.WaitForLineAsync(l => l.StartsWith($"serving {target} ", StringComparison.Ordinal), from, $"serving {target}");
    }
}
