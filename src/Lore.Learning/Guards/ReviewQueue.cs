using System.Text.Json;

namespace Lore.Learning;

/// <summary>Which waiting lessons to list or decide together; null fields match everything.</summary>
public sealed record ReviewFilter
{
    /// <summary>Lessons of this kind.</summary>
    public LessonKind? Kind { get; init; }

    /// <summary>Lessons that name this tool (scope or recommended tools).</summary>
    public string? Tool { get; init; }

    /// <summary>Lessons of this slice (their scope's or their evidence's <c>slice</c> label).</summary>
    public string? Slice { get; init; }

    /// <summary>Lessons on which this guard rule fired.</summary>
    public string? Finding { get; init; }

    /// <summary>
    /// A filter from text (a query string, a tool call's arguments): blank fields match everything; a kind that is not a
    /// lesson kind throws an <see cref="ArgumentException"/> naming the field.
    /// </summary>
    public static ReviewFilter Parse(string? kind, string? tool, string? slice, string? finding)
    {
        LessonKind? parsed = null;
        if (!string.IsNullOrWhiteSpace(kind))
        {
            parsed = Enum.TryParse<LessonKind>(kind.Trim(), ignoreCase: true, out var k) && Enum.IsDefined(k) && !int.TryParse(kind, out _)
                ? k
                : throw new ArgumentException($"Kind '{kind}' is not one of {string.Join(", ", Enum.GetNames<LessonKind>())}.", nameof(kind));
        }

        return new ReviewFilter { Kind = parsed, Tool = Blank(tool), Slice = Blank(slice), Finding = Blank(finding) };

        static string? Blank(string? text) => string.IsNullOrWhiteSpace(text) ? null : text.Trim();
    }

    /// <summary>Whether <paramref name="lesson"/> passes every set field of the filter, so a list and a bulk decision select the same lessons.</summary>
    public bool Matches(Lesson lesson)
        => (Kind is null || lesson.Kind == Kind)
            && (Tool is null || lesson.Scope.Tools.Concat(lesson.RecommendedTools ?? []).Contains(Tool, StringComparer.OrdinalIgnoreCase))
            && (Slice is null || (lesson.Scope.Labels.TryGetValue("slice", out var a) && a == Slice) || (lesson.Scope.EvidenceLabels.TryGetValue("slice", out var b) && b == Slice))
            && (Finding is null || lesson.GuardFindings.Any(f => string.Equals(f.Rule, Finding, StringComparison.OrdinalIgnoreCase)));
}

/// <summary>What a review decision did: the lesson as saved, and the snapshot an approval produced (null for a rejection).</summary>
public sealed record ReviewOutcome(Lesson Lesson, string? SnapshotId);

/// <summary>
/// The lessons the admission guards found borderline, waiting for a person. Approving one admits it: the lesson
/// becomes active, the decision is kept on the lesson and in the audit log, and a new snapshot (child of the stable
/// one) containing it enters service the way the learning pipeline's snapshots do. Rejecting one keeps it, with the
/// decision, never served. Every decision needs a reason.
/// </summary>
public sealed class ReviewQueue
{
    private readonly TenantPipeline _on;

    /// <param name="pipeline">The pipeline whose admission policy, retrieval settings and publication an approval uses.</param>
    /// <param name="tenant">The tenant whose queue this is; lessons of other tenants are not found.</param>
    public ReviewQueue(LearningPipeline pipeline, string tenant)
        => _on = new TenantPipeline(pipeline, tenant);

    /// <summary>The tenant whose lessons this queue lists and decides.</summary>
    public string Tenant => _on.Tenant;

    /// <summary>The lessons waiting for review, oldest first.</summary>
    public Task<IReadOnlyList<Lesson>> ListAsync(CancellationToken cancellationToken = default) => ListAsync(null, cancellationToken);

    /// <summary>The lessons waiting for review that match the filter (kind, tool, slice, finding), oldest first.</summary>
    public async Task<IReadOnlyList<Lesson>> ListAsync(ReviewFilter? filter, CancellationToken cancellationToken = default)
    {
        var lessons = await _on.Store.ListLessonsAsync(new LessonQuery { Tenant = Tenant, Status = LessonStatus.PendingReview }, cancellationToken).ConfigureAwait(false);
        return [.. lessons.Where(l => l.Status == LessonStatus.PendingReview && !l.IsRetired && (filter is null || filter.Matches(l))).OrderBy(l => l.CreatedAt).ThenBy(l => l.Id, StringComparer.Ordinal)];
    }

    /// <summary>
    /// Approves several waiting lessons with one reason, in one snapshot and one commit: all of them or, when any one is
    /// not waiting or is blocked by the current policy, none (the error names it).
    /// </summary>
    public async Task<IReadOnlyList<ReviewOutcome>> ApproveManyAsync(IReadOnlyList<string> lessonIds, string reviewer, string reason, CancellationToken cancellationToken = default)
    {
        RequireDistinct(lessonIds);
        var now = _on.Time.GetUtcNow();
        var approved = new List<Lesson>(lessonIds.Count);
        foreach (var id in lessonIds)
        {
            var lesson = await PendingAsync(id, reviewer, reason, cancellationToken).ConfigureAwait(false);
            var blocking = await _on.Pipeline.BlockingFindingsAsync(lesson, cancellationToken).ConfigureAwait(false);
            if (blocking.Count > 0)
            {
                throw new InvalidOperationException($"Lesson '{id}' cannot be approved: under the current admission policy it is blocked by {string.Join(", ", blocking.Select(f => $"{f.Rule} ({f.Detail})"))}; nothing was approved.");
            }

            approved.Add(lesson with { Status = LessonStatus.Active, Reviews = [.. lesson.Reviews, new ReviewDecision(reviewer, Approved: true, reason.Trim(), now)] });
        }

        var rollout = await _on.Store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stableId = rollout.StableSnapshotId ?? await _on.Store.GetActiveSnapshotIdAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stable = stableId is null ? null : await _on.Store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The stable snapshot '{stableId}' of tenant '{Tenant}' is missing from the store.");
        var ids = approved.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var snapshot = Snapshot.Create(stable?.Id, Tenant, (stable?.Lessons ?? []).Where(l => !ids.Contains(l.Id)).Concat(approved), stable?.Settings ?? _on.Pipeline.Retrieval, reviewer, $"review: {reviewer} approved {approved.Count} lessons: {reason.Trim()}", now);
        var audit = approved.Select(l => Draft(AuditActions.ReviewApproved, l, l.Reviews[^1], snapshot.Id, stable?.Id)).ToArray();
        await _on.Pipeline.PublishReviewedAsync(snapshot, approved, audit, reviewer, cancellationToken).ConfigureAwait(false);
        return [.. approved.Select(l => new ReviewOutcome(l, snapshot.Id))];
    }

    /// <summary>Rejects several waiting lessons with one reason: all of them or, when any one is not waiting, none.</summary>
    public async Task<IReadOnlyList<ReviewOutcome>> RejectManyAsync(IReadOnlyList<string> lessonIds, string reviewer, string reason, CancellationToken cancellationToken = default)
    {
        RequireDistinct(lessonIds);
        var now = _on.Time.GetUtcNow();
        var rejected = new List<Lesson>(lessonIds.Count);
        foreach (var id in lessonIds)
        {
            var lesson = await PendingAsync(id, reviewer, reason, cancellationToken).ConfigureAwait(false);
            rejected.Add(lesson with { Status = LessonStatus.Rejected, Reviews = [.. lesson.Reviews, new ReviewDecision(reviewer, Approved: false, reason.Trim(), now)] });
        }

        await _on.Store.CommitLearningAsync(
            new LearningCommit { Tenant = Tenant, Lessons = rejected, LessonAudit = [.. rejected.Select(l => Draft(AuditActions.ReviewRejected, l, l.Reviews[^1], null, null))] },
            cancellationToken).ConfigureAwait(false);
        return [.. rejected.Select(l => new ReviewOutcome(l, SnapshotId: null))];
    }

    /// <summary>
    /// Admits a waiting lesson and puts a snapshot containing it into service. Refused when the lesson is not waiting,
    /// or when it no longer passes the content screen (the policy may have tightened since it was queued).
    /// </summary>
    public async Task<ReviewOutcome> ApproveAsync(string lessonId, string reviewer, string reason, CancellationToken cancellationToken = default)
    {
        var lesson = await PendingAsync(lessonId, reviewer, reason, cancellationToken).ConfigureAwait(false);
        var blocking = await _on.Pipeline.BlockingFindingsAsync(lesson, cancellationToken).ConfigureAwait(false);
        if (blocking.Count > 0)
        {
            throw new InvalidOperationException(
                $"Lesson '{lessonId}' cannot be approved: under the current admission policy it is blocked by {string.Join(", ", blocking.Select(f => $"{f.Rule} ({f.Detail})"))}.");
        }

        var now = _on.Time.GetUtcNow();
        var decision = new ReviewDecision(reviewer, Approved: true, reason.Trim(), now);
        var approved = lesson with { Status = LessonStatus.Active, Reviews = [.. lesson.Reviews, decision] };

        // The snapshot is built (and so checked) before anything is written.
        var rollout = await _on.Store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stableId = rollout.StableSnapshotId ?? await _on.Store.GetActiveSnapshotIdAsync(Tenant, cancellationToken).ConfigureAwait(false);
        var stable = stableId is null ? null : await _on.Store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false)
            ?? throw new InvalidOperationException($"The stable snapshot '{stableId}' of tenant '{Tenant}' is missing from the store.");
        var lessons = (stable?.Lessons ?? []).Where(l => l.Id != approved.Id).Append(approved);
        var snapshot = Snapshot.Create(
            stable?.Id,
            Tenant,
            lessons,
            stable?.Settings ?? _on.Pipeline.Retrieval,
            reviewer,
            $"review: {reviewer} approved {approved.Id}: {decision.Reason}",
            now);

        // The approved lesson, its review record, the snapshot and its publication are one commit: a crash leaves the
        // lesson waiting for review, or approved and in service, never approved without its snapshot.
        var review = Draft(AuditActions.ReviewApproved, approved, decision, snapshot.Id, stable?.Id);
        await _on.Pipeline.PublishReviewedAsync(snapshot, [approved], [review], reviewer, cancellationToken).ConfigureAwait(false);
        return new ReviewOutcome(approved, snapshot.Id);
    }

    /// <summary>Rejects a waiting lesson: it is kept, with the decision, and never served.</summary>
    public async Task<ReviewOutcome> RejectAsync(string lessonId, string reviewer, string reason, CancellationToken cancellationToken = default)
    {
        var lesson = await PendingAsync(lessonId, reviewer, reason, cancellationToken).ConfigureAwait(false);
        var decision = new ReviewDecision(reviewer, Approved: false, reason.Trim(), _on.Time.GetUtcNow());
        var rejected = lesson with { Status = LessonStatus.Rejected, Reviews = [.. lesson.Reviews, decision] };
        await _on.Store.SaveLessonsAsync([rejected], cancellationToken).ConfigureAwait(false);
        await AuditAsync(AuditActions.ReviewRejected, rejected, decision, snapshotId: null, parentId: null, cancellationToken).ConfigureAwait(false);
        return new ReviewOutcome(rejected, SnapshotId: null);
    }

    /// <summary>
    /// The lesson's evidence side by side: up to <paramref name="perSide"/> episodes it was learned from and as many in
    /// which its recommended behaviour worked, each with its steps and outcome. Works for any lesson of the tenant.
    /// </summary>
    public async Task<ReviewEvidence> EvidenceAsync(string lessonId, int perSide = 5, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lessonId);
        ArgumentOutOfRangeException.ThrowIfLessThan(perSide, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(perSide, 50);
        var lesson = await _on.Store.GetLessonAsync(lessonId, cancellationToken).ConfigureAwait(false);
        if (lesson is null || lesson.Scope.Tenant != Tenant)
        {
            throw new KeyNotFoundException($"No lesson '{lessonId}' for tenant '{Tenant}'.");
        }

        var (learnedFrom, learnedMissing) = await EpisodesAsync(lesson.Evidence.EpisodeIds, perSide, cancellationToken).ConfigureAwait(false);
        var exemplars = lesson.Evidence.ExemplarEpisodeIds.Except(lesson.Evidence.EpisodeIds, StringComparer.Ordinal).ToArray();
        var (shownToWork, shownMissing) = await EpisodesAsync(exemplars, perSide, cancellationToken).ConfigureAwait(false);
        return new ReviewEvidence(lesson, learnedFrom, shownToWork, learnedMissing, shownMissing);
    }

    private async Task<(IReadOnlyList<ReviewEvidenceEpisode> Found, int Missing)> EpisodesAsync(IReadOnlyList<string> ids, int take, CancellationToken cancellationToken)
    {
        var found = new List<ReviewEvidenceEpisode>(Math.Min(take, ids.Count));
        var missing = 0;
        foreach (var id in ids.Distinct(StringComparer.Ordinal))
        {
            if (found.Count == take)
            {
                break;
            }

            var episode = await _on.Store.GetEpisodeAsync(Tenant, id, cancellationToken).ConfigureAwait(false);
            if (episode is null)
            {
                missing++;
                continue;
            }

            found.Add(new ReviewEvidenceEpisode(episode.Id, episode.Task, episode.Labels.GetValueOrDefault("slice"), episode.Score, episode.Succeeded, [.. episode.Steps.Select(ReviewEvidenceStep.From)]));
        }

        return (found, missing);
    }

    private static void RequireDistinct(IReadOnlyList<string> lessonIds)
    {
        ArgumentNullException.ThrowIfNull(lessonIds);
        if (lessonIds.Count == 0 || lessonIds.Distinct(StringComparer.Ordinal).Count() != lessonIds.Count)
        {
            throw new ArgumentException("Name at least one lesson, each once.", nameof(lessonIds));
        }
    }

    private async Task<Lesson> PendingAsync(string lessonId, string reviewer, string reason, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(lessonId);
        if (string.IsNullOrWhiteSpace(reviewer))
        {
            throw new ArgumentException("A review decision needs the reviewer's name.", nameof(reviewer));
        }

        if (string.IsNullOrWhiteSpace(reason))
        {
            throw new ArgumentException("A review decision needs a reason.", nameof(reason));
        }

        var lesson = await _on.Store.GetLessonAsync(lessonId, cancellationToken).ConfigureAwait(false);
        if (lesson is null || lesson.Scope.Tenant != Tenant)
        {
            throw new KeyNotFoundException($"No lesson '{lessonId}' for tenant '{Tenant}'.");
        }

        if (lesson.Status != LessonStatus.PendingReview || lesson.IsRetired)
        {
            var why = lesson.Status switch
            {
                LessonStatus.Rejected when lesson.Reviews.Count > 0 => $"it was rejected by {lesson.Reviews[^1].Reviewer}",
                LessonStatus.Rejected => $"the guards rejected it ({string.Join(", ", lesson.GuardFindings.Where(f => f.Blocking).Select(f => f.Rule).Distinct())}); a guard's rejection is changed through the admission policy, not by a review",
                LessonStatus.Active => "it is already admitted",
                _ => "it is retired",
            };
            throw new InvalidOperationException($"Lesson '{lessonId}' is not waiting for review: {why}.");
        }

        return lesson;
    }

    private Task AuditAsync(string action, Lesson lesson, ReviewDecision decision, string? snapshotId, string? parentId, CancellationToken cancellationToken)
        => _on.Store.AppendAuditAsync(Draft(action, lesson, decision, snapshotId, parentId), cancellationToken);

    private AuditDraft Draft(string action, Lesson lesson, ReviewDecision decision, string? snapshotId, string? parentId)
    {
        var details = new
        {
            lesson = lesson.Id,
            reviewer = decision.Reviewer,
            approved = decision.Approved,
            status = lesson.Status,
            rules = lesson.GuardFindings.Select(f => f.Rule).Distinct(StringComparer.Ordinal),
            findings = lesson.GuardFindings,
            snapshot = snapshotId,
            parent = parentId,
            episodes = lesson.Evidence.EpisodeCount,
            sources = lesson.Evidence.DistinctSources,
        };
        return new AuditDraft
        {
            Tenant = Tenant,
            Actor = decision.Reviewer,
            Action = action,
            Subject = lesson.Id,
            Reason = decision.Reason,
            DetailsJson = JsonSerializer.Serialize(details, LoreJson.Options),
            At = decision.At,
        };
    }
}
