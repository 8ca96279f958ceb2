namespace Lore;

/// <summary>
/// A learning worker's claim on an ended episode: until <see cref="ExpiresAt"/> no other worker gets it, and
/// completing the lease marks the episode processed for good. A worker that dies simply lets its leases expire,
/// so the episodes are leased again and processed by another worker; none is processed twice.
/// </summary>
public sealed record EpisodeLease
{
    /// <summary>The leased episode; only the worker holding the lease processes it until it expires.</summary>
    public required string EpisodeId { get; init; }

    /// <summary>The episode's store sequence, so a worker processes its leases in arrival order.</summary>
    public required long Sequence { get; init; }

    /// <summary>The tenant of the episode; a lease never crosses tenants.</summary>
    public required string Tenant { get; init; }

    /// <summary>The worker the lease was granted to, so operators can tell which process holds which episodes.</summary>
    public required string Worker { get; init; }

    /// <summary>Unique per grant: completing with a stale token (the lease expired and was granted again) fails.</summary>
    public required string Token { get; init; }

    /// <summary>After this the lease lapses and the episode may be leased to another worker (how a dead worker's episodes are recovered).</summary>
    public required DateTimeOffset ExpiresAt { get; init; }

    /// <summary>How many times the episode has been leased, this grant included.</summary>
    public int Attempt { get; init; }
}

/// <summary>A change another process made to shared state, pushed to hosts so they do not wait for their next poll.</summary>
/// <param name="Kind">What changed: <see cref="StoreChangeKinds"/>.</param>
/// <param name="Tenant">Whose state changed.</param>
public sealed record StoreChange(string Kind, string Tenant);

/// <summary>Names of <see cref="StoreChange.Kind"/>.</summary>
public static class StoreChangeKinds
{
    /// <summary>The tenant's rollout (stable, candidate, stage, share, freeze) was saved.</summary>
    public const string Rollout = "rollout";

    /// <summary>The feed lost its connection or may have missed changes: re-read everything watched.</summary>
    public const string Resync = "resync";
}

/// <summary>
/// Implemented by stores that can push changes made by other processes (PostgreSQL LISTEN/NOTIFY). Hosts still
/// poll as a fallback, so a store without a feed, or a dropped notification, only delays a change.
/// </summary>
public interface IStoreChangeFeed
{
    /// <summary>Yields changes until cancelled; after a reconnect yields a <see cref="StoreChangeKinds.Resync"/>.</summary>
    IAsyncEnumerable<StoreChange> WatchAsync(CancellationToken cancellationToken);
}
