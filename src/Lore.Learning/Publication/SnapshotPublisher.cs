using System.Text.Json;

namespace Lore.Learning.Publication;

/// <summary>What became of a new snapshot when it was published.</summary>
public enum PublicationOutcome
{
    /// <summary>It became the stable snapshot, served to every unit (no staged rollout configured).</summary>
    Activated,

    /// <summary>It is the candidate in shadow: retrieved and logged, never injected.</summary>
    Shadow,

    /// <summary>It is the candidate in canary for a share of the units.</summary>
    Canary,

    /// <summary>Another candidate is in canary and the policy lets it finish; the snapshot is stored but not in rollout.</summary>
    Waiting,

    /// <summary>The tenant is frozen; the snapshot is stored but not in rollout.</summary>
    Frozen,

    /// <summary>The policy's canary gate (an offline evaluation) failed; the snapshot is stored but not in rollout.</summary>
    GateFailed,

    /// <summary>It already was the stable snapshot, or already the candidate at that stage.</summary>
    Unchanged,
}

/// <summary>The outcome, the rollout state after it, and a sentence for logs.</summary>
/// <param name="Outcome">Where the snapshot ended up, so a caller can tell a served snapshot from one merely stored.</param>
/// <param name="State">The tenant's rollout as saved (or as read, when nothing changed).</param>
/// <param name="Note">One sentence describing the result, for logs and audit reasons.</param>
public sealed record Publication(PublicationOutcome Outcome, RolloutState State, string Note);

/// <summary>
/// A publication decided but not yet written: the rollout change (null when there is nothing to write, not even an
/// audit entry) and how to describe the result once the change is saved.
/// </summary>
internal sealed record PublicationPlan(PublicationOutcome Outcome, RolloutState Before, RolloutChange? Change, Func<RolloutState, string> Describe)
{
    /// <summary>The publication as it stands once <see cref="Change"/> is saved (<paramref name="saved"/>: the rollout the store saved, if any).</summary>
    public Publication Complete(RolloutState? saved)
    {
        var state = saved ?? Change?.State ?? Before;
        return new Publication(Outcome, state, Describe(state));
    }
}

/// <summary>
/// Puts a stored snapshot into service the way a <see cref="RolloutPolicy"/> says: at once, in shadow or in canary,
/// never past a freeze or over a running canary unless the policy allows it. Used by the learning pipeline's last step
/// (which commits the plan with the rest of the pass) and by the rollout monitor when it retires a harmful lesson;
/// every change is saved compare-and-swap together with its audit entries, in one transaction. Public for the engine's
/// rollout monitor (package Lore), which publishes a snapshot without a learning pass.
/// </summary>
public static class SnapshotPublisher
{
    /// <summary>Decides and saves the publication (with its audit entries, atomically), deciding again on a lost race.</summary>
    public static async Task<Publication> PublishAsync(
        ILoreStore store,
        Snapshot snapshot,
        RolloutPolicy? policy,
        string actor,
        string reason,
        TimeProvider time,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(snapshot);
        var gate = new GateVerdicts();
        for (var attempt = 1; ; attempt++)
        {
            var plan = await PlanAsync(store, snapshot, policy, actor, reason, time, gate, cancellationToken).ConfigureAwait(false);
            if (plan.Change is null)
            {
                return plan.Complete(null);
            }

            try
            {
                var committed = await store.CommitLearningAsync(new LearningCommit { Tenant = snapshot.Tenant, Rollout = plan.Change }, cancellationToken).ConfigureAwait(false);
                return plan.Complete(committed.Rollout);
            }
            catch (StoreConflictException) when (attempt < RolloutStateWriter.MaxAttempts)
            {
                // Someone changed the rollout since it was read: decide again on what they left.
            }
        }
    }

    /// <summary>The canary gate's verdict per snapshot, so a publication decided again after a lost race does not run the gate twice.</summary>
    internal sealed class GateVerdicts
    {
        public Dictionary<string, CanaryGateResult> Verdicts { get; } = new(StringComparer.Ordinal);
    }

    /// <summary>
    /// Reads the rollout and decides what publishing the snapshot changes, without writing anything: the change is
    /// saved by whoever commits the plan, only if the rollout is still at the version it was decided on.
    /// </summary>
    internal static async Task<PublicationPlan> PlanAsync(
        ILoreStore store,
        Snapshot snapshot,
        RolloutPolicy? policy,
        string actor,
        string reason,
        TimeProvider time,
        GateVerdicts gates,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(snapshot);
        policy = (policy ?? new RolloutPolicy()).Validate();
        var tenant = snapshot.Tenant;
        var current = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        var audit = new List<AuditDraft>();
        if (current.Frozen)
        {
            return new PublicationPlan(PublicationOutcome.Frozen, current, null, state => $"Tenant '{tenant}' is frozen ({state.FrozenReason}); snapshot {snapshot.Id} is stored but not in rollout.");
        }

        if (current.StableSnapshotId == snapshot.Id
            || (current.CandidateSnapshotId == snapshot.Id && (current.Stage == policy.EntryStage || policy.EntryStage == RolloutStage.None)))
        {
            return new PublicationPlan(PublicationOutcome.Unchanged, current, null, _ => $"Snapshot {snapshot.Id} is already in service for tenant '{tenant}'.");
        }

        if (policy.EntryStage == RolloutStage.Canary && policy.CanaryGate is { } gate && current.CandidateSnapshotId != snapshot.Id)
        {
            if (!gates.Verdicts.TryGetValue(snapshot.Id, out var verdict))
            {
                var stable = current.StableSnapshotId is { } stableId ? await store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false) : null;
                verdict = await gate(stable, snapshot, cancellationToken).ConfigureAwait(false);
                gates.Verdicts[snapshot.Id] = verdict;
            }

            audit.Add(new AuditDraft
            {
                Tenant = tenant,
                Actor = actor,
                Action = verdict.Passed ? AuditActions.CanaryGatePassed : AuditActions.CanaryGateFailed,
                Subject = snapshot.Id,
                Reason = verdict.Reason,
                DetailsJson = verdict.DetailsJson,
                At = time.GetUtcNow(),
            });
            if (!verdict.Passed)
            {
                return new PublicationPlan(PublicationOutcome.GateFailed, current, new RolloutChange(null, current.Version, audit), _ => $"Snapshot {snapshot.Id} failed the canary gate and stays out of rollout: {verdict.Reason}");
            }
        }

        if (current.Stage == RolloutStage.Canary && current.CandidateSnapshotId is not null && current.CandidateSnapshotId != snapshot.Id && !policy.ReplaceRunningCanary)
        {
            return new PublicationPlan(
                PublicationOutcome.Waiting,
                current,
                audit.Count == 0 ? null : new RolloutChange(null, current.Version, audit),
                state => $"Candidate {state.CandidateSnapshotId} is in canary; snapshot {snapshot.Id} is stored and waits until that canary is promoted or rolled back.");
        }

        var replaced = current.CandidateSnapshotId is { } running && running != snapshot.Id ? running : null;
        var now = time.GetUtcNow();
        var (outcome, next) = policy.EntryStage switch
        {
            RolloutStage.Shadow => (PublicationOutcome.Shadow, current with { CandidateSnapshotId = snapshot.Id, Stage = RolloutStage.Shadow, CanaryShare = 0 }),
            RolloutStage.Canary => (PublicationOutcome.Canary, current with { CandidateSnapshotId = snapshot.Id, Stage = RolloutStage.Canary, CanaryShare = policy.CanaryShare }),
            _ => (PublicationOutcome.Activated, current with { StableSnapshotId = snapshot.Id, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 }),
        };
        next = next with { Tenant = tenant, UpdatedAt = now, UpdatedBy = actor };
        var action = outcome switch
        {
            PublicationOutcome.Shadow => AuditActions.SnapshotShadow,
            PublicationOutcome.Canary => AuditActions.SnapshotCanary,
            _ => AuditActions.SnapshotPromoted,
        };
        var details = new
        {
            snapshot = snapshot.Id,
            parent = snapshot.ParentId,
            stage = next.Stage,
            canaryShare = next.CanaryShare,
            previousStable = current.StableSnapshotId,
            replacedCandidate = replaced,
            policy = new { entryStage = policy.EntryStage, policy.CanaryShare, policy.ReplaceRunningCanary },
            rolloutVersion = current.Version + 1,
        };
        audit.Add(new AuditDraft
        {
            Tenant = tenant,
            Actor = actor,
            Action = action,
            Subject = snapshot.Id,
            Reason = reason,
            DetailsJson = JsonSerializer.Serialize(details, LoreJson.Options),
            At = now,
        });

        return new PublicationPlan(outcome, current, new RolloutChange(next, current.Version, audit), state =>
        {
            var done = outcome switch
            {
                PublicationOutcome.Shadow => $"Snapshot {snapshot.Id} is in shadow for tenant '{tenant}'.",
                PublicationOutcome.Canary => $"Snapshot {snapshot.Id} is in canary for {state.CanaryShare.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)} of the units of tenant '{tenant}'.",
                _ => $"Snapshot {snapshot.Id} is served to every unit of tenant '{tenant}'.",
            };
            return replaced is null ? done : $"{done} It replaces candidate {replaced}.";
        });
    }
}
