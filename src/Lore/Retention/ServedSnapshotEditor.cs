namespace Lore.Retention;

/// <summary>The snapshots served before and after an edit; a side is unchanged when its before and after are equal.</summary>
internal sealed record ServedSnapshots(string? StableBefore, string? StableAfter, string? CandidateBefore, string? CandidateAfter, RolloutState State)
{
    public bool Changed => StableBefore != StableAfter || CandidateBefore != CandidateAfter;
}

/// <summary>
/// Takes lessons out of what is served without waiting for learning: a new snapshot, child of the stable one, with
/// the edits applied, becomes stable at once; a candidate in rollout is replaced the same way (a child of it, same
/// stage and share), so that neither arm keeps serving what was retired. Saved compare-and-swap on the rollout.
/// </summary>
internal static class ServedSnapshotEditor
{
    private const int MaxAttempts = 8;

    public static async Task<ServedSnapshots> ApplyAsync(
        ILoreStore store,
        string tenant,
        LessonEdits edits,
        AuditTrail audit,
        string actor,
        string reason,
        bool evenWhenFrozen,
        CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            var state = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
            if (state.Frozen && !evenWhenFrozen)
            {
                throw new InvalidOperationException($"Tenant '{tenant}' is frozen ({state.FrozenReason ?? "no reason given"}): nothing may change what it is served. Unfreeze it first; nothing was changed.");
            }

            var stable = await DeriveAsync(store, tenant, state.StableSnapshotId, edits, actor, reason, cancellationToken).ConfigureAwait(false);
            var candidate = await DeriveAsync(store, tenant, state.CandidateSnapshotId, edits, actor, reason, cancellationToken).ConfigureAwait(false);
            if (stable is null && candidate is null)
            {
                return new ServedSnapshots(state.StableSnapshotId, state.StableSnapshotId, state.CandidateSnapshotId, state.CandidateSnapshotId, state);
            }

            foreach (var derived in new[] { stable, candidate })
            {
                if (derived is not null)
                {
                    await store.SaveSnapshotAsync(derived.Snapshot, cancellationToken).ConfigureAwait(false);
                }
            }

            var next = state with
            {
                StableSnapshotId = stable?.Snapshot.Id ?? state.StableSnapshotId,
                CandidateSnapshotId = candidate?.Snapshot.Id ?? state.CandidateSnapshotId,
                UpdatedBy = actor,
                UpdatedAt = edits.Now,
            };
            RolloutState saved;
            try
            {
                saved = await store.SaveRolloutAsync(next, state.Version, cancellationToken).ConfigureAwait(false);
            }
            catch (StoreConflictException) when (attempt < MaxAttempts)
            {
                // The rollout moved while the snapshots were built (a promotion, a rollback): derive again from what it is now.
                continue;
            }

            var result = new ServedSnapshots(state.StableSnapshotId, saved.StableSnapshotId, state.CandidateSnapshotId, saved.CandidateSnapshotId, saved);
            await AuditAsync(audit, tenant, stable, candidate, result, edits, actor, reason, cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    /// <summary>A child of a served snapshot and the lessons it no longer serves.</summary>
    private sealed record Derived(Snapshot Snapshot, IReadOnlyList<string> Removed);

    /// <summary>The child of a served snapshot with the edits applied, or null when they change nothing it serves.</summary>
    private static async Task<Derived?> DeriveAsync(ILoreStore store, string tenant, string? snapshotId, LessonEdits edits, string actor, string reason, CancellationToken cancellationToken)
    {
        if (snapshotId is null)
        {
            return null;
        }

        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The rollout of tenant '{tenant}' serves snapshot '{snapshotId}', which is not in the store.");
        if (!snapshot.Lessons.Any(edits.Touches))
        {
            return null;
        }

        var lessons = snapshot.Lessons.Select(edits.Apply).ToArray();
        var child = Snapshot.Create(snapshot.Id, tenant, lessons, snapshot.Settings, actor, reason, edits.Now);
        var kept = child.Lessons.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        return new Derived(child, [.. snapshot.Lessons.Select(l => l.Id).Where(id => !kept.Contains(id))]);
    }

    private static async Task AuditAsync(AuditTrail audit, string tenant, Derived? stable, Derived? candidate, ServedSnapshots served, LessonEdits edits, string actor, string reason, CancellationToken cancellationToken)
    {
        foreach (var (derived, role) in new[] { (stable, "stable"), (candidate, "candidate") })
        {
            if (derived is null)
            {
                continue;
            }

            await audit.RecordAsync(tenant, actor, AuditActions.SnapshotCreated, derived.Snapshot.Id, reason, new
            {
                snapshot = derived.Snapshot.Id,
                parent = derived.Snapshot.ParentId,
                servedAs = role,
                lessons = derived.Snapshot.Lessons.Count,
                lessonIds = derived.Snapshot.Lessons.Select(l => l.Id),
                retiredLessons = derived.Removed,
                episodesDroppedFromEvidence = edits.DeletedEpisodes.Count,
            }, cancellationToken).ConfigureAwait(false);
        }

        if (stable is not null)
        {
            await audit.RecordAsync(tenant, actor, AuditActions.SnapshotPromoted, stable.Snapshot.Id, reason, new
            {
                snapshot = stable.Snapshot.Id,
                previousStable = served.StableBefore,
                retiredLessons = stable.Removed,
                rolloutVersion = served.State.Version,
            }, cancellationToken).ConfigureAwait(false);
        }

        if (candidate is not null)
        {
            await audit.RecordAsync(tenant, actor, served.State.Stage == RolloutStage.Shadow ? AuditActions.SnapshotShadow : AuditActions.SnapshotCanary, candidate.Snapshot.Id, reason, new
            {
                snapshot = candidate.Snapshot.Id,
                replacedCandidate = served.CandidateBefore,
                stage = served.State.Stage,
                canaryShare = served.State.CanaryShare,
                retiredLessons = candidate.Removed,
                rolloutVersion = served.State.Version,
            }, cancellationToken).ConfigureAwait(false);
        }
    }
}
