using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore.Server.Hosting;

/// <summary>
/// Ends episodes left open by a server (or agent host) that died: once for every tenant before the server starts
/// answering, then periodically, so that on a store shared by several hosts a dead host's episodes are recovered by
/// the live ones. Episodes with a recent step, and those running in this process, are left alone
/// (<see cref="LoreServerOptions.AbandonIdleEpisodesAfter"/>).
/// </summary>
internal sealed partial class OpenEpisodeSweeper(LoreServerOptions options, TenantRuntimes runtimes, ILoggerFactory? loggerFactory = null) : IHostedService, IDisposable
{
    private static readonly TimeSpan LongestPeriod = TimeSpan.FromMinutes(5);
    private readonly ILogger _logger = loggerFactory?.CreateLogger("Lore.Recovery") ?? NullLogger.Instance;
    private readonly CancellationTokenSource _stopping = new();
    private Task _loop = Task.CompletedTask;

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var idle = options.AbandonIdleEpisodesAfter;
        await SweepAsync(cancellationToken).ConfigureAwait(false);
        if (idle > TimeSpan.Zero && idle != Timeout.InfiniteTimeSpan)
        {
            var period = idle / 2 < LongestPeriod ? idle / 2 : LongestPeriod;
            _loop = LoopAsync(period < TimeSpan.FromSeconds(1) ? TimeSpan.FromSeconds(1) : period, _stopping.Token);
        }
    }

    /// <summary>
    /// Waits for a sweep in progress until the host's shutdown time runs out, then stops waiting without failing the
    /// shutdown: a sweep is one transaction, so one cut short by the store closing leaves the episodes as they were.
    /// (On a loaded machine a sweep can outlast the shutdown timeout; that made stopping the host throw.)
    /// </summary>
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        try
        {
            await _loop.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            LogStopTimedOut(_logger);
        }
    }

    public void Dispose() => _stopping.Dispose();

    /// <summary>One sweep over every tenant; a store that cannot recover, or is busy or full, is logged, never fatal (the next sweep tries again).</summary>
    private async Task SweepAsync(CancellationToken cancellationToken)
    {
        var idle = options.AbandonIdleEpisodesAfter;
        if (idle == Timeout.InfiniteTimeSpan || runtimes.Store.GetService<IEpisodeRecovery>() is not { } recovery)
        {
            return;
        }

        var now = runtimes.TimeProvider.GetUtcNow();
        var sweep = new AbandonedEpisodeSweep { Tenant = null, IdleSince = now - idle, EndedAt = now, Running = runtimes.RunningEpisodeIds(), Actor = "lore:recovery" };
        AbandonedEpisodes result;
        try
        {
            result = await recovery.AbandonIdleEpisodesAsync(sweep, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidDataException)
        {
            LogRecoveryUnavailable(_logger, runtimes.Store.Location, e.Message);
            return;
        }

        foreach (var (tenant, ids) in result.EpisodeIdsByTenant)
        {
            LogAbandoned(_logger, ids.Count, tenant, idle, string.Join(", ", ids.Take(10)) + (ids.Count > 10 ? ", ..." : ""));
        }
    }

    private async Task LoopAsync(TimeSpan period, CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(period, runtimes.TimeProvider, stopping).ConfigureAwait(false);
                await SweepAsync(stopping).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return; // the store closed under a sweep: the server is stopping
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A failed sweep must not end the loop (or the server): the next one tries again.
                LogSweepFailed(_logger, e);
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The server stopped while a sweep for episodes left open was still running; it is abandoned with the store (its transaction is rolled back).")]
    private static partial void LogStopTimedOut(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered {Count} episodes of tenant {Tenant} left open by a process that stopped (no step for {Idle}): ended as abandoned, audited; outcomes can still judge them ({Ids}).")]
    private static partial void LogAbandoned(ILogger logger, int count, string tenant, TimeSpan idle, string ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not recover open episodes in {Store} now: {Reason}. The next sweep tries again.")]
    private static partial void LogRecoveryUnavailable(ILogger logger, string store, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "A periodic sweep for episodes left open by a stopped process failed; the next sweep tries again.")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
