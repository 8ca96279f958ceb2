using System.Collections.Concurrent;
using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Episode leases: what lets several learning workers, in several processes, process each ended episode exactly once.
// Expiry is exercised without waiting: a lease granted for a zero duration is expired at once (a worker that died
// straight after leasing). The learning lock is tested on stores that offer one.
public abstract partial class LoreStoreContract
{
    private static readonly TimeSpan LongLease = TimeSpan.FromMinutes(10);

    private static Episode Ended(string id, int minute, string tenant = Tenants.Default)
        => new EpisodeBuilder(id).Tenant(tenant).StartedAt(T0.AddMinutes(minute)).Tool("lookup").Succeeded().Build();

    [Fact]
    public async Task Leases_grant_ended_episodes_oldest_first_and_no_live_lease_is_granted_twice()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2), Ended("ep-3", 3));

        var first = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 2, LongLease, Ct);
        var second = await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 10, LongLease, Ct);
        var third = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 10, LongLease, Ct);

        Assert.Equal(["ep-1", "ep-2"], first.Select(l => l.EpisodeId));
        Assert.Equal(["ep-3"], second.Select(l => l.EpisodeId));
        Assert.Empty(third);
        Assert.All(first, l => Assert.Equal(("worker-a", Tenants.Default, 1), (l.Worker, l.Tenant, l.Attempt)));
        Assert.True(first[0].Sequence < first[1].Sequence && first[1].Sequence < second[0].Sequence);
        Assert.Equal(3, first.Concat(second).Select(l => l.Token).Distinct().Count());
        Assert.All(first.Concat(second), l => Assert.True(l.ExpiresAt > T0, $"lease of {l.EpisodeId} expires at {l.ExpiresAt}"));
    }

    [Fact]
    public async Task Only_ended_episodes_are_leased()
    {
        var store = await NewStoreAsync();
        var running = Ended("running", 1) with { EndedAt = null };
        await store.AppendAsync(CaptureRecordsOf(running), Ct);
        await ImportAsync(store, Ended("done", 2));

        var leased = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 10, LongLease, Ct);
        await store.AppendAsync([new EpisodeEnded("running", T0.AddMinutes(5), [])], Ct);
        var afterEnd = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 10, LongLease, Ct);

        Assert.Equal(["done"], leased.Select(l => l.EpisodeId));
        Assert.Equal(["running"], afterEnd.Select(l => l.EpisodeId));
    }

    [Fact]
    public async Task An_expired_lease_is_granted_again_with_the_next_attempt_and_a_new_token()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1));

        var crashed = Assert.Single(await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 5, TimeSpan.Zero, Ct));
        var retried = Assert.Single(await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 5, LongLease, Ct));

        Assert.Equal(("ep-1", 1), (crashed.EpisodeId, crashed.Attempt));
        Assert.Equal(("ep-1", "worker-b", 2), (retried.EpisodeId, retried.Worker, retried.Attempt));
        Assert.NotEqual(crashed.Token, retried.Token);
        Assert.Empty(await store.LeaseEpisodesAsync(Tenants.Default, "worker-c", 5, LongLease, Ct));
    }

    [Fact]
    public async Task Completing_a_stale_lease_is_refused_naming_the_episode_and_completes_none_of_the_batch()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2));
        var mine = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 2, TimeSpan.Zero, Ct);
        var taken = Assert.Single(await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 1, TimeSpan.Zero, Ct));
        Assert.Equal("ep-1", taken.EpisodeId);

        var conflict = await Assert.ThrowsAsync<StoreConflictException>(() => store.CompleteLeasesAsync([mine[1], mine[0]], Ct));

        Assert.Contains("ep-1", conflict.Message, StringComparison.Ordinal);
        // ep-2's lease was valid (expired, but granted to no one since), yet the batch failed as a whole: it is still open.
        var open = await store.LeaseEpisodesAsync(Tenants.Default, "worker-c", 10, LongLease, Ct);
        Assert.Equal([("ep-1", 3), ("ep-2", 2)], open.Select(l => (l.EpisodeId, l.Attempt)));
    }

    [Fact]
    public async Task An_expired_lease_granted_to_no_one_else_still_completes()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1));
        var slow = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 1, TimeSpan.Zero, Ct);

        await store.CompleteLeasesAsync(slow, Ct);
        await store.CompleteLeasesAsync(slow, Ct); // completing again with the same token changes nothing

        Assert.Empty(await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 1, LongLease, Ct));
    }

    [Fact]
    public async Task Processed_episodes_are_never_leased_again_even_after_their_lease_expires()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2));
        var leases = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 1, TimeSpan.Zero, Ct);
        await store.CompleteLeasesAsync(leases, Ct);

        var next = await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 10, TimeSpan.Zero, Ct);
        await store.CompleteLeasesAsync(next, Ct);

        Assert.Equal(["ep-2"], next.Select(l => l.EpisodeId));
        Assert.Empty(await store.LeaseEpisodesAsync(Tenants.Default, "worker-c", 10, LongLease, Ct));
        var reopened = await ReopenTrackedAsync(store);
        Assert.Empty(await reopened.LeaseEpisodesAsync(Tenants.Default, "worker-c", 10, LongLease, Ct));
    }

    [Fact]
    public async Task Leases_never_cross_tenants()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("a-1", 1, "tenant-a"), Ended("b-1", 2, "tenant-b"), Ended("a-2", 3, "tenant-a"));

        var a = await store.LeaseEpisodesAsync("tenant-a", "worker", 10, LongLease, Ct);
        var b = await store.LeaseEpisodesAsync("tenant-b", "worker", 10, LongLease, Ct);

        Assert.Equal(["a-1", "a-2"], a.Select(l => l.EpisodeId));
        Assert.All(a, l => Assert.Equal("tenant-a", l.Tenant));
        Assert.Equal(["b-1"], b.Select(l => l.EpisodeId));
        Assert.Empty(await store.LeaseEpisodesAsync("tenant-c", "worker", 10, LongLease, Ct));
    }

    [Fact]
    public async Task An_episode_with_a_lease_can_still_be_erased_and_is_not_leased_afterwards()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2));
        await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 1, TimeSpan.Zero, Ct);

        Assert.Equal(1, await store.DeleteEpisodesAsync(["ep-1"], Ct));

        var left = await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 10, LongLease, Ct);
        Assert.Equal(["ep-2"], left.Select(l => l.EpisodeId));
    }

    [Fact]
    public async Task Leasing_refuses_a_batch_size_below_one_or_a_negative_duration()
    {
        var store = await NewStoreAsync();

        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.LeaseEpisodesAsync(Tenants.Default, "worker", 0, LongLease, Ct));
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.LeaseEpisodesAsync(Tenants.Default, "worker", 1, TimeSpan.FromSeconds(-1), Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.LeaseEpisodesAsync(Tenants.Default, " ", 1, LongLease, Ct));
    }

    [Fact]
    public async Task Many_parallel_leasers_process_every_episode_exactly_once()
    {
        const int episodes = 60;
        var store = await NewStoreAsync();
        await ImportAsync(store, [.. Enumerable.Range(1, episodes).Select(i => Ended($"ep-{i}", i))]);
        var processed = new ConcurrentBag<string>();

        async Task WorkAsync(string worker)
        {
            while (true)
            {
                var leases = await store.LeaseEpisodesAsync(Tenants.Default, worker, 3, LongLease, Ct);
                if (leases.Count == 0)
                {
                    return;
                }

                await store.CompleteLeasesAsync(leases, Ct);
                foreach (var lease in leases)
                {
                    processed.Add(lease.EpisodeId);
                }
            }
        }

        await Task.WhenAll(Enumerable.Range(1, 8).Select(i => Task.Run(() => WorkAsync($"worker-{i}"), Ct)));

        Assert.Equal(episodes, processed.Count);
        Assert.Equal(Enumerable.Range(1, episodes).Select(i => $"ep-{i}").Order(StringComparer.Ordinal), processed.Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_learning_lock_admits_one_holder_per_tenant_at_a_time()
    {
        var store = await NewStoreAsync();
        if (store is not ILearningLock locks)
        {
            Assert.Skip($"{store.GetType().Name} has no learning lock; its workers serialise within one process only.");
            return;
        }

        var first = await locks.AcquireLearningLockAsync("tenant-a", "worker-1", Ct);
        var second = locks.AcquireLearningLockAsync("tenant-a", "worker-2", Ct);
        var otherTenant = await locks.AcquireLearningLockAsync("tenant-b", "worker-3", Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);

        Assert.False(second.IsCompleted, "a second holder got tenant-a's learning lock while the first still held it");
        await first.DisposeAsync();
        var next = await second.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        await next.DisposeAsync();
        await otherTenant.DisposeAsync();
    }
}
