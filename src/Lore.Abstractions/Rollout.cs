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
