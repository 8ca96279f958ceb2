using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Runtime;

/// <summary>Wrapping a store keeps its capabilities; refusals and conflicts carry types callers can branch on.</summary>
public sealed class StoreDecorationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_wrapped_store_still_offers_the_inner_stores_learning_lock_and_counts_what_passes_through()
    {
        using var directory = new TempDirectory();
        var inner = SqliteLoreStore.Open(directory.File("lore.db"));
        var counting = new CountingStore(inner);
        Assert.Same(inner, counting.GetService<ILearningLock>());
        Assert.Same(counting, counting.GetService<CountingStore>());
        Assert.Null(counting.GetService<IStoreChangeFeed>());

        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = counting }, Ct);
        var episode = runtime.BeginEpisode("refund order 1142");
        await episode.CompleteAsync(Outcome.Success(), Ct);
        await runtime.FlushAsync(Ct);
        Assert.True(counting.Appends > 0);
        Assert.NotNull(await inner.GetEpisodeAsync(episode.Id, Ct));
    }

    [Fact]
    public async Task Storing_an_episode_id_twice_raises_a_store_conflict()
    {
        using var directory = new TempDirectory();
        await using var store = SqliteLoreStore.Open(directory.File("lore.db"));
        var episode = new Episode { Id = "ep-1", Task = "refund order 1142", StartedAt = DateTimeOffset.UnixEpoch };
        await store.AppendAsync([new EpisodeStarted(episode)], Ct);
        var error = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync([new EpisodeStarted(episode)], Ct));
        Assert.Contains("ep-1", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Promoting_with_nothing_in_canary_is_a_refusal_that_names_its_reason()
    {
        using var directory = new TempDirectory();
        await using var store = SqliteLoreStore.Open(directory.File("lore.db"));
        var rollout = new RolloutController(store, Tenants.Default);
        var refused = await Assert.ThrowsAsync<RolloutRefusedException>(() => rollout.PromoteAsync("test", "nothing to promote", Ct));
        Assert.Equal(RolloutRefusal.NoCandidate, refused.Reason);

        await rollout.FreezeAsync("test", "incident", Ct);
        var frozen = await Assert.ThrowsAsync<RolloutRefusedException>(() => rollout.CanaryAsync(0.1, "test", "try", "snap-1", Ct));
        Assert.Equal(RolloutRefusal.Frozen, frozen.Reason);
    }

    private sealed class CountingStore(ILoreStore inner) : DelegatingLoreStore(inner)
    {
        private int _appends;

        public int Appends => Volatile.Read(ref _appends);

        public override Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default)
        {
            Interlocked.Increment(ref _appends);
            return base.AppendAsync(records, cancellationToken);
        }
    }
}
