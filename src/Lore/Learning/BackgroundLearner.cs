using Microsoft.Extensions.Logging;

namespace Lore.Learning;

/// <summary>
/// Runs a learning pass in the background after every N episodes that this runtime ended, and serves the snapshot
/// it produces; capture keeps going meanwhile. Passes never overlap (the runtime serialises them with
/// <see cref="LoreRuntime.LearnAsync"/>), and a failed pass is logged and retried after the next N episodes.
/// </summary>
internal sealed partial class BackgroundLearner : IAsyncDisposable
{
    private readonly LoreRuntime _runtime;
    private readonly int _every;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _due = new(0, 1);
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _loop;
    private int _endedSinceLastPass;

    public BackgroundLearner(LoreRuntime runtime, int every, ILogger logger)
    {
        _runtime = runtime;
        _every = every;
        _logger = logger;
        _loop = Task.Run(RunAsync);
    }

    /// <summary>How many passes have finished (successfully or not); lets tests and hosts wait for one.</summary>
    public int CompletedPasses => Volatile.Read(ref _completedPasses);

    private int _completedPasses;

    public void OnEpisodeEnded()
    {
        if (Interlocked.Increment(ref _endedSinceLastPass) >= _every)
        {
            try
            {
                _due.Release();
            }
            catch (SemaphoreFullException)
            {
                // A pass is already due; it will see these episodes too.
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        _stop.Dispose();
        _due.Dispose();
    }

    private async Task RunAsync()
    {
        var token = _stop.Token;
        while (!token.IsCancellationRequested)
        {
            await _due.WaitAsync(token).ConfigureAwait(false);
            if (Volatile.Read(ref _endedSinceLastPass) < _every)
            {
                continue;
            }

            Interlocked.Exchange(ref _endedSinceLastPass, 0);
            try
            {
                var run = await _runtime.LearnAsync("lore-background", null, token).ConfigureAwait(false);
                LogPass(_logger, run.NewEpisodes, run.SnapshotId ?? "(unchanged)");
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(_logger, ex);
            }
            finally
            {
                Interlocked.Increment(ref _completedPasses);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Background learning read {NewEpisodes} new episodes; snapshot {SnapshotId}.")]
    private static partial void LogPass(ILogger logger, int newEpisodes, string snapshotId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Background learning failed; it runs again after the next batch of episodes.")]
    private static partial void LogFailed(ILogger logger, Exception exception);
}
