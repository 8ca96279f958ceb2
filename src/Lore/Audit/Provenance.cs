using System.Globalization;

namespace Lore;

/// <summary>An episode cited as evidence for a lesson, with what became of it.</summary>
/// <param name="EpisodeId">The cited episode.</param>
/// <param name="Stored">False when the episode is no longer in the store (deleted, or never imported here).</param>
/// <param name="StartedAt">When it started, when stored.</param>
/// <param name="Slice">Its slice label, when stored.</param>
/// <param name="Score">Its outcome score, when judged.</param>
/// <param name="Origin">Where it came from ("capture", "import:FILE", ...), when stored.</param>
public sealed record EvidenceEpisode(string EpisodeId, bool Stored, DateTimeOffset? StartedAt, string? Slice, double? Score, string? Origin)
{
    /// <summary>True, false, or null when not judged or not stored.</summary>
    public bool? Succeeded => Score is { } s ? s >= 0.5 : null;
}

/// <summary>A learning run that touched a lesson, and how.</summary>
/// <param name="RunId">The run.</param>
/// <param name="FinishedAt">When it finished.</param>
/// <param name="Role">added, updated, merged, contradiction or retired.</param>
/// <param name="Detail">What the run recorded about the lesson.</param>
/// <param name="SnapshotId">The snapshot the run produced, if any.</param>
public sealed record LineageRun(string RunId, DateTimeOffset FinishedAt, string Role, string Detail, string? SnapshotId);

/// <summary>A snapshot that served a lesson, with the lesson's text as served there.</summary>
/// <param name="SnapshotId">The snapshot.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="CreatedBy">Who created it.</param>
/// <param name="Reason">Why it was created.</param>
/// <param name="Serving">"stable" or "candidate" when the tenant's rollout serves it now; empty otherwise.</param>
/// <param name="Text">The lesson's text in that snapshot.</param>
/// <param name="Confidence">The lesson's confidence in that snapshot.</param>
public sealed record LineageSnapshot(string SnapshotId, DateTimeOffset CreatedAt, string CreatedBy, string Reason, string Serving, string Text, double Confidence);

/// <summary>
/// Everything known about where a lesson came from and what happened to it: who extracted it, from which episodes
/// (and how they went), which learning runs added or changed it, what the guards and reviewers said, which snapshots
/// served it, what the audit log records about it, and its retirement.
/// </summary>
public sealed record LessonLineage(
    Lesson Lesson,
    IReadOnlyList<EvidenceEpisode> Evidence,
    int EvidenceNotListed,
    IReadOnlyList<LineageRun> LearningRuns,
    IReadOnlyList<LineageSnapshot> Snapshots,
    IReadOnlyList<AuditEntry> AuditEntries);

/// <summary>A lesson injected into an episode, as it read in the snapshot that served it.</summary>
/// <param name="LessonId">The lesson.</param>
/// <param name="Text">Its text in the episode's snapshot (or the lesson table's latest text when the snapshot is gone); null when unknown.</param>
/// <param name="Kind">Its kind, when known.</param>
/// <param name="Source">"snapshot" when read from the episode's snapshot, "lesson table" when from the latest version, "unknown" when neither has it.</param>
/// <param name="CurrentStatus">Its admission status now, when the lesson table has it.</param>
public sealed record InjectedLesson(string LessonId, string? Text, LessonKind? Kind, string Source, LessonStatus? CurrentStatus);

/// <summary>
/// What shaped one episode: the snapshot and rollout arm in effect, the lessons injected with their texts as served,
/// and how it went; plus the audit entries about that snapshot up to the episode's start (how it came to be served).
/// </summary>
public sealed record EpisodeBlame(
    Episode Episode,
    int Steps,
    SnapshotSummary? Snapshot,
    IReadOnlyList<InjectedLesson> Injected,
    IReadOnlyList<AuditEntry> SnapshotHistory);

/// <summary>
/// Answers "why", "blame" and "diff" from the store: lineage of a lesson, what shaped an episode, and what changed
/// between two snapshots. Read-only; it joins what learning, rollout and the audit log already recorded.
/// </summary>
public static class Provenance
{
    /// <summary>How many learning runs lineage looks through (newest first).</summary>
    private const int RunsToRead = 100_000;

    /// <summary>The full lineage of a lesson; throws <see cref="KeyNotFoundException"/> when the tenant has no such lesson.</summary>
    public static async Task<LessonLineage> LessonAsync(ILoreStore store, string lessonId, string tenant = Tenants.Default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(lessonId);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        var lesson = await store.GetLessonAsync(lessonId, cancellationToken).ConfigureAwait(false);
        var snapshots = await store.ListSnapshotsAsync(tenant, cancellationToken).ConfigureAwait(false);
        var rollout = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        var served = new List<LineageSnapshot>();
        foreach (var summary in snapshots.OrderBy(s => s.CreatedAt).ThenBy(s => s.Id, StringComparer.Ordinal))
        {
            var snapshot = await store.GetSnapshotAsync(summary.Id, cancellationToken).ConfigureAwait(false);
            var inSnapshot = snapshot?.Lessons.FirstOrDefault(l => l.Id == lessonId);
            if (inSnapshot is null)
            {
                continue;
            }

            var serving = summary.Id == rollout.StableSnapshotId ? "stable" : summary.Id == rollout.CandidateSnapshotId ? "candidate" : "";
            served.Add(new LineageSnapshot(summary.Id, summary.CreatedAt, summary.CreatedBy, summary.Reason, serving, inSnapshot.Text, inSnapshot.Confidence));
            lesson ??= inSnapshot;
        }

        if (lesson is null || lesson.Scope.Tenant != tenant)
        {
            throw new KeyNotFoundException($"No lesson '{lessonId}' for tenant '{tenant}'.");
        }

        var evidence = new List<EvidenceEpisode>(lesson.Evidence.EpisodeIds.Count);
        foreach (var id in lesson.Evidence.EpisodeIds)
        {
            var episode = await store.GetEpisodeAsync(tenant, id, cancellationToken).ConfigureAwait(false);
            evidence.Add(episode is null || episode.Tenant != tenant
                ? new EvidenceEpisode(id, false, null, null, null, null)
                : new EvidenceEpisode(id, true, episode.StartedAt, episode.Slice, episode.Score, episode.Origin));
        }

        var runs = new List<LineageRun>();
        foreach (var run in (await store.ListLearningRunsAsync(tenant, RunsToRead, cancellationToken).ConfigureAwait(false)).Reverse())
        {
            foreach (var (role, detail) in Roles(run, lessonId))
            {
                runs.Add(new LineageRun(run.Id, run.FinishedAt, role, detail, run.SnapshotId));
            }
        }

        var audit = new List<AuditEntry>();
        await foreach (var entry in AuditTrail.MentioningAsync(store, lessonId, tenant, cancellationToken).ConfigureAwait(false))
        {
            audit.Add(entry);
        }

        var notListed = Math.Max(0, lesson.Evidence.EpisodeCount - lesson.Evidence.EpisodeIds.Count);
        return new LessonLineage(lesson, evidence, notListed, runs, served, audit);
    }

    /// <summary>What shaped an episode; throws <see cref="KeyNotFoundException"/> when the tenant has no such episode.</summary>
    public static async Task<EpisodeBlame> EpisodeAsync(ILoreStore store, string episodeId, string tenant = Tenants.Default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(episodeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        var episode = await store.GetEpisodeAsync(tenant, episodeId, cancellationToken).ConfigureAwait(false);
        if (episode is null || episode.Tenant != tenant)
        {
            throw new KeyNotFoundException($"No episode '{episodeId}' for tenant '{tenant}'.");
        }

        Snapshot? snapshot = null;
        SnapshotSummary? summary = null;
        if (episode.SnapshotId is { } snapshotId)
        {
            snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false);
            summary = (await store.ListSnapshotsAsync(tenant, cancellationToken).ConfigureAwait(false)).FirstOrDefault(s => s.Id == snapshotId);
        }

        var injected = new List<InjectedLesson>(episode.InjectedLessonIds.Count);
        foreach (var id in episode.InjectedLessonIds.Distinct(StringComparer.Ordinal))
        {
            var latest = await store.GetLessonAsync(id, cancellationToken).ConfigureAwait(false);
            var asServed = snapshot?.Lessons.FirstOrDefault(l => l.Id == id);
            injected.Add(asServed is not null
                ? new InjectedLesson(id, asServed.Text, asServed.Kind, "snapshot", latest?.Status)
                : latest is not null
                    ? new InjectedLesson(id, latest.Text, latest.Kind, "lesson table", latest.Status)
                    : new InjectedLesson(id, null, null, "unknown", null));
        }

        var history = new List<AuditEntry>();
        if (episode.SnapshotId is { } id2)
        {
            await foreach (var entry in AuditTrail.MentioningAsync(store, id2, tenant, cancellationToken).ConfigureAwait(false))
            {
                if (entry.At <= episode.StartedAt)
                {
                    history.Add(entry);
                }
            }
        }

        return new EpisodeBlame(episode with { Steps = [] }, episode.Steps.Count, summary, injected, history);
    }

    /// <summary>What changed between two snapshots of a tenant; throws <see cref="KeyNotFoundException"/> naming a missing one.</summary>
    public static async Task<SnapshotDiff> DiffAsync(ILoreStore store, string fromId, string toId, string tenant = Tenants.Default, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        var from = await LoadAsync(store, fromId, tenant, cancellationToken).ConfigureAwait(false);
        var to = await LoadAsync(store, toId, tenant, cancellationToken).ConfigureAwait(false);
        return SnapshotDiff.Compare(from, to);
    }

    private static async Task<Snapshot> LoadAsync(ILoreStore store, string id, string tenant, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(id);
        var snapshot = await store.GetSnapshotAsync(id, cancellationToken).ConfigureAwait(false);
        return snapshot is not null && snapshot.Tenant == tenant
            ? snapshot
            : throw new KeyNotFoundException($"No snapshot '{id}' for tenant '{tenant}'.");
    }

    /// <summary>How a learning run touched a lesson, from its report.</summary>
    private static IEnumerable<(string Role, string Detail)> Roles(LearningRun run, string lessonId)
    {
        if (run.AddedLessonIds.Contains(lessonId, StringComparer.Ordinal))
        {
            yield return ("added", $"learned from {run.NewEpisodes} new of {run.EpisodesRead} episodes read");
        }

        if (run.UpdatedLessonIds.Contains(lessonId, StringComparer.Ordinal))
        {
            yield return ("updated", "evidence, confidence or wording updated");
        }

        foreach (var merge in run.Merges.Where(m => m.KeptId == lessonId || m.MergedId == lessonId))
        {
            yield return ("merged", merge.KeptId == lessonId
                ? string.Create(CultureInfo.InvariantCulture, $"absorbed {merge.MergedId} (similarity {merge.Similarity:0.00})")
                : string.Create(CultureInfo.InvariantCulture, $"merged into {merge.KeptId} (similarity {merge.Similarity:0.00})"));
        }

        foreach (var c in run.Contradictions.Where(c => c.FirstId == lessonId || c.SecondId == lessonId))
        {
            var other = c.FirstId == lessonId ? c.SecondId : c.FirstId;
            yield return ("contradiction", $"{(c.WinnerId == lessonId ? "won" : "lost")} against {other} ({c.Method}): {c.Reason}");
        }

        foreach (var r in run.Retirements.Where(r => r.LessonId == lessonId))
        {
            yield return ("retired", r.Reason);
        }
    }
}
