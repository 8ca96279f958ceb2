using System.Collections.Concurrent;
using Lore.Sqlite;
using Lore.Testing;

namespace Lore.Learning.Tests.Workers;

/// <summary>
/// Learning workers on one store: each ended episode is learned from exactly once however many workers lease at once
/// (two store instances on one SQLite file stand for two processes), a crashed worker's episodes are retried, and
/// evidence learned in parallel batches adds up to what one pass over everything learns.
/// </summary>
public sealed class LearningWorkerTests : IDisposable
{
    private static readonly DateTimeOffset Start = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Refunds where skipping lookup_order makes refund_order fail; seeded, so every run sees the same episodes.</summary>
    private static List<Episode> Refunds(int count, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(i =>
        {
            var builder = new EpisodeBuilder($"ep-{i:D5}").Unit($"customer-{i % 17}").StartedAt(Start.AddMinutes(i)).Label("slice", "refunds");
            if (random.NextDouble() < 0.5)
            {
                builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}");
                return builder.Succeeded().Build();
            }

            builder.Tool("refund_order", $$"""{"order":{{i}}}""", $"Error: order {i} must be looked up before it can be refunded");
            return random.NextDouble() < 0.4
                ? builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}").Succeeded().Build()
                : builder.Failed().Build();
        }).ToList();
    }

    private static async Task ImportAsync(ILoreStore store, IEnumerable<Episode> episodes)
    {
        await using var import = await store.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        await import.CommitAsync(Ct);
    }

    private static LearningWorkerOptions Options(string name, int batch = 25, TimeSpan? lease = null) => new()
    {
        Name = name,
        BatchSize = batch,
        LeaseDuration = lease ?? TimeSpan.FromMinutes(5),
        IdleDelay = TimeSpan.Zero,
    };

    private static async Task<List<LearningWorkerPass>> DrainAsync(LearningWorker worker)
    {
        var passes = new List<LearningWorkerPass>();
        while (true)
        {
            var pass = await worker.RunOnceAsync(Ct);
            if (pass.Outcome == LearningWorkerOutcome.Idle)
            {
                return passes;
            }

            passes.Add(pass);
        }
    }

    [Fact]
    public async Task Two_workers_in_two_processes_learn_from_every_episode_exactly_once()
    {
        var path = _dir.File("lore.db");
        await using var first = SqliteLoreStore.Open(path);
        await using var second = SqliteLoreStore.Open(path);
        await ImportAsync(first, Refunds(200, seed: 3));

        var workers = new[] { new LearningWorker(first, Options("worker-1")), new LearningWorker(second, Options("worker-2")) };
        var passes = (await Task.WhenAll(workers.Select(w => Task.Run(() => DrainAsync(w), Ct)))).SelectMany(p => p).ToList();

        var learned = passes.SelectMany(p => p.Learned).ToList();
        Assert.Equal(200, learned.Count);
        Assert.Equal(200, learned.Distinct(StringComparer.Ordinal).Count());
        Assert.All(passes, p => Assert.Equal(LearningWorkerOutcome.Completed, p.Outcome));
        var runs = await first.ListLearningRunsAsync(Tenants.Default, 100, Ct);
        Assert.Equal(passes.Count, runs.Count);
        Assert.Equal(200, runs.Sum(r => r.NewEpisodes));
        Assert.NotNull(await first.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Empty(await second.LeaseEpisodesAsync(Tenants.Default, "late", 10, TimeSpan.FromMinutes(1), Ct));
    }

    [Fact]
    public async Task Evidence_learned_by_parallel_workers_adds_up_to_what_one_pass_over_everything_learns()
    {
        var episodes = Refunds(150, seed: 5);
        await using var single = SqliteLoreStore.Open(_dir.File("single.db"));
        await ImportAsync(single, episodes);
        await new LearningPipeline(single).RunAsync(Tenants.Default, "one-pass", cancellationToken: Ct);

        var path = _dir.File("workers.db");
        await using var a = SqliteLoreStore.Open(path);
        await using var b = SqliteLoreStore.Open(path);
        await ImportAsync(a, episodes);
        await Task.WhenAll(
            Task.Run(() => DrainAsync(new LearningWorker(a, Options("worker-a", batch: 20))), Ct),
            Task.Run(() => DrainAsync(new LearningWorker(b, Options("worker-b", batch: 20))), Ct));

        var expected = (await single.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct)).ToDictionary(l => l.Id);
        var actual = await a.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct);
        Assert.NotEmpty(expected);
        Assert.Equal(expected.Keys.Order(StringComparer.Ordinal), actual.Select(l => l.Id).Order(StringComparer.Ordinal));
        Assert.All(actual, lesson => Assert.Equal(
            (lesson.Id, expected[lesson.Id].Evidence.EpisodeCount),
            (lesson.Id, lesson.Evidence.EpisodeCount)));
    }

    [Fact]
    public async Task A_crashed_workers_episodes_are_learned_by_another_worker_on_the_next_attempt()
    {
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await ImportAsync(store, Refunds(30, seed: 7));
        // The crashed worker leased ten episodes and died: its leases (zero duration here) are already expired.
        var orphaned = await store.LeaseEpisodesAsync(Tenants.Default, "crashed", 10, TimeSpan.Zero, Ct);

        var passes = await DrainAsync(new LearningWorker(store, Options("survivor", batch: 50)));

        var pass = Assert.Single(passes);
        Assert.Equal(30, pass.Learned.Count);
        Assert.All(pass.Leases.Where(l => orphaned.Any(o => o.EpisodeId == l.EpisodeId)), l => Assert.Equal(2, l.Attempt));
        Assert.Equal(orphaned.Select(l => l.EpisodeId), pass.Leases.Where(l => l.Attempt == 2).Select(l => l.EpisodeId));
        await Assert.ThrowsAsync<StoreConflictException>(() => store.CompleteLeasesAsync(orphaned, Ct));
    }

    [Fact]
    public async Task A_pass_whose_leases_are_about_to_expire_writes_nothing_and_leaves_the_episodes_to_the_next_lease()
    {
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await ImportAsync(store, Refunds(40, seed: 9));
        var options = Options("slow", lease: TimeSpan.FromSeconds(5));
        options.SafetyMargin = TimeSpan.FromSeconds(4);
        options.TimeProvider = new ManualTimeProvider(DateTimeOffset.UtcNow.AddSeconds(2)); // this host's clock runs 2 s ahead

        var pass = await new LearningWorker(store, options).RunOnceAsync(Ct);

        Assert.Equal(LearningWorkerOutcome.Abandoned, pass.Outcome);
        Assert.Empty(pass.Learned);
        Assert.Empty(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct));
        Assert.Empty(await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct));
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task An_episode_every_worker_failed_on_is_given_up_after_the_maximum_attempts_instead_of_stalling_the_queue()
    {
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await ImportAsync(store, Refunds(3, seed: 11));
        for (var attempt = 1; attempt <= 2; attempt++)
        {
            await store.LeaseEpisodesAsync(Tenants.Default, $"failed-{attempt}", 1, TimeSpan.Zero, Ct);
        }

        var options = Options("patient");
        options.MaxAttempts = 2;
        var pass = await new LearningWorker(store, options).RunOnceAsync(Ct);

        Assert.Equal(["ep-00000"], pass.GivenUp);
        Assert.Equal(["ep-00001", "ep-00002"], pass.Learned);
        Assert.Equal(LearningWorkerOutcome.Idle, (await new LearningWorker(store, Options("next")).RunOnceAsync(Ct)).Outcome);
    }

    [Fact]
    public async Task Passes_of_workers_sharing_one_store_never_consolidate_at_the_same_time()
    {
        await using var store = SqliteLoreStore.Open(_dir.File("lore.db"));
        await ImportAsync(store, Refunds(120, seed: 13));
        var inside = 0;
        var overlaps = new ConcurrentBag<int>();
        var gate = new CountingLock(store, () => overlaps.Add(Interlocked.Increment(ref inside)), () => Interlocked.Decrement(ref inside));

        await Task.WhenAll(Enumerable.Range(1, 4).Select(i => Task.Run(() => DrainAsync(new LearningWorker(gate, Options($"w{i}", batch: 10))), Ct)));

        Assert.NotEmpty(overlaps);
        Assert.All(overlaps, depth => Assert.Equal(1, depth));
    }

    /// <summary>The store, with its learning lock instrumented to count holders (a decorator, not a mock: everything else passes through).</summary>
    private sealed class CountingLock(SqliteLoreStore store, Action entered, Action left) : DelegatingLoreStore(store, leaveInnerOpen: true), ILearningLock
    {
        public async Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default)
        {
            var held = await ((ILearningLock)InnerStore).AcquireLearningLockAsync(tenant, holder, cancellationToken);
            entered();
            return new Exit(held, left);
        }

        private sealed class Exit(IAsyncDisposable held, Action left) : IAsyncDisposable
        {
            public ValueTask DisposeAsync()
            {
                left();
                return held.DisposeAsync();
            }
        }
    }
}
