using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Lore.Capture;

/// <summary>
/// The only path from capture to the store: a bounded channel drained by one background writer that appends
/// records in batches, so the model call hands a record over and moves on instead of waiting on disk. A full buffer
/// follows <see cref="CaptureOverflowPolicy"/>; every record is accounted for as written, dropped or failed.
/// </summary>
internal sealed partial class CaptureWriter : IAsyncDisposable
{
    private readonly Channel<Item> _channel;
    private readonly ILoreStore _store;
    private readonly CaptureOverflowPolicy _policy;
    private readonly int _maxBatch;
    private readonly TimeSpan _window;
    private readonly ILogger _logger;
    private readonly Task _loop;
    private long _enqueued;
    private long _written;
    private long _dropped;
    private long _failed;
    private int _completed;

    public CaptureWriter(ILoreStore store, CaptureOptions options, ILogger logger)
    {
        _store = store;
        _policy = options.OverflowPolicy;
        _maxBatch = options.MaxBatchSize;
        _window = options.BatchWindow;
        _logger = logger;
        _channel = Channel.CreateBounded<Item>(new BoundedChannelOptions(options.Capacity)
        {
            SingleReader = true,
            SingleWriter = false,
            FullMode = BoundedChannelFullMode.Wait,
            AllowSynchronousContinuations = false,
        });
        _loop = Task.Run(RunAsync);
    }

    public CaptureStatistics Statistics => new(
        Interlocked.Read(ref _enqueued),
        Interlocked.Read(ref _written),
        Interlocked.Read(ref _dropped),
        Interlocked.Read(ref _failed));

    /// <summary>
    /// Hands a record to the writer. Returns false when it was dropped (full buffer under
    /// <see cref="CaptureOverflowPolicy.DropAndCount"/>, or the writer has shut down); the drop is already counted.
    /// </summary>
    public ValueTask<bool> EnqueueAsync(CaptureRecord record, CancellationToken cancellationToken = default)
    {
        if (_channel.Writer.TryWrite(new Item(record, null)))
        {
            Interlocked.Increment(ref _enqueued);
            return ValueTask.FromResult(true);
        }

        if (_policy == CaptureOverflowPolicy.DropAndCount || Volatile.Read(ref _completed) != 0)
        {
            CountDropped(1);
            return ValueTask.FromResult(false);
        }

        return WaitForRoomAsync(record, cancellationToken);
    }

    /// <summary>Counts records that were never handed over (for example the rest of an episode whose start was dropped).</summary>
    public void CountDropped(int records) => Interlocked.Add(ref _dropped, records);

    private async ValueTask<bool> WaitForRoomAsync(CaptureRecord record, CancellationToken cancellationToken)
    {
        try
        {
            await _channel.Writer.WriteAsync(new Item(record, null), cancellationToken).ConfigureAwait(false);
            Interlocked.Increment(ref _enqueued);
            return true;
        }
        catch (ChannelClosedException)
        {
            CountDropped(1);
            return false;
        }
        catch (OperationCanceledException)
        {
            CountDropped(1);
            throw;
        }
    }

    /// <summary>Completes when every record enqueued before the call has been written (or counted as failed).</summary>
    public async Task FlushAsync(CancellationToken cancellationToken = default)
    {
        var marker = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        try
        {
            await _channel.Writer.WriteAsync(new Item(null, marker), cancellationToken).ConfigureAwait(false);
        }
        catch (ChannelClosedException)
        {
            // Shutting down: the writer drains everything already enqueued before it stops.
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
            return;
        }

        await marker.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Stops accepting records and waits until everything enqueued is written.</summary>
    public async ValueTask DisposeAsync()
    {
        Volatile.Write(ref _completed, 1);
        _channel.Writer.TryComplete();
        await _loop.ConfigureAwait(false);
    }

    private async Task RunAsync()
    {
        var reader = _channel.Reader;
        var batch = new List<CaptureRecord>(_maxBatch);
        var markers = new List<TaskCompletionSource>();
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            Drain(reader, batch, markers);

            // A batch that is not full and that nobody is waiting on gathers the records of calls running now, so
            // that they share one transaction (one flush to disk) instead of paying one each.
            if (_window > TimeSpan.Zero && markers.Count == 0 && batch.Count is > 0 && batch.Count < _maxBatch)
            {
                await Task.Delay(_window).ConfigureAwait(false);
                Drain(reader, batch, markers);
            }

            if (batch.Count > 0)
            {
                await WriteAsync(batch).ConfigureAwait(false);
                batch.Clear();
            }

            foreach (var marker in markers)
            {
                marker.TrySetResult();
            }

            markers.Clear();
        }
    }

    /// <summary>Takes what the channel holds now, up to a full batch: records into <paramref name="batch"/>, flush markers into <paramref name="markers"/>.</summary>
    private void Drain(ChannelReader<Item> reader, List<CaptureRecord> batch, List<TaskCompletionSource> markers)
    {
        while (batch.Count < _maxBatch && reader.TryRead(out var item))
        {
            if (item.Record is not null)
            {
                batch.Add(item.Record);
            }
            else
            {
                markers.Add(item.Flush!);
            }
        }
    }

    /// <summary>
    /// Appends a batch, retrying once. If it still fails and holds several episodes, each episode is tried on its
    /// own so that one bad episode does not take the others down; what still fails is counted and logged.
    /// </summary>
    private async Task WriteAsync(List<CaptureRecord> batch)
    {
        if (await TryAppendAsync(batch, retry: true).ConfigureAwait(false))
        {
            return;
        }

        var episodes = batch.GroupBy(r => r.EpisodeId, StringComparer.Ordinal).ToArray();
        if (episodes.Length == 1)
        {
            Interlocked.Add(ref _failed, batch.Count);
            return;
        }

        foreach (var episode in episodes)
        {
            var records = episode.ToArray();
            if (!await TryAppendAsync(records, retry: false).ConfigureAwait(false))
            {
                Interlocked.Add(ref _failed, records.Length);
            }
        }
    }

    private async Task<bool> TryAppendAsync(IReadOnlyList<CaptureRecord> records, bool retry)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await _store.AppendAsync(records, CancellationToken.None).ConfigureAwait(false);
                Interlocked.Add(ref _written, records.Count);
                return true;
            }
            catch (Exception ex) when (attempt == 1 && retry)
            {
                LogRetry(_logger, ex, records.Count, _store.Location);
            }
            catch (Exception ex)
            {
                LogFailed(_logger, ex, records.Count, records[0].EpisodeId, _store.Location);
                return false;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Appending {Count} capture records to {Store} failed; retrying once.")]
    private static partial void LogRetry(ILogger logger, Exception exception, int count, string store);

    [LoggerMessage(Level = LogLevel.Error, Message = "Appending {Count} capture records (episode {EpisodeId}) to {Store} failed; they are counted as failed.")]
    private static partial void LogFailed(ILogger logger, Exception exception, int count, string episodeId, string store);

    /// <summary>A record to append, or a flush marker to complete once everything before it is written.</summary>
    private readonly record struct Item(CaptureRecord? Record, TaskCompletionSource? Flush);
}
