using System.Threading.Channels;
using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Fakes;
using Xunit;

namespace Lore.Tests.Rollout;

/// <summary>
/// Another host's promote, rollback or freeze reaches this host's runtime: at once when the store's change feed says
/// so, on the next poll when the feed is silent or broken. Two store instances on one SQLite file stand for two hosts;
/// the change feed is a fake the test pushes into, and the poll clock is a clock the test moves.
/// </summary>
public sealed class RolloutWatcherTests : IAsyncDisposable
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _directory = new();
    private readonly List<IAsyncDisposable> _owned = [];
    private readonly Snapshot _first = TestLessons.Snapshot([TestLessons.Lesson("les-a", "Look up the order before refunding it.")], reason: "first");
    private readonly Snapshot _second = TestLessons.Snapshot([TestLessons.Lesson("les-b", "Confirm the address before saving it.")], reason: "second");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The other host: its own store instance on the same file, changing the rollout through a plain controller.</summary>
    private async Task<RolloutController> OtherHostAsync()
    {
        var store = await SqliteLoreStore.OpenAsync(_directory.File("lore.db"), Ct);
        _owned.Add(store);
        return new RolloutController(store, Tenants.Default);
    }

    private async Task<LoreRuntime> HostAsync(Action<LoreOptions> configure)
    {
        var store = await SqliteLoreStore.OpenAsync(_directory.File("lore.db"), Ct);
        await store.SaveSnapshotAsync(_first, Ct);
        await store.SaveSnapshotAsync(_second, Ct);
        if (await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct) is null)
        {
            await store.SetActiveSnapshotAsync(Tenants.Default, _first.Id, Ct);
        }

        var options = new LoreOptions { Store = store };
        configure(options);
        var runtime = await LoreRuntime.OpenAsync(options, Ct);
        _owned.Add(runtime);
        return runtime;
    }

    [Fact]
    public async Task A_rollout_change_pushed_by_the_feed_is_served_without_waiting_for_a_poll()
    {
        var feed = new FakeChangeFeed();
        var host = await HostAsync(o => { o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.Zero; });
        var other = await OtherHostAsync();
        Assert.Equal(_first.Id, host.CurrentSnapshot?.Id);

        var serving = host.WhenServingChangesAsync();
        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct);
        Assert.Equal(_first.Id, host.CurrentSnapshot?.Id); // nothing told this host yet
        feed.Push(new StoreChange(StoreChangeKinds.Rollout, Tenants.Default));
        await serving.WaitAsync(Generous, Ct);

        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
        await using var episode = host.BeginEpisode("refund order 7");
        Assert.Equal(_second.Id, episode.SnapshotId);
    }

    [Fact]
    public async Task A_rollback_and_a_freeze_made_on_another_host_are_served_here_in_order()
    {
        var feed = new FakeChangeFeed();
        var host = await HostAsync(o => { o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.Zero; });
        var other = await OtherHostAsync();
        await other.CanaryAsync(1.0, "alice", "everyone", _second.Id, Ct);
        var canary = host.WhenServingChangesAsync();
        feed.Push(new StoreChange(StoreChangeKinds.Rollout, Tenants.Default));
        await canary.WaitAsync(Generous, Ct);
        Assert.Equal(_second.Id, host.Rollout.State.CandidateSnapshotId);

        await other.RollbackAsync("bob", "refunds regressed", cancellationToken: Ct);
        await other.FreezeAsync("bob", "incident 42", Ct);
        var refreshed = host.Watcher!.WhenRefreshedAsync();
        feed.Push(new StoreChange(StoreChangeKinds.Rollout, Tenants.Default));
        feed.Push(new StoreChange(StoreChangeKinds.Rollout, Tenants.Default));
        await refreshed.WaitAsync(Generous, Ct);

        Assert.Null(host.Rollout.State.CandidateSnapshotId);
        Assert.True(host.Rollout.State.Frozen);
        Assert.Equal("incident 42", host.Rollout.State.FrozenReason);
        await using var episode = host.BeginEpisode("refund order 7", unitKey: "user-1");
        Assert.Equal((_first.Id, (string?)null), (episode.SnapshotId, episode.Arm));
    }

    [Fact]
    public async Task Another_tenants_change_does_not_refresh_but_a_resync_does()
    {
        var feed = new FakeChangeFeed();
        var host = await HostAsync(o => { o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.Zero; });
        var other = await OtherHostAsync();
        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct);

        feed.Push(new StoreChange(StoreChangeKinds.Rollout, "someone-else"));
        var refreshed = host.Watcher!.WhenRefreshedAsync();
        feed.Push(new StoreChange(StoreChangeKinds.Resync, ""));
        await refreshed.WaitAsync(Generous, Ct);

        Assert.Equal(1, host.Watcher.Refreshes);
        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task Without_a_feed_a_change_is_served_when_the_poll_interval_passes()
    {
        var clock = new ManualClock(TestLessons.Created);
        var host = await HostAsync(o => { o.TimeProvider = clock; o.RefreshInterval = TimeSpan.FromSeconds(5); });
        var other = await OtherHostAsync();
        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct);

        clock.Advance(TimeSpan.FromSeconds(4));
        Assert.Equal(0, host.Watcher!.Refreshes);
        var serving = host.WhenServingChangesAsync();
        clock.Advance(TimeSpan.FromSeconds(1));
        await serving.WaitAsync(Generous, Ct);

        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task A_notification_that_never_arrives_only_delays_the_change_until_the_next_poll()
    {
        var clock = new ManualClock(TestLessons.Created);
        var feed = new FakeChangeFeed();
        var host = await HostAsync(o => { o.TimeProvider = clock; o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.FromSeconds(5); });
        var other = await OtherHostAsync();
        await feed.Subscribed.WaitAsync(Generous, Ct);

        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct); // its notification is lost
        var serving = host.WhenServingChangesAsync();
        clock.Advance(TimeSpan.FromSeconds(5));
        await serving.WaitAsync(Generous, Ct);

        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task A_feed_that_fails_triggers_a_refresh_and_is_watched_again_after_a_backoff()
    {
        var clock = new ManualClock(TestLessons.Created);
        var feed = new FakeChangeFeed { FailFirstSubscription = true };
        var host = await HostAsync(o => { o.TimeProvider = clock; o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.Zero; });
        var other = await OtherHostAsync();
        var serving = host.WhenServingChangesAsync();

        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct);
        await clock.WhenTimerArmedAsync().WaitAsync(Generous, Ct); // the backoff before watching again
        clock.Advance(TimeSpan.FromSeconds(1));
        await feed.Subscribed.WaitAsync(Generous, Ct);
        feed.Push(new StoreChange(StoreChangeKinds.Rollout, Tenants.Default));
        await serving.WaitAsync(Generous, Ct);

        Assert.Equal(2, feed.Subscriptions);
        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task With_listening_off_the_feed_is_never_watched_and_polling_alone_serves_changes()
    {
        var clock = new ManualClock(TestLessons.Created);
        var feed = new FakeChangeFeed();
        var host = await HostAsync(o => { o.TimeProvider = clock; o.ChangeFeed = feed; o.ListenForChanges = false; o.RefreshInterval = TimeSpan.FromSeconds(2); });
        var other = await OtherHostAsync();
        await other.ActivateAsync(_second.Id, "bob", "promote on host 2", Ct);

        var serving = host.WhenServingChangesAsync();
        clock.Advance(TimeSpan.FromSeconds(2));
        await serving.WaitAsync(Generous, Ct);

        Assert.Equal(0, feed.Subscriptions);
        Assert.Equal(_second.Id, host.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task With_no_feed_and_polling_off_nothing_watches_and_disposing_the_runtime_ends_the_feed()
    {
        var quiet = await HostAsync(o => o.RefreshInterval = TimeSpan.Zero);
        var feed = new FakeChangeFeed();
        var watched = await HostAsync(o => { o.ChangeFeed = feed; o.RefreshInterval = TimeSpan.Zero; });
        await feed.Subscribed.WaitAsync(Generous, Ct);

        await watched.DisposeAsync();

        Assert.Null(quiet.Watcher);
        Assert.True(feed.Ended.IsCompleted, "the runtime was disposed but its feed subscription is still open");
    }

    [Fact]
    public async Task A_negative_refresh_interval_is_refused_naming_the_option()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => HostAsync(o => o.RefreshInterval = TimeSpan.FromSeconds(-1)));
        Assert.Contains("RefreshInterval", error.Message, StringComparison.Ordinal);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var owned in Enumerable.Reverse(_owned))
        {
            await owned.DisposeAsync();
        }

        _directory.Dispose();
    }

    /// <summary>A change feed the test pushes into; it can fail its first subscription the way a dropped connection does.</summary>
    private sealed class FakeChangeFeed : IStoreChangeFeed
    {
        private readonly Channel<StoreChange> _changes = Channel.CreateUnbounded<StoreChange>();
        private readonly TaskCompletionSource _ended = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private TaskCompletionSource _subscribed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int _subscriptions;

        public bool FailFirstSubscription { get; init; }

        public int Subscriptions => Volatile.Read(ref _subscriptions);

        /// <summary>Completes when a subscription that delivers changes is open.</summary>
        public Task Subscribed => Volatile.Read(ref _subscribed).Task;

        public Task Ended => _ended.Task;

        public void Push(StoreChange change) => _changes.Writer.TryWrite(change);

        public async IAsyncEnumerable<StoreChange> WatchAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref _subscriptions) == 1 && FailFirstSubscription)
            {
                throw new IOException("the connection to the store was lost");
            }

            Volatile.Read(ref _subscribed).TrySetResult();
            try
            {
                while (true)
                {
                    StoreChange change;
                    try
                    {
                        change = await _changes.Reader.ReadAsync(cancellationToken);
                    }
                    catch (OperationCanceledException)
                    {
                        yield break;
                    }

                    yield return change;
                }
            }
            finally
            {
                _ended.TrySetResult();
            }
        }
    }
}
