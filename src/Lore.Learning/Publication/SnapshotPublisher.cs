using System.Text.Json;

namespace Lore.Learning.Publication;

/// <summary>What became of a new snapshot when it was published.</summary>
internal enum PublicationOutcome
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
internal sealed record Publication(PublicationOutcome Outcome, RolloutState State, string Note);

/// <summary>
/// Puts a stored snapshot into service the way a <see cref="RolloutPolicy"/> says: at once, in shadow or in canary,
/// never past a freeze or over a running canary unless the policy allows it. Used by the learning pipeline's last step
/// and by the rollout monitor when it retires a harmful lesson; every change is saved compare-and-swap and audited.
/// </summary>
internal static class SnapshotPublisher
{
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
        policy = (policy ?? new RolloutPolicy()).Validate();
        var tenant = snapshot.Tenant;
        if (policy.EntryStage == RolloutStage.Canary && policy.CanaryGate is { } gate)
        {
            var current = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
            if (!current.Frozen && current.StableSnapshotId != snapshot.Id && current.CandidateSnapshotId != snapshot.Id)
            {
                var stable = current.StableSnapshotId is { } stableId ? await store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false) : null;
                var verdict = await gate(stable, snapshot, cancellationToken).ConfigureAwait(false);
                await store.AppendAuditAsync(
                    new AuditDraft
                    {
                        Tenant = tenant,
                        Actor = actor,
                        Action = verdict.Passed ? AuditActions.CanaryGatePassed : AuditActions.CanaryGateFailed,
                        Subject = snapshot.Id,
                        Reason = verdict.Reason,
                        DetailsJson = verdict.DetailsJson,
                        At = time.GetUtcNow(),
                    },
                    cancellationToken).ConfigureAwait(false);
                if (!verdict.Passed)
                {
                    return new Publication(PublicationOutcome.GateFailed, current, $"Snapshot {snapshot.Id} failed the canary gate and stays out of rollout: {verdict.Reason}");
                }
            }
        }

        var outcome = PublicationOutcome.Unchanged;
        string? replaced = null;

        var update = await RolloutStateWriter.UpdateAsync(
            store,
            tenant,
            current =>
            {
                replaced = null;
                if (current.Frozen)
                {
                    outcome = PublicationOutcome.Frozen;
                    return null;
                }

                if (current.StableSnapshotId == snapshot.Id
                    || (current.CandidateSnapshotId == snapshot.Id && (current.Stage == policy.EntryStage || policy.EntryStage == RolloutStage.None)))
                {
                    outcome = PublicationOutcome.Unchanged;
                    return null;
                }

                if (current.Stage == RolloutStage.Canary && current.CandidateSnapshotId is not null && current.CandidateSnapshotId != snapshot.Id && !policy.ReplaceRunningCanary)
                {
                    outcome = PublicationOutcome.Waiting;
                    return null;
                }

                replaced = current.CandidateSnapshotId is { } running && running != snapshot.Id ? running : null;
                var now = time.GetUtcNow();
                (outcome, var next) = policy.EntryStage switch
                {
                    RolloutStage.Shadow => (PublicationOutcome.Shadow, current with { CandidateSnapshotId = snapshot.Id, Stage = RolloutStage.Shadow, CanaryShare = 0 }),
                    RolloutStage.Canary => (PublicationOutcome.Canary, current with { CandidateSnapshotId = snapshot.Id, Stage = RolloutStage.Canary, CanaryShare = policy.CanaryShare }),
                    _ => (PublicationOutcome.Activated, current with { StableSnapshotId = snapshot.Id, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 }),
                };
                return next with { UpdatedAt = now, UpdatedBy = actor };
            },
            prepare: null,
            cancellationToken).ConfigureAwait(false);

        var state = update.After;
        if (!update.Changed)
        {
            var note = outcome switch
            {
                PublicationOutcome.Frozen => $"Tenant '{tenant}' is frozen ({state.FrozenReason}); snapshot {snapshot.Id} is stored but not in rollout.",
                PublicationOutcome.Waiting => $"Candidate {state.CandidateSnapshotId} is in canary; snapshot {snapshot.Id} is stored and waits until that canary is promoted or rolled back.",
                _ => $"Snapshot {snapshot.Id} is already in service for tenant '{tenant}'.",
            };
            return new Publication(outcome, state, note);
        }

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
            stage = state.Stage,
            canaryShare = state.CanaryShare,
            previousStable = update.Before.StableSnapshotId,
            replacedCandidate = replaced,
            policy = new { entryStage = policy.EntryStage, policy.CanaryShare, policy.ReplaceRunningCanary },
            rolloutVersion = state.Version,
        };
        await store.AppendAuditAsync(
            new AuditDraft
            {
                Tenant = tenant,
                Actor = actor,
                Action = action,
                Subject = snapshot.Id,
                Reason = reason,
                DetailsJson = JsonSerializer.Serialize(details, LoreJson.Options),
                At = time.GetUtcNow(),
            },
            cancellationToken).ConfigureAwait(false);

        var done = outcome switch
        {
            PublicationOutcome.Shadow => $"Snapshot {snapshot.Id} is in shadow for tenant '{tenant}'.",
            PublicationOutcome.Canary => $"Snapshot {snapshot.Id} is in canary for {state.CanaryShare.ToString("P0", System.Globalization.CultureInfo.InvariantCulture)} of the units of tenant '{tenant}'.",
            _ => $"Snapshot {snapshot.Id} is served to every unit of tenant '{tenant}'.",
        };
        return new Publication(outcome, state, replaced is null ? done : $"{done} It replaces candidate {replaced}.");
    }
}
