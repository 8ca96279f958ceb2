using Lore.Retrieval;

namespace Lore.Rollout;

/// <summary>
/// What one episode was given by the rollout, fixed at its start: its arm (null outside a rollout), the index it is
/// served from, and in shadow the candidate's index whose picks are recorded but never injected.
/// </summary>
/// <param name="Arm"><see cref="RolloutArms.Baseline"/>, <see cref="RolloutArms.Candidate"/>, or null when no candidate is in rollout.</param>
/// <param name="Served">The index whose lessons are injected.</param>
/// <param name="Shadow">In shadow, the candidate's index; otherwise null.</param>
/// <param name="Stage">The rollout stage when the episode began.</param>
/// <param name="CandidateSnapshotId">The candidate in rollout when the episode began, if any.</param>
/// <param name="CanaryShare">The canary share the arm was assigned under (0 outside a canary); a share change starts a new evaluation period.</param>
internal sealed record RolloutAssignment(string? Arm, LessonIndex Served, LessonIndex? Shadow, RolloutStage Stage, string? CandidateSnapshotId, double CanaryShare = 0);

/// <summary>
/// The rollout as this process serves it: the state read from the store and the retrieval indexes of its stable and
/// candidate snapshots. Immutable, and replaced as a whole by one reference swap, so an episode that reads it sees one
/// consistent rollout and a rollback in process is a pointer swap.
/// </summary>
internal sealed class ServedRollout
{
    private readonly RolloutAssignment _outside;
    private readonly RolloutAssignment? _baseline;
    private readonly RolloutAssignment? _candidate;

    public ServedRollout(RolloutState state, LessonIndex stable, LessonIndex? candidate)
    {
        ArgumentNullException.ThrowIfNull(state);
        ArgumentNullException.ThrowIfNull(stable);
        if (stable.SnapshotId != state.StableSnapshotId)
        {
            throw new ArgumentException($"The stable index is of snapshot '{stable.SnapshotId}', the state names '{state.StableSnapshotId}'.", nameof(stable));
        }

        if (candidate?.SnapshotId != state.CandidateSnapshotId)
        {
            throw new ArgumentException($"The candidate index is of snapshot '{candidate?.SnapshotId}', the state names '{state.CandidateSnapshotId}'.", nameof(candidate));
        }

        State = state;
        Stable = stable;
        Candidate = candidate;

        // Assignments are built once per served rollout, so beginning an episode allocates none.
        _outside = new RolloutAssignment(null, stable, null, RolloutStage.None, null);
        if (candidate is not null)
        {
            switch (state.Stage)
            {
                case RolloutStage.Shadow:
                    _baseline = new RolloutAssignment(RolloutArms.Baseline, stable, candidate, RolloutStage.Shadow, candidate.SnapshotId);
                    break;
                case RolloutStage.Canary:
                    _baseline = new RolloutAssignment(RolloutArms.Baseline, stable, null, RolloutStage.Canary, candidate.SnapshotId, state.CanaryShare);
                    _candidate = new RolloutAssignment(RolloutArms.Candidate, candidate, null, RolloutStage.Canary, candidate.SnapshotId, state.CanaryShare);
                    break;
            }
        }
    }

    /// <summary>The rollout as of the last read or change (its <see cref="RolloutState.Version"/> orders served states).</summary>
    public RolloutState State { get; }

    public LessonIndex Stable { get; }

    /// <summary>The candidate's index while a candidate is in shadow or canary.</summary>
    public LessonIndex? Candidate { get; }

    /// <summary>The rollout with the candidate dropped and nothing else changed (the in-process half of a rollback).</summary>
    public ServedRollout WithoutCandidate()
        => Candidate is null ? this : new ServedRollout(State with { CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 }, Stable, null);

    /// <summary>
    /// The arm and index of a unit: everyone gets the stable snapshot, except units whose position lies below the
    /// canary share, who get the candidate. A blank unit key counts as its own unit (the episode id stands in).
    /// </summary>
    public RolloutAssignment Assign(string unitKey, string episodeId)
    {
        if (_baseline is null)
        {
            return _outside;
        }

        if (_candidate is null)
        {
            return _baseline;
        }

        var unit = string.IsNullOrWhiteSpace(unitKey) ? episodeId : unitKey;
        return UnitPosition.InCanary(State.Tenant, unit, State.CanaryShare) ? _candidate : _baseline;
    }
}
