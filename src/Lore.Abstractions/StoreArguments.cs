using System.Text.Json;

namespace Lore;

/// <summary>
/// The argument checks every <see cref="ILoreStore"/> makes before it writes, in one place, so that the engines refuse
/// the same inputs with the same messages (the contract suite holds them to it) and a new engine need not copy them.
/// </summary>
public static class StoreArguments
{
    /// <summary>
    /// The refusal of a step for an episode an outcome ended (<see cref="EpisodeEndReasons.Outcome"/>) while another
    /// process still captured it: names the episode and when it ended, and says the batch was not written.
    /// </summary>
    public static StoreConflictException StepAfterOutcomeEnd(string episodeId, DateTimeOffset endedAt, int batchSize)
        => new($"Episode '{episodeId}' was ended at {endedAt:O} by an outcome recorded while it was open elsewhere; its capture can add no more steps. " +
            $"The batch of {batchSize} capture records was not written; start a new episode for further steps.");

    /// <summary>Refuses a null list, a null lesson, an empty id or an undefined status, naming the lesson.</summary>
    public static void CheckLessons(IReadOnlyList<Lesson> lessons)
    {
        ArgumentNullException.ThrowIfNull(lessons);
        for (var i = 0; i < lessons.Count; i++)
        {
            if (lessons[i] is null || string.IsNullOrWhiteSpace(lessons[i].Id))
            {
                throw new ArgumentException($"Lesson {i} of the list is null or has an empty id; no lesson was saved.", nameof(lessons));
            }

            if (!Enum.IsDefined(lessons[i].Status))
            {
                throw new ArgumentException($"Lesson '{lessons[i].Id}' has status {(int)lessons[i].Status}, which is not a LessonStatus; no lesson was saved.", nameof(lessons));
            }
        }
    }

    /// <summary>Refuses an audit draft without tenant, actor, action or subject, or whose details are not a JSON object.</summary>
    public static void CheckAuditDraft(AuditDraft draft)
    {
        ArgumentNullException.ThrowIfNull(draft);
        var what = string.IsNullOrWhiteSpace(draft.Action) || string.IsNullOrWhiteSpace(draft.Subject)
            ? "The audit draft"
            : $"The audit draft ({draft.Action} on '{draft.Subject}')";
        RequireText(draft.Tenant, "Tenant");
        RequireText(draft.Actor, "Actor");
        RequireText(draft.Action, "Action");
        RequireText(draft.Subject, "Subject");
        if (draft.Reason is null)
        {
            throw new ArgumentException($"{what} has a null Reason; use \"\" for none. Nothing was written.", nameof(draft));
        }

        if (draft.DetailsJson is null)
        {
            throw new ArgumentException($"{what} has null DetailsJson; use \"{{}}\" for none. Nothing was written.", nameof(draft));
        }

        try
        {
            using var details = JsonDocument.Parse(draft.DetailsJson);
            if (details.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new ArgumentException(
                    $"{what} has DetailsJson that is a JSON {details.RootElement.ValueKind.ToString().ToLowerInvariant()}, not a JSON object. Nothing was written.",
                    nameof(draft));
            }
        }
        catch (JsonException e)
        {
            throw new ArgumentException($"{what} has DetailsJson that is not valid JSON ({e.Message}). Nothing was written.", nameof(draft), e);
        }

        void RequireText(string? value, string field)
        {
            if (string.IsNullOrWhiteSpace(value))
            {
                throw new ArgumentException($"{what} has an empty {field}; every audit entry names its tenant, actor, action and subject. Nothing was written.", nameof(draft));
            }
        }
    }

    /// <summary>
    /// Refuses a rollout state no store may save: no tenant, an undefined stage, a share outside [0, 1], a candidate
    /// without a stage (or the reverse), or one snapshot as both stable and candidate.
    /// </summary>
    public static void CheckRollout(RolloutState state, long expectedVersion)
    {
        ArgumentNullException.ThrowIfNull(state);
        if (string.IsNullOrEmpty(state.Tenant))
        {
            throw new ArgumentException("The rollout state has an empty tenant; nothing was saved.", nameof(state));
        }

        ArgumentOutOfRangeException.ThrowIfNegative(expectedVersion);
        var tenant = state.Tenant;
        if (!Enum.IsDefined(state.Stage))
        {
            throw new ArgumentException($"The rollout of tenant '{tenant}' has stage {(int)state.Stage}, which is not a RolloutStage; nothing was saved.", nameof(state));
        }

        if (double.IsNaN(state.CanaryShare) || state.CanaryShare is < 0 or > 1)
        {
            throw new ArgumentException($"The rollout of tenant '{tenant}' has canary share {state.CanaryShare}; it must be in [0, 1]. Nothing was saved.", nameof(state));
        }

        if (state.Stage == RolloutStage.None && state.CandidateSnapshotId is not null)
        {
            throw new ArgumentException(
                $"The rollout of tenant '{tenant}' has candidate '{state.CandidateSnapshotId}' with stage None; a candidate is in Shadow or Canary " +
                "(clear the candidate to end a rollout). Nothing was saved.", nameof(state));
        }

        if (state.Stage != RolloutStage.None && state.CandidateSnapshotId is null)
        {
            throw new ArgumentException($"The rollout of tenant '{tenant}' is in stage {state.Stage} without a candidate snapshot. Nothing was saved.", nameof(state));
        }

        if (state.CandidateSnapshotId is not null && state.CandidateSnapshotId == state.StableSnapshotId)
        {
            throw new ArgumentException(
                $"The rollout of tenant '{tenant}' has snapshot '{state.CandidateSnapshotId}' as both stable and candidate; promote a candidate by making it " +
                "stable and clearing the candidate. Nothing was saved.", nameof(state));
        }
    }
    /// <summary>
    /// Refuses a learning commit that no store may apply: any part that is invalid on its own (a lesson, an audit draft,
    /// the rollout), a snapshot that does not match its content address, or a part that belongs to another tenant than
    /// <see cref="LearningCommit.Tenant"/>. The message names the part; nothing was written.
    /// </summary>
    public static void CheckLearningCommit(LearningCommit commit)
    {
        ArgumentNullException.ThrowIfNull(commit);
        if (string.IsNullOrWhiteSpace(commit.Tenant))
        {
            throw new ArgumentException("The learning commit has an empty tenant; nothing was written.", nameof(commit));
        }

        var tenant = commit.Tenant;
        CheckLessons(commit.Lessons);
        if (commit.Lessons.FirstOrDefault(l => (l.Scope?.Tenant ?? Tenants.Default) != tenant) is { } foreign)
        {
            throw new ArgumentException($"Lesson '{foreign.Id}' of the learning commit belongs to tenant '{foreign.Scope?.Tenant}', not to '{tenant}'; nothing was written.", nameof(commit));
        }

        ArgumentNullException.ThrowIfNull(commit.LessonAudit, nameof(commit.LessonAudit));
        ArgumentNullException.ThrowIfNull(commit.CompletedLeases, nameof(commit.CompletedLeases));
        var drafts = commit.LessonAudit.Concat(commit.SnapshotCreatedAudit is { } created ? [created] : []).Concat(commit.Rollout?.Audit ?? []);
        foreach (var draft in drafts)
        {
            CheckAuditDraft(draft);
        }

        if (commit.Snapshot is { } snapshot)
        {
            ArgumentNullException.ThrowIfNull(snapshot.Lessons, nameof(commit.Snapshot));
            if (snapshot.Tenant != tenant)
            {
                throw new ArgumentException($"Snapshot '{snapshot.Id}' of the learning commit belongs to tenant '{snapshot.Tenant}', not to '{tenant}'; nothing was written.", nameof(commit));
            }

            var contentId = Snapshot.ComputeId(snapshot.ParentId, snapshot.Tenant, snapshot.Lessons, snapshot.Settings);
            if (contentId != snapshot.Id)
            {
                throw new ArgumentException(
                    $"Snapshot '{snapshot.Id}' does not match its content (which hashes to '{contentId}'): it was changed after Snapshot.Create. Nothing was written.", nameof(commit));
            }
        }

        if (commit.Rollout is { } rollout)
        {
            ArgumentNullException.ThrowIfNull(rollout.Audit, nameof(commit.Rollout));
            ArgumentOutOfRangeException.ThrowIfNegative(rollout.ExpectedVersion);
            if (rollout.State is { } state)
            {
                CheckRollout(state, rollout.ExpectedVersion);
                if (state.Tenant != tenant)
                {
                    throw new ArgumentException($"The rollout of the learning commit is tenant '{state.Tenant}''s, not '{tenant}''s; nothing was written.", nameof(commit));
                }
            }
        }

        if (commit.Run is { } run)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(run.Id, nameof(commit.Run));
            if (run.Tenant != tenant)
            {
                throw new ArgumentException($"Learning run '{run.Id}' belongs to tenant '{run.Tenant}', not to '{tenant}'; nothing was written.", nameof(commit));
            }
        }

        if (commit.Cursor is { } cursor)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(cursor.Name, nameof(commit.Cursor));
        }

        for (var i = 0; i < commit.CompletedLeases.Count; i++)
        {
            var lease = commit.CompletedLeases[i];
            if (lease is null || lease.Tenant != tenant)
            {
                throw new ArgumentException(
                    lease is null
                        ? $"Lease {i} of the learning commit is null; nothing was written."
                        : $"The lease of episode '{lease.EpisodeId}' belongs to tenant '{lease.Tenant}', not to '{tenant}'; nothing was written.",
                    nameof(commit));
            }
        }
    }
}
