using Lore.Capture;
using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Fakes;
using Microsoft.Extensions.Logging;
using Xunit;

namespace Lore.Tests.Capture;

public sealed class CaptureWriterTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private SqliteLoreStore _inner = null!;
    private GatedStore _store = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync()
    {
        _inner = SqliteLoreStore.Open(_directory.File("capture.db"));
        _store = new GatedStore(_inner);
        return ValueTask.CompletedTask;
    }

    public async ValueTask DisposeAsync()
    {
        _store.Release();
        await _inner.DisposeAsync();
        _directory.Dispose();
    }

    private static EpisodeStarted Started(int i) => new(new Episode { Id = $"ep-{i:D3}", Task = $"task {i}", StartedAt = TestLessons.Created });

    private CaptureWriter Writer(int capacity, CaptureOverflowPolicy policy, ILogger? logger = null)
        => new(_store, new CaptureOptions { Capacity = capacity, OverflowPolicy = policy, MaxBatchSize = 64 }, logger ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance);

    /// <summary>Holds the writer inside its first append, so the buffer is empty and nothing drains until released.</summary>
    private async Task<CaptureWriter> BlockedWriterAsync(int capacity, CaptureOverflowPolicy policy)
    {
        _store.Hold();
        var writer = Writer(capacity, policy);
        Assert.True(await writer.EnqueueAsync(Started(0), Ct));
        await _store.AppendWaiting.WaitAsync(Ct);
        return writer;
    }

    [Fact]
    public async Task Drop_and_count_drops_what_a_full_buffer_cannot_hold_and_counts_it()
    {
        await using var writer = await BlockedWriterAsync(capacity: 3, CaptureOverflowPolicy.DropAndCount);
        var accepted = new List<bool>();
        for (var i = 1; i <= 10; i++)
        {
            var enqueue = writer.EnqueueAsync(Started(i), Ct);
            Assert.True(enqueue.IsCompleted, "DropAndCount must never make the caller wait.");
            accepted.Add(await enqueue);
        }

        Assert.Equal([true, true, true, false, false, false, false, false, false, false], accepted);
        _store.Release();
        await writer.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(Enqueued: 4, Written: 4, Dropped: 7, Failed: 0), writer.Statistics);
        Assert.Equal(4, await _inner.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Wait_makes_the_caller_wait_for_room_and_loses_nothing()
    {
        await using var writer = await BlockedWriterAsync(capacity: 2, CaptureOverflowPolicy.Wait);
        var pending = new List<Task<bool>>();
        for (var i = 1; i <= 6; i++)
        {
            pending.Add(writer.EnqueueAsync(Started(i), Ct).AsTask());
        }

        Assert.All(pending.Take(2), t => Assert.True(t.IsCompletedSuccessfully));
        Assert.All(pending.Skip(2), t => Assert.False(t.IsCompleted, "With a full buffer, Wait applies back-pressure."));

        _store.Release();
        Assert.All(await Task.WhenAll(pending), Assert.True);
        await writer.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(Enqueued: 7, Written: 7, Dropped: 0, Failed: 0), writer.Statistics);
        Assert.Equal(7, await _inner.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Flush_returns_only_once_everything_enqueued_before_it_is_in_the_store()
    {
        await using var writer = await BlockedWriterAsync(capacity: 100, CaptureOverflowPolicy.Wait);
        for (var i = 1; i <= 20; i++)
        {
            await writer.EnqueueAsync(Started(i), Ct);
        }

        var flush = writer.FlushAsync(Ct);
        Assert.False(flush.IsCompleted);
        Assert.Equal(0, await _inner.CountEpisodesAsync(Tenants.Default, Ct));

        _store.Release();
        await flush;
        Assert.Equal(21, await _inner.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(21, writer.Statistics.Written);
    }

    [Fact]
    public async Task Records_enqueued_together_are_written_in_batches()
    {
        await using var writer = await BlockedWriterAsync(capacity: 1000, CaptureOverflowPolicy.Wait);
        for (var i = 1; i <= 200; i++)
        {
            await writer.EnqueueAsync(Started(i), Ct);
        }

        _store.Release();
        await writer.FlushAsync(Ct);

        Assert.Equal(201, _store.BatchSizes.Sum());
        Assert.True(_store.AppendCalls <= 5, $"200 waiting records took {_store.AppendCalls} appends; expected batches of up to 64.");
    }

    [Fact]
    public async Task Dispose_drains_everything_already_enqueued()
    {
        var writer = await BlockedWriterAsync(capacity: 100, CaptureOverflowPolicy.Wait);
        for (var i = 1; i <= 30; i++)
        {
            await writer.EnqueueAsync(Started(i), Ct);
        }

        var disposing = writer.DisposeAsync().AsTask();
        Assert.False(disposing.IsCompleted);
        _store.Release();
        await disposing;

        Assert.Equal(31, await _inner.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.False(await writer.EnqueueAsync(Started(99), Ct));
        Assert.Equal(1, writer.Statistics.Dropped);
    }

    [Fact]
    public async Task A_failed_write_is_retried_once_and_then_succeeds()
    {
        _store.FailNextAppends = 1;
        await using var writer = Writer(100, CaptureOverflowPolicy.Wait);
        await writer.EnqueueAsync(Started(1), Ct);
        await writer.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(1, 1, 0, 0), writer.Statistics);
        Assert.Equal(2, _store.AppendCalls);
    }

    [Fact]
    public async Task A_write_that_fails_twice_is_counted_as_failed_and_logged()
    {
        _store.FailNextAppends = 2;
        var log = new ListLogger();
        await using var writer = Writer(100, CaptureOverflowPolicy.Wait, log);
        await writer.EnqueueAsync(Started(1), Ct);
        await writer.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(1, 0, 0, 1), writer.Statistics);
        Assert.Contains(log.Entries, e => e.Level == LogLevel.Error && e.Message.Contains("ep-001", StringComparison.Ordinal));
        Assert.Equal(0, await _inner.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task One_poisoned_episode_does_not_take_the_rest_of_its_batch_down()
    {
        var writer = await BlockedWriterAsync(capacity: 100, CaptureOverflowPolicy.Wait);
        await using var _ = writer;
        _store.FailEpisode = "ep-002";
        for (var i = 1; i <= 4; i++)
        {
            await writer.EnqueueAsync(Started(i), Ct);
        }

        _store.Release();
        await writer.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(Enqueued: 5, Written: 4, Dropped: 0, Failed: 1), writer.Statistics);
        Assert.Null(await _inner.GetEpisodeAsync("ep-002", Ct));
        Assert.NotNull(await _inner.GetEpisodeAsync("ep-003", Ct));
    }

    private sealed class ListLogger : ILogger
    {
        public List<(LogLevel Level, string Message)> Entries { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            lock (Entries)
            {
                Entries.Add((logLevel, formatter(state, exception)));
            }
        }
    }
}
