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
    /// <summary>The tenant this rollout belongs to; each tenant rolls out on its own.</summary>
    public required string Tenant { get; init; }

    /// <summary>The promoted snapshot every unit outside the canary gets (same as the store's active snapshot).</summary>
    public string? StableSnapshotId { get; init; }

    /// <summary>The snapshot being tried (in shadow or canary), or null when nothing is in rollout.</summary>
    public string? CandidateSnapshotId { get; init; }

    /// <summary>How far the candidate has got: none, shadow (logged, never injected) or canary (served to a share of units).</summary>
    public RolloutStage Stage { get; init; }

    /// <summary>Share of units in the candidate arm during canary, in [0, 1].</summary>
    public double CanaryShare { get; init; }

    /// <summary>While frozen, nothing changes what is served: no learning snapshot, no promotion, no automatic action.</summary>
    public bool Frozen { get; init; }

    /// <summary>Why the rollout was frozen, in the words of whoever froze it.</summary>
    public string? FrozenReason { get; init; }

    /// <summary>Increases by one on every save; 0 for a tenant that has never saved one.</summary>
    public long Version { get; init; }

    /// <summary>When the rollout last changed.</summary>
    public DateTimeOffset UpdatedAt { get; init; }

    /// <summary>Who last changed the rollout (a person, a key, or the rollout monitor).</summary>
    public string UpdatedBy { get; init; } = "";
}

/// <summary>
/// A write the store's state refuses: it lost a race (the state changed since it was read; re-read and decide again) or
/// it names an id that is already taken. It is an <see cref="InvalidOperationException"/>, so older catch sites still see it.
/// </summary>
public sealed class StoreConflictException : InvalidOperationException
{
    /// <summary>A conflict with no further detail.</summary>
    public StoreConflictException()
        : base("The store refused the write: its state changed since it was read, or the id is taken.")
    {
    }

    /// <summary>A conflict explained by <paramref name="message"/>.</summary>
    public StoreConflictException(string message)
        : base(message)
    {
    }

    /// <summary>A conflict explained by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public StoreConflictException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>Why a rollout action was refused by the tenant's rollout state.</summary>
public enum RolloutRefusal
{
    /// <summary>The tenant is frozen: nothing enters service until it is unfrozen.</summary>
    Frozen,

    /// <summary>There is no candidate in shadow or canary to promote, roll back or put in canary.</summary>
    NoCandidate,

    /// <summary>The snapshot is already the stable one; a candidate must differ from it.</summary>
    AlreadyStable,

    /// <summary>The snapshot belongs to another tenant.</summary>
    OtherTenant,
}

/// <summary>
/// A rollout action (canary, promote, roll back, activate) that the tenant's current state refuses; <see cref="Reason"/>
/// says which refusal, so callers branch on it instead of parsing messages. An <see cref="InvalidOperationException"/>,
/// so older catch sites still see it.
/// </summary>
public sealed class RolloutRefusedException : InvalidOperationException
{
    /// <summary>A refusal with no further detail.</summary>
    public RolloutRefusedException()
        : base("The rollout state refused the action.")
    {
    }

    /// <summary>A refusal explained by <paramref name="message"/>.</summary>
    public RolloutRefusedException(string message)
        : base(message)
    {
    }

    /// <summary>A refusal explained by <paramref name="message"/>, caused by <paramref name="innerException"/>.</summary>
    public RolloutRefusedException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A refusal for <paramref name="reason"/>, explained by <paramref name="message"/>.</summary>
    public RolloutRefusedException(RolloutRefusal reason, string message)
        : base(message)
    {
        Reason = reason;
    }

    /// <summary>Which refusal this is.</summary>
    public RolloutRefusal Reason { get; }
}

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
    /// <summary>Why the store refused (busy, full), so a caller can decide whether retrying helps.</summary>
    public StoreUnavailableReason Reason { get; } = reason;

    /// <summary>How long a client should wait before retrying.</summary>
    public TimeSpan RetryAfter => Reason == StoreUnavailableReason.Busy ? TimeSpan.FromSeconds(2) : TimeSpan.FromSeconds(60);
}

/// <summary>
/// One judged canary episode as the tenant's shared rollout tally counts it: which candidate and canary share it was
/// served under, its arm, slice and unit, and its score. Every host writes its own episodes to the store and every
/// host evaluates the same sums, so one decision is made for the tenant and each episode counts once.
/// </summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="CandidateSnapshotId">The candidate in rollout when the episode began.</param>
/// <param name="CanaryShare">The canary share the unit's arm was assigned under (a share change starts a new period).</param>
/// <param name="EpisodeId">The episode; a second record of the same episode for the same candidate is ignored.</param>
/// <param name="Arm"><c>baseline</c> or <c>candidate</c>.</param>
/// <param name="Slice">The episode's slice label.</param>
/// <param name="UnitKey">The unit the arm was assigned by (the episode id for an episode without a unit).</param>
/// <param name="Score">The outcome score in [0, 1].</param>
public sealed record RolloutOutcome(string Tenant, string CandidateSnapshotId, double CanaryShare, string EpisodeId, string Arm, string Slice, string UnitKey, double Score)
{
    /// <summary>The episode's normalised failure mode (see <c>FailureModes</c>); null for a success.</summary>
    public string? FailureMode { get; init; }

    /// <summary>The longest failure mode a store keeps (modes are normalised and cut well below it).</summary>
    public const int FailureModeMaxLength = 512;

    /// <summary>Throws an <see cref="ArgumentException"/> naming the first field a store cannot count.</summary>
    public void Validate()
    {
        static void Require(string? value, string name, string episode)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"The rollout outcome of episode '{episode}' has a blank {name}.", name);
            }
        }

        Require(EpisodeId, nameof(EpisodeId), EpisodeId);
        Require(Tenant, nameof(Tenant), EpisodeId);
        Require(CandidateSnapshotId, nameof(CandidateSnapshotId), EpisodeId);
        Require(Slice, nameof(Slice), EpisodeId);
        Require(UnitKey, nameof(UnitKey), EpisodeId);
        if (Arm is not ("baseline" or "candidate"))
        {
            throw new ArgumentException($"The rollout outcome of episode '{EpisodeId}' has arm '{Arm}'; expected 'baseline' or 'candidate'.", nameof(Arm));
        }

        if (double.IsNaN(Score) || Score < 0 || Score > 1)
        {
            throw new ArgumentException($"The rollout outcome of episode '{EpisodeId}' has score {Score}; scores lie in [0, 1].", nameof(Score));
        }

        if (FailureMode is { Length: 0 or > FailureModeMaxLength })
        {
            throw new ArgumentException($"The rollout outcome of episode '{EpisodeId}' has a failure mode of {FailureMode.Length} characters; a mode has 1 to {FailureModeMaxLength}.", nameof(FailureMode));
        }

        if (double.IsNaN(CanaryShare) || CanaryShare < 0 || CanaryShare > 1)
        {
            throw new ArgumentException($"The rollout outcome of episode '{EpisodeId}' has canary share {CanaryShare}; shares lie in [0, 1].", nameof(CanaryShare));
        }
    }
}

/// <summary>
/// The shared tally's sums for one unit in one arm and slice of one canary share: what the cluster-robust test needs,
/// and the first record's sequence (so periods and slices can be ordered by when they first appeared).
/// </summary>
public sealed record RolloutUnitTally(double CanaryShare, string Arm, string Slice, string UnitKey, int Episodes, double ScoreSum, double SquaredSum, long FirstSequence);

/// <summary>
/// How many judged episodes of one unit, in one arm and slice of one canary share, failed in one failure mode: with the
/// unit sums of <see cref="RolloutUnitTally"/> it gives each mode's cluster-robust rate per arm.
/// </summary>
public sealed record RolloutFailureTally(double CanaryShare, string Arm, string Slice, string UnitKey, string FailureMode, int Episodes, long FirstSequence);
