using System.Text.Json;
using Lore.Learning.Consolidation;
using Lore.Learning.Guards;

namespace Lore.Learning;

// The admission step: consolidation asks the guards about every lesson it would serve (AdmissionStage), refused
// lessons are saved with their findings, every decision is audited, and a reviewer's decision made while the run was
// working is never overwritten.
public sealed partial class LearningPipeline
{
    internal ILoreStore Store => _store;

    internal TimeProvider Time => _time;

    internal RetrievalSettings Retrieval => _options.Retrieval;

    /// <summary>The blocking findings of the content screen under the current policy (none when admission is off).</summary>
    internal async Task<IReadOnlyList<GuardFinding>> BlockingFindingsAsync(Lesson lesson, CancellationToken cancellationToken)
    {
        if (_guard is null || _options.Admission is null)
        {
            return [];
        }

        var hosts = EvidenceHosts.For(lesson, new Dictionary<string, Episode>(), (id, ct) => _store.GetEpisodeAsync(lesson.Scope.Tenant, id, ct), _options.Admission.MinDistinctSources);
        var screen = await _guard.ScreenAsync(lesson, hosts, cancellationToken).ConfigureAwait(false);
        return [.. screen.Findings.Where(f => f.Severity == Severity.Block).Select(f => f.ToGuardFinding())];
    }

    /// <summary>
    /// Puts a snapshot made by a review approval into service exactly as <see cref="CommitAsync"/> does a run's
    /// (saved, audited as created once, handed to the rollout per <see cref="Rollout"/>, never past a freeze, in one
    /// transaction), with
    /// the review, not a learning run, named as the reason.
    /// </summary>
    internal Task PublishReviewedAsync(Snapshot snapshot, IReadOnlyList<Lesson> approved, IReadOnlyList<AuditDraft> reviews, string reviewer, CancellationToken cancellationToken)
        => CommitAsync(
            new LearningCommit
            {
                Tenant = snapshot.Tenant,
                Lessons = approved,
                LessonAudit = reviews,
                Snapshot = snapshot,
                SnapshotCreatedAudit = CreatedAudit(snapshot, $"review of {string.Join(", ", approved.Select(l => l.Id))}", reviewer),
            },
            snapshot,
            reviewer,
            approved.Count == 1 ? $"review approved lesson {approved[0].Id}" : $"review approved {approved.Count} lessons",
            cancellationToken);

    /// <summary>The guards an <see cref="AdmissionStage"/> runs for this run, or null when admission is off.</summary>
    private AdmissionStage? BeginAdmission(string tenant, IReadOnlyList<Lesson> stored, Snapshot? parent, IReadOnlyList<Episode> window)
        => _guard is null || _options.Admission is null
            ? null
            : new AdmissionStage(_guard, stored, parent?.Lessons ?? [], window, (id, ct) => _store.GetEpisodeAsync(tenant, id, ct), _options.Admission.MinDistinctSources);

    /// <summary>
    /// Lessons a reviewer approved or rejected while this run was working keep the reviewer's version: a run never
    /// overwrites a review decision it did not see.
    /// </summary>
    private async Task<IReadOnlyList<Lesson>> KeepReviewDecisionsAsync(IReadOnlyList<Lesson> changed, IReadOnlyList<Lesson> stored, CancellationToken cancellationToken)
    {
        var pending = stored.Where(l => l.Status == LessonStatus.PendingReview).ToDictionary(l => l.Id, StringComparer.Ordinal);
        if (pending.Count == 0)
        {
            return changed;
        }

        var kept = new List<Lesson>(changed.Count);
        foreach (var lesson in changed)
        {
            if (pending.TryGetValue(lesson.Id, out var before))
            {
                var now = await _store.GetLessonAsync(lesson.Id, cancellationToken).ConfigureAwait(false);
                if (now is not null && now.Reviews.Count > before.Reviews.Count)
                {
                    continue;
                }
            }

            kept.Add(lesson);
        }

        return kept;
    }

    /// <summary>
    /// Every admission decision that takes effect (saved, and served when admitted): listed for the run record, with
    /// the audit entries the pass's commit appends.
    /// </summary>
    private (IReadOnlyList<LessonAdmission> Admissions, IReadOnlyList<AuditDraft> Audit) DescribeAdmissions(
        AdmissionStage? stage,
        ConsolidationResult result,
        IReadOnlyList<Lesson> saved,
        string runId,
        string actor)
    {
        if (stage is null || stage.Decisions.Count == 0)
        {
            return ([], []);
        }

        var audit = new List<AuditDraft>();
        var servedIds = result.Served.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var savedById = saved.ToDictionary(l => l.Id, StringComparer.Ordinal);
        var admissions = new List<LessonAdmission>();
        foreach (var decision in stage.Decisions.Values.OrderBy(d => d.Lesson.Id, StringComparer.Ordinal))
        {
            var lesson = decision.Lesson;
            var tookEffect = lesson.Status == LessonStatus.Active
                ? servedIds.Contains(lesson.Id)
                : savedById.TryGetValue(lesson.Id, out var s) && s.Status == lesson.Status;
            if (!tookEffect)
            {
                continue;
            }

            var rules = AdmissionStage.Rules(lesson);
            admissions.Add(new LessonAdmission(lesson.Id, lesson.Status, rules));
            var action = lesson.Status switch
            {
                LessonStatus.Active => AuditActions.LessonAdmitted,
                LessonStatus.PendingReview => AuditActions.LessonQueuedForReview,
                _ => AuditActions.LessonRejected,
            };
            var details = new
            {
                run = runId,
                status = lesson.Status,
                previousStatus = decision.PreviousStatus,
                rules,
                findings = lesson.GuardFindings,
                kind = lesson.Kind,
                extractor = lesson.Extractor,
                confidence = Math.Round(lesson.Confidence, 4),
                episodes = lesson.Evidence.EpisodeCount,
                sources = lesson.Evidence.DistinctSources,
                evidence = lesson.Evidence.EpisodeIds.Take(20),
            };
            audit.Add(new AuditDraft
            {
                Tenant = lesson.Scope.Tenant,
                Actor = actor,
                Action = action,
                Subject = lesson.Id,
                Reason = decision.Reason,
                DetailsJson = JsonSerializer.Serialize(details, LoreJson.Options),
                At = _time.GetUtcNow(),
            });
        }

        return (admissions, audit);
    }
}
