namespace Lore;

/// <summary>Where a candidate snapshot is in its rollout.</summary>
public enum RolloutStage
{
    /// <summary>No candidate: every unit gets the stable snapshot.</summary>
    None,

    /// <summary>The candidate is retrieved and logged for every unit but never injected.</summary>
    Shadow,

    /// <summary>A share of units (by a stable hash of the unit key) gets the candidate; the rest the stable snapshot.</summary>
    Canary,
}

/// <summary>
/// Which snapshot each unit of a tenant gets. The stable snapshot is the one served by default (the "active"
/// snapshot); a candidate moves shadow -> canary -> promoted (becoming stable). Versioned, so two hosts changing
/// it at once cannot silently overwrite each other.
/// </summary>
public sealed record RolloutState
{
    public required string Tenant { get; init; }

    /// <summary>The promoted snapshot every unit outside the canary gets (same as the store's active snapshot).</summary>
    public string? StableSnapshotId { get; init; }

    public string? CandidateSnapshotId { get; init; }

    public RolloutStage Stage { get; init; }

    /// <summary>Share of units in the candidate arm during canary, in [0, 1].</summary>
    public double CanaryShare { get; init; }

    /// <summary>While frozen, nothing changes what is served: no learning snapshot, no promotion, no automatic action.</summary>
    public bool Frozen { get; init; }

    public string? FrozenReason { get; init; }

    /// <summary>Increases by one on every save; 0 for a tenant that has never saved one.</summary>
    public long Version { get; init; }

    public DateTimeOffset UpdatedAt { get; init; }

    public string UpdatedBy { get; init; } = "";
}

/// <summary>A write that lost a race: the state changed since it was read. Re-read and decide again.</summary>
public sealed class StoreConflictException(string message) : Exception(message);

/// <summary>Why a store cannot take an operation now.</summary>
public enum StoreUnavailableReason
{
    /// <summary>Another writer holds the store (SQLite's write lock past the busy timeout, PostgreSQL out of connections or locks): retry shortly.</summary>
    Busy,

    /// <summary>The disk (or the database's quota) is full: nothing more can be written until space is freed.</summary>
    Full,

    /// <summary>The disk failed a read or write (a full disk is the usual cause of a failed write).</summary>
    Failing,
}

/// <summary>
/// The store could not take an operation now, for a reason the operator can act on (busy, full disk): nothing of the
/// operation was written. Servers answer it with 503 and Retry-After instead of a 500; the message names the store and
/// the reason. It derives from <see cref="IOException"/>, as the store's I/O failures did before it was named.
/// </summary>
public sealed class StoreUnavailableException(StoreUnavailableReason reason, string message, Exception? innerException = null) : IOException(message, innerException)
{
    public StoreUnavailableReason Reason { get; } = reason;

    /// <summary>How long a client should wait before retrying.</summary>
    public TimeSpan RetryAfter => Reason == StoreUnavailableReason.Busy ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(60);
}
