using System.Text.Json;
using Lore.Learning.Publication;
using Microsoft.Extensions.Logging;

namespace Lore.Learning;

// The last step of a run: a new snapshot is audited as created and handed to the rollout the way the policy says
// (served at once, shadow or canary), never past a freeze; with ActivateNewSnapshot off it is only stored.
public sealed partial class LearningPipeline
{
    /// <summary>
    /// How new snapshots enter service; null (or an <see cref="RolloutPolicy.EntryStage"/> of None) serves them to
    /// every unit at once, as a runtime without staged rollout does.
    /// </summary>
    public RolloutPolicy? Rollout { get; init; }

    /// <summary>
    /// Commits a pass (or a review's publication) in one transaction, with the publication of its snapshot decided on
    /// the rollout as read just before: when another host changes the rollout in between, the store refuses the commit
    /// whole and the publication is decided again on what that host left.
    /// </summary>
    private async Task<LearningCommitResult> CommitAsync(LearningCommit commit, Snapshot? snapshot, string actor, string reason, CancellationToken cancellationToken, RolloutPolicy? policy = null)
    {
        var gates = new SnapshotPublisher.GateVerdicts();
        for (var attempt = 1; ; attempt++)
        {
            PublicationPlan? plan = null;
            if (snapshot is not null && (_options.ActivateNewSnapshot || policy is not null))
            {
                plan = await SnapshotPublisher.PlanAsync(_store, snapshot, policy ?? Rollout, actor, reason, _time, gates, cancellationToken).ConfigureAwait(false);
            }

            try
            {
                var committed = await _store.CommitLearningAsync(commit with { Rollout = plan?.Change }, cancellationToken).ConfigureAwait(false);
                if (plan is not null)
                {
                    LogPublication(_logger, plan.Complete(committed.Rollout).Note);
                }

                return committed;
            }
            catch (StoreConflictException) when (plan?.Change is not null && attempt < RolloutStateWriter.MaxAttempts)
            {
                // The rollout changed since the plan was made: decide the publication again. A conflict that is not
                // the rollout's (a lease granted to another worker) is the caller's to handle.
                var now = await _store.GetRolloutAsync(plan.Before.Tenant, cancellationToken).ConfigureAwait(false);
                if (now.Version == plan.Before.Version)
                {
                    throw;
                }
            }
        }
    }

    /// <summary>The audit record of a snapshot's creation; the store appends it only if the snapshot is new (the same content learned again has the same id).</summary>
    internal AuditDraft CreatedAudit(Snapshot snapshot, string runId, string actor)
    {
        var created = new
        {
            snapshot = snapshot.Id,
            parent = snapshot.ParentId,
            lessons = snapshot.Lessons.Count,
            lessonIds = snapshot.Lessons.Select(l => l.Id),
            run = runId,
        };
        return new AuditDraft
        {
            Tenant = snapshot.Tenant,
            Actor = actor,
            Action = AuditActions.SnapshotCreated,
            Subject = snapshot.Id,
            Reason = snapshot.Reason,
            DetailsJson = JsonSerializer.Serialize(created, LoreJson.Options),
            At = _time.GetUtcNow(),
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Note}")]
    private static partial void LogPublication(ILogger logger, string note);
}
