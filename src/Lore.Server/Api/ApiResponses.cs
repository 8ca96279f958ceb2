using System.Collections.Immutable;
using Lore.Learning;

namespace Lore.Server.Api;

// What the REST API answers with, besides Lore's own records (Episode, Lesson, Snapshot, ...), which it returns in
// the same JSON shape as the CLI's --json.

/// <summary>An episode without its steps (their count instead): what listings and write calls return.</summary>
internal sealed record EpisodeView(
    string Id,
    string Task,
    string Unit,
    ImmutableSortedDictionary<string, string> Labels,
    DateTimeOffset StartedAt,
    DateTimeOffset? EndedAt,
    string? SnapshotId,
    string? Arm,
    string Origin,
    int Steps,
    IReadOnlyList<Outcome> Outcomes,
    double? Score,
    IReadOnlyList<string> InjectedLessonIds,
    string? EndReason)
{
    public static EpisodeView Of(Episode e)
        => new(e.Id, e.Task, e.UnitKey, e.Labels, e.StartedAt, e.EndedAt, e.SnapshotId, e.Arm, e.Origin, e.Steps.Count, e.Outcomes, e.Score, e.InjectedLessonIds, e.EndReason);

    /// <summary>
    /// Why a call cannot continue an episode that recovery ended as abandoned, and what to do instead: the same answer
    /// (409) from the REST API and the proxy, so an agent resuming after a server crash learns the state at once.
    /// </summary>
    public static string AbandonedRefusal(Episode e) => string.Create(System.Globalization.CultureInfo.InvariantCulture,
        $"Episode '{e.Id}' was abandoned: it was still open when the process capturing it stopped, and recovery ended it at {e.EndedAt:O} with the {e.Steps.Count} steps stored by then. " +
        $"It is not resumed and takes no more steps; send its outcome to POST /api/episodes/{e.Id}/outcomes (it is then learned from as judged), and use a new episode id to go on.");
}

/// <summary>A lesson picked by retrieval, with the scores that picked it.</summary>
internal sealed record RetrievedLessonView(string Id, LessonKind Kind, string Text, double Score, double LexicalScore, double VectorScore, int Tokens);

/// <summary>
/// What to inject for a task: the lessons with their scores, the system-message section that carries them (null when
/// none), the snapshot they come from and the caller's rollout arm; in shadow, what the candidate would have injected.
/// </summary>
internal sealed record RetrieveResponse(
    string? SnapshotId,
    string? Arm,
    RolloutStage Stage,
    IReadOnlyList<RetrievedLessonView> Lessons,
    string? Section,
    int Tokens,
    ShadowRetrieval? Shadow);

/// <summary>In shadow: the candidate's picks, recorded and never injected.</summary>
internal sealed record ShadowRetrieval(string? SnapshotId, IReadOnlyList<string> LessonIds);

/// <summary>A lesson with the admission status people read ("active", "pending review", "rejected", "retired").</summary>
internal sealed record LessonView(Lesson Lesson, string Status);

/// <summary>A snapshot with its content-address check and the learning run that made it.</summary>
internal sealed record SnapshotView(Snapshot Snapshot, bool Intact, LearningRun? LearningRun);

/// <summary>A learning pass requested through the API and the audit entry recording who asked.</summary>
internal sealed record LearnResponse(LearningRun Run, long AuditSequence);

/// <summary>The review queue's decision as the API reports it.</summary>
internal sealed record ReviewResponse(ReviewOutcome Outcome, RolloutState Rollout);

/// <summary>A bulk review decision: every lesson as saved (approvals share one snapshot) and the rollout after it.</summary>
internal sealed record BulkReviewResponse(IReadOnlyList<ReviewOutcome> Outcomes, RolloutState Rollout);

/// <summary>The audit chain's verification; a fault in another tenant's record is reported without its content.</summary>
internal sealed record AuditVerifyResponse(bool Intact, long Records, string Head, AuditFault? Fault);

/// <summary>A key just created: its record and the secret, shown this once.</summary>
internal sealed record CreatedKeyResponse(Security.ApiKeyView Key, string Secret, string Note);

/// <summary>An erasure, planned (dry run) or done.</summary>
internal sealed record EraseResponse(
    bool DryRun,
    int Deleted,
    IReadOnlyList<string> EpisodeIds,
    IReadOnlyList<string> Units,
    IReadOnlyList<LessonRetirementAction> Retirements,
    IReadOnlyList<string> PrunedLessons,
    string? StableSnapshotId,
    long? AuditSequence);

/// <summary>What <c>/healthz</c> says: that the server answers, and nothing about what it holds.</summary>
internal sealed record HealthResponse(string Status);
