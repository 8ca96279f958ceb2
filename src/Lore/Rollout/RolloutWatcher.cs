using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Lore.Rollout;

/// <summary>
/// Keeps a runtime's rollout in step with changes other hosts make to the shared store: a promote, rollback or freeze
/// anywhere reaches this host within about a second. Pushed changes (<see cref="IStoreChangeFeed"/>, PostgreSQL
/// LISTEN/NOTIFY) trigger a refresh at once; a poll every <see cref="LoreOptions.RefreshInterval"/> is the fallback,
/// so a missed notification, a dropped connection or a store without a feed only delays a change.
/// </summary>
/// <remarks>
/// One loop refreshes, woken by the feed or the poll timer. Wake-ups that arrive while a refresh runs collapse into
/// one more refresh after it, which reads the latest state: no change is lost, and a burst of notifications costs two
/// reads, not one per notification. A refresh serves what it read only if its version is newer than what is served.
/// </remarks>
internal sealed partial class RolloutWatcher : IAsyncDisposable
{
    private static readonly TimeSpan FirstRetry = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestRetry = TimeSpan.FromSeconds(5);

    private readonly Func<CancellationToken, Task> _refresh;
    private readonly IStoreChangeFeed? _feed;
    private readonly string _tenant;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite, SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _refreshLoop;
    private readonly Task _feedLoop;
    private readonly ITimer? _poll;
    private TaskCompletionSource _refreshed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _refreshes;
    private int _disposed;

    private RolloutWatcher(Func<CancellationToken, Task> refresh, IStoreChangeFeed? feed, string tenant, TimeSpan pollInterval, TimeProvider time, ILogger logger)
    {
        _refresh = refresh;
        _feed = feed;
        _tenant = tenant;
        _time = time;
        _logger = logger;
        _poll = pollInterval > TimeSpan.Zero ? time.CreateTimer(_ => Wake(), null, pollInterval, pollInterval) : null;
        _refreshLoop = Task.Run(RefreshLoopAsync);
        _feedLoop = feed is null ? Task.CompletedTask : Task.Run(FeedLoopAsync);
    }

    /// <summary>
    /// Starts watching, or returns null when there is nothing to watch with (no feed and polling off).
    /// <paramref name="refresh"/> reads the rollout from the store and serves it if it is newer.
    /// </summary>
    public static RolloutWatcher? Start(Func<CancellationToken, Task> refresh, IStoreChangeFeed? feed, string tenant, TimeSpan pollInterval, TimeProvider time, ILogger logger)
        => feed is null && pollInterval <= TimeSpan.Zero ? null : new RolloutWatcher(refresh, feed, tenant, pollInterval, time, logger);

    /// <summary>Refreshes finished so far (successful or not).</summary>
    public long Refreshes => Interlocked.Read(ref _refreshes);

    /// <summary>Completes when the next refresh finishes (for tests and hosts that wait on propagation).</summary>
    public Task WhenRefreshedAsync() => Volatile.Read(ref _refreshed).Task;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_poll is not null)
        {
            await _poll.DisposeAsync().ConfigureAwait(false);
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _wake.Writer.TryComplete();
        await Task.WhenAll(_refreshLoop, _feedLoop).ConfigureAwait(false);
        _stop.Dispose();
    }

    private void Wake() => _wake.Writer.TryWrite(true);

    private async Task RefreshLoopAsync()
    {
        var token = _stop.Token;
        try
        {
            while (await _wake.Reader.WaitToReadAsync(token).ConfigureAwait(false))
            {
                _wake.Reader.TryRead(out _);
                try
                {
                    await _refresh(token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (token.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    // The store may be unreachable for a moment; the next wake-up (feed or poll) tries again.
                    LogRefreshFailed(_logger, ex, _tenant);
                }

                Interlocked.Increment(ref _refreshes);
                Interlocked.Exchange(ref _refreshed, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    private async Task FeedLoopAsync()
    {
        var token = _stop.Token;
        var retry = FirstRetry;
        while (!token.IsCancellationRequested)
        {
            try
            {
                await foreach (var change in _feed!.WatchAsync(token).ConfigureAwait(false))
                {
                    retry = FirstRetry;
                    if (change.Kind == StoreChangeKinds.Resync || (change.Kind == StoreChangeKinds.Rollout && change.Tenant == _tenant))
                    {
                        Wake();
                    }
                }
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFeedFailed(_logger, ex, _tenant, retry);
            }

            // The feed ended or failed: changes may have been missed while it was down, so read the state again.
            Wake();
            try
            {
                await Task.Delay(retry, _time, token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }

            retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LongestRetry.Ticks));
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refreshing the rollout of tenant {Tenant} from the store failed; the next notification or poll retries.")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception, string tenant);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The store's change feed for tenant {Tenant} failed; polling continues, and the feed is watched again in {Retry}.")]
    private static partial void LogFeedFailed(ILogger logger, Exception exception, string tenant, TimeSpan retry);
}
