using Microsoft.Extensions.Logging;

namespace Lore.Capture;

/// <summary>
/// Ends episodes a dead process left open (see <see cref="IEpisodeRecovery"/>), for a runtime opening and for a server
/// starting or sweeping periodically. A store that cannot recover, or is busy or full, is logged, never fatal: serving
/// must not wait on it, and the next sweep tries again.
/// </summary>
internal static partial class OpenEpisodeRecovery
{
    /// <summary>Runs one sweep over <paramref name="tenant"/> (every tenant when null); null when recovery is off or could not run.</summary>
    public static async Task<AbandonedEpisodes?> RunAsync(ILoreStore store, string? tenant, TimeSpan idle, IReadOnlySet<string> running, TimeProvider time, ILogger logger, CancellationToken cancellationToken)
    {
        if (idle == Timeout.InfiniteTimeSpan || store.GetService<IEpisodeRecovery>() is not { } recovery)
        {
            return null;
        }

        var now = time.GetUtcNow();
        var sweep = new AbandonedEpisodeSweep { Tenant = tenant, IdleSince = now - idle, EndedAt = now, Running = running, Actor = "lore:recovery" };
        AbandonedEpisodes result;
        try
        {
            result = await recovery.AbandonIdleEpisodesAsync(sweep, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is StoreUnavailableException or InvalidDataException)
        {
            LogFailed(logger, tenant ?? "(all)", store.Location, e.Message);
            return null;
        }

        foreach (var (ended, ids) in result.EpisodeIdsByTenant)
        {
            LogAbandoned(logger, ids.Count, ended, idle, string.Join(", ", ids.Take(10)) + (ids.Count > 10 ? ", ..." : ""));
        }

        return result;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovered {Count} episodes of tenant {Tenant} left open by a process that stopped (no step for {Idle}): ended as abandoned, audited; outcomes can still judge them ({Ids}).")]
    private static partial void LogAbandoned(ILogger logger, int count, string tenant, TimeSpan idle, string ids);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Could not recover open episodes of tenant {Tenant} in {Store} now: {Reason}. The next start or sweep tries again.")]
    private static partial void LogFailed(ILogger logger, string tenant, string store, string reason);
}
