namespace Lore;

/// <summary>
/// What a tenant's rollout is and how its canary is doing: the state, when the current canary began, and the
/// sequential evaluation of the episodes served since then. Read from the store, so the CLI, the REST API and the
/// dashboard report the same figures.
/// </summary>
/// <param name="State">The rollout as stored.</param>
/// <param name="CanarySince">When the running canary of the candidate began (null outside a canary, or when no audit entry says).</param>
/// <param name="Evaluation">The canary's evaluation so far, overall and per slice; null outside a canary.</param>
/// <param name="Shift">How the mix of failure modes moved between the arms so far; null outside a canary.</param>
public sealed record RolloutStatus(RolloutState State, DateTimeOffset? CanarySince, EvaluationDecision? Evaluation, FailureShift? Shift = null)
{
    /// <summary>Reads the tenant's rollout and, during a canary, evaluates the shared tally of the current share period.</summary>
    public static async Task<RolloutStatus> ReadAsync(ILoreStore store, string tenant, EvaluationPolicy policy, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentNullException.ThrowIfNull(policy);
        var state = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (state is not { Stage: RolloutStage.Canary, CandidateSnapshotId: { } candidate })
        {
            return new RolloutStatus(state, null, null);
        }

        var since = await CanaryStartAsync(store, tenant, candidate, cancellationToken).ConfigureAwait(false);

        // The same shared tally, period and plan the monitors decide on, so status shows what they see. When no
        // monitor has counted anything (episodes imported straight into the store), the stored episodes of both arms
        // since the canary began are counted by unit instead.
        var rows = await store.ReadRolloutTallyAsync(tenant, candidate, cancellationToken).ConfigureAwait(false);
        var outcomes = SharedRolloutTally.ToOutcomes(rows, state.CanaryShare);
        var failures = FailureCounts.FromSharedTally(rows, await store.ReadRolloutFailureTallyAsync(tenant, candidate, cancellationToken).ConfigureAwait(false), state.CanaryShare);
        if (outcomes is null)
        {
            var counted = new List<Episode>();
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, cancellationToken).ConfigureAwait(false))
            {
                var inArm = (episode.Arm == RolloutArms.Candidate && episode.SnapshotId == candidate)
                    || (episode.Arm == RolloutArms.Baseline && episode.SnapshotId == state.StableSnapshotId);
                if (inArm && (since is null || episode.StartedAt >= since))
                {
                    counted.Add(episode);
                }
            }

            outcomes = RolloutOutcomes.FromEpisodes(counted);
            failures = FailureCounts.FromEpisodes(counted);
        }

        var decision = new RolloutEvaluator(policy).Evaluate(outcomes);
        var shift = failures is null ? FailureShift.Empty : new FailureShiftAnalyzer(policy).Analyze(failures);
        return new RolloutStatus(state, since, decision, shift);
    }

    /// <summary>When the current canary of the candidate began: its first canary entry after the last promotion or rollback.</summary>
    private static async Task<DateTimeOffset?> CanaryStartAsync(ILoreStore store, string tenant, string candidate, CancellationToken cancellationToken)
    {
        DateTimeOffset? since = null;
        await foreach (var entry in store.ReadAuditAsync(0, cancellationToken).ConfigureAwait(false))
        {
            if (entry.Tenant != tenant)
            {
                continue;
            }

            if (entry.Action is AuditActions.SnapshotPromoted or AuditActions.SnapshotRolledBack)
            {
                since = null;
            }
            else if (entry.Action == AuditActions.SnapshotCanary && entry.Subject == candidate)
            {
                since ??= entry.At;
            }
        }

        return since;
    }
}
