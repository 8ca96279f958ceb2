using System.Diagnostics;
using System.Globalization;
using System.Security.Cryptography;
using System.Text.Json;
using Lore.Learning.Authoring;
using Lore.Learning.Consolidation;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore.Learning;

/// <summary>
/// One pass of learning: read a window of ended episodes, run the extractors, consolidate the candidates with the
/// lessons already served, and write a new snapshot (never mutating the old one). The run's report is stored so
/// every snapshot can answer "why".
/// </summary>
/// <remarks>
/// The window is the latest <see cref="LearningOptions.Window"/> ended episodes of the tenant; the episodes stored
/// after the tenant's learning cursor are the new ones, and the run moves the cursor past them. A new snapshot (child
/// of the active one, or of the newest when none is active) is created only when what is served changes: a lesson
/// added or retired, or its text, trigger or scope changed. Evidence and confidence updates are saved with the lessons
/// and travel in the next snapshot. Running again with nothing new changes nothing but the run log.
/// </remarks>
public sealed partial class LearningPipeline
{
    private readonly ILoreStore _store;
    private readonly LearningOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IReadOnlyList<ILessonExtractor> _extractors;
    private readonly Guards.AdmissionGuard? _guard;

    /// <summary>A pipeline over <paramref name="store"/>; options are validated here, so a bad configuration fails before any pass runs.</summary>
    public LearningPipeline(ILoreStore store, LearningOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _options = options ?? new LearningOptions();
        _options.Validate();
        _time = timeProvider ?? TimeProvider.System;
        _logger = logger ?? NullLogger.Instance;
        _extractors = _options.Extractors.Count > 0
            ? [.. _options.Extractors]
            : [new ToolErrorExtractor(tools: _options.Tools), new ContrastExtractor(tools: _options.Tools)];
        _guard = _options.Admission?.Build(_options.Tools);
        EmbeddingGenerator = _options.EmbeddingGenerator;
    }

    /// <summary>
    /// The semantic model consolidation uses for near-duplicate lessons (<see cref="LearningOptions.EmbeddingGenerator"/>
    /// unless set here; a runtime sets its own generator).
    /// </summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; init; }

    /// <summary>When set, every pass adds what each of its stages cost (the learning bench's per-stage figures).</summary>
    internal LearningStageClock? Stages { get; init; }

    /// <summary>The name of the store cursor that marks the last episode sequence a tenant's learning has read.</summary>
    public static string CursorName(string tenant) => $"learning:{tenant}";

    /// <summary>Runs one pass for a tenant; <paramref name="actor"/> is recorded as the snapshot's creator.</summary>
    public async Task<LearningRun> RunAsync(string tenant, string actor, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        var started = _time.GetUtcNow();

        // The cursor decides which episodes are new, so the whole pass (cursor read to cursor move) holds the tenant's
        // learning lock: two passes at once would both count the same new episodes as evidence.
        await using var held = await LearningLocks.AcquireAsync(_store, tenant, actor, cancellationToken, note => OnLockTakenOver(note, progress)).ConfigureAwait(false);
        progress?.Report($"Reading the latest {_options.Window:N0} ended episodes of '{tenant}'");
        var cursor = await _store.GetCursorAsync(CursorName(tenant), cancellationToken).ConfigureAwait(false);

        // An import still being staged holds sequences it will publish later: the cursor stays below the lowest of
        // them (episodes past it wait for the next pass), or those episodes would never be read as new.
        var staged = _store.GetService<IStagedImports>() is { } imports ? await imports.LowestStagedSequenceAsync(tenant, cancellationToken).ConfigureAwait(false) : null;
        var window = await ReadWindowAsync(tenant, cancellationToken).ConfigureAwait(false);

        // The cursor moves in the same commit as the learning it records, so a crash never lets the episodes count twice.
        var newest = window.Count == 0 ? cursor : Math.Max(cursor, window.Max(e => e.Sequence));
        if (staged is { } lowest && newest >= lowest)
        {
            newest = Math.Max(cursor, lowest - 1);
        }

        var newIds = window.Where(e => e.Sequence > cursor && e.Sequence <= newest).Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var move = newest > cursor ? new StoreCursor(CursorName(tenant), newest) : null;
        return (await LearnAsync(tenant, actor, started, window, newIds, lockHeld: true, stillOwned: null, move, [], progress, cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>
    /// Runs one pass in which exactly <paramref name="newEpisodeIds"/> are the new episodes (a learning worker's leased
    /// batch), read in the context of the latest window; the tenant's cursor is neither read nor moved. Extraction
    /// runs unlocked, so workers extract in parallel; consolidation and publication hold the tenant's learning lock.
    /// </summary>
    /// <exception cref="ArgumentException">An episode of the batch belongs to another tenant or has not ended.</exception>
    public async Task<LearningRun> RunOnEpisodesAsync(string tenant, string actor, IReadOnlyCollection<string> newEpisodeIds, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
        => (await RunOnEpisodesAsync(tenant, actor, newEpisodeIds, stillOwned: null, progress, cancellationToken).ConfigureAwait(false))!;

    /// <summary>
    /// <see cref="RunOnEpisodesAsync(string, string, IReadOnlyCollection{string}, IProgress{string}?, CancellationToken)"/>
    /// with a last check under the learning lock, before anything is written: when <paramref name="stillOwned"/> says
    /// false (the worker's leases are about to expire) the pass writes nothing and returns null.
    /// </summary>
    internal Task<LearningRun?> RunOnEpisodesAsync(string tenant, string actor, IReadOnlyCollection<string> newEpisodeIds, Func<bool>? stillOwned, IProgress<string>? progress, CancellationToken cancellationToken)
        => RunOnEpisodesAsync(tenant, actor, newEpisodeIds, stillOwned, [], progress, cancellationToken);

    /// <summary>
    /// As above, completing <paramref name="leases"/> in the pass's own commit: the episodes are marked processed if
    /// and only if their learning is stored. A lease granted to another worker meanwhile fails the commit with
    /// <see cref="StoreConflictException"/>, and nothing of the pass is written.
    /// </summary>
    internal async Task<LearningRun?> RunOnEpisodesAsync(string tenant, string actor, IReadOnlyCollection<string> newEpisodeIds, Func<bool>? stillOwned, IReadOnlyList<EpisodeLease> leases, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentNullException.ThrowIfNull(newEpisodeIds);
        var started = _time.GetUtcNow();

        progress?.Report($"Reading the latest {_options.Window:N0} ended episodes of '{tenant}' and {newEpisodeIds.Count} new ones");
        var window = await ReadWindowAsync(tenant, cancellationToken).ConfigureAwait(false);
        var inWindow = window.Select(e => e.Id).ToHashSet(StringComparer.Ordinal);
        var newIds = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in newEpisodeIds)
        {
            if (inWindow.Contains(id))
            {
                newIds.Add(id);
                continue;
            }

            // Older than the window (a backlog): read it on its own. One erased since it was leased is simply gone.
            if (await _store.GetEpisodeAsync(tenant, id, cancellationToken).ConfigureAwait(false) is not { } episode)
            {
                continue;
            }

            if (episode.Tenant != tenant || episode.EndedAt is null)
            {
                throw new ArgumentException($"Episode '{id}' {(episode.Tenant != tenant ? $"belongs to tenant '{episode.Tenant}'" : "has not ended")}; a pass for '{tenant}' learns only from its ended episodes.", nameof(newEpisodeIds));
            }

            window.Add(episode);
            inWindow.Add(id);
            newIds.Add(id);
        }

        window.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
        return await LearnAsync(tenant, actor, started, window, newIds, lockHeld: false, stillOwned, cursor: null, leases, progress, cancellationToken).ConfigureAwait(false);
    }

    private async Task<List<Episode>> ReadWindowAsync(string tenant, CancellationToken cancellationToken)
    {
        using var stage = LearningStageClock.Measure(Stages, "read episodes");
        var window = new List<Episode>();
        await foreach (var episode in _store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant, EndedOnly = true, Limit = _options.Window, NewestFirst = true }, cancellationToken).ConfigureAwait(false))
        {
            window.Add(episode);
        }

        return window;
    }

    private async Task<LearningRun?> LearnAsync(string tenant, string actor, DateTimeOffset started, List<Episode> window, HashSet<string> newIds, bool lockHeld, Func<bool>? stillOwned, StoreCursor? cursor, IReadOnlyList<EpisodeLease> leases, IProgress<string>? progress, CancellationToken cancellationToken)
    {
        var batch = new ExtractionBatch(tenant, window, newIds);

        var reports = new List<ExtractorReport>(_extractors.Count);
        var candidates = new List<LessonCandidate>();
        var contradicted = new Dictionary<string, string>(StringComparer.Ordinal);
        var extraction = LearningStageClock.Measure(Stages, "extract");
        foreach (var extractor in _extractors)
        {
            progress?.Report($"Extracting with {extractor.Info.Name} {extractor.Info.Version}");
            var (report, accepted, against) = await RunExtractorAsync(extractor, batch, cancellationToken).ConfigureAwait(false);
            reports.Add(report);
            candidates.AddRange(accepted);
            foreach (var claim in against)
            {
                contradicted.TryAdd(Consolidation.LessonIds.For(tenant, claim.Key), claim.Reason);
            }
        }

        // Consolidation reads the stored lessons, merges this pass's evidence into them, saves them by id and publishes
        // a snapshot. Two passes doing that at once would each save what they read and lose the other's evidence, so
        // this step holds the tenant's learning lock: a store-level lock (PostgreSQL advisory lock, SQLite lock row)
        // when the store offers one, so passes in other processes wait too. Waiting is preferred over retrying on a
        // conflict: lesson saves are not compare-and-swap, so a lost race would not even be detected.
        extraction.Dispose();
        await using var held = lockHeld ? null : await LearningLocks.AcquireAsync(_store, tenant, actor, cancellationToken, note => OnLockTakenOver(note, progress)).ConfigureAwait(false);
        progress?.Report($"Consolidating {candidates.Count} candidates");
        var reading = LearningStageClock.Measure(Stages, "read lessons");
        var parentId = await _store.GetActiveSnapshotIdAsync(tenant, cancellationToken).ConfigureAwait(false);
        if (parentId is null)
        {
            var snapshots = await _store.ListSnapshotsAsync(tenant, cancellationToken).ConfigureAwait(false);
            parentId = snapshots.Count > 0 ? snapshots[0].Id : null;
        }

        var parent = parentId is null ? null : await _store.GetSnapshotAsync(parentId, cancellationToken).ConfigureAwait(false);
        var stored = await _store.ListLessonsAsync(new LessonQuery { Tenant = tenant, IncludeRetired = true }, cancellationToken).ConfigureAwait(false);

        reading.Dispose();

        // A served lesson missing from the lesson table (a snapshot written by other means) is still served, not lost.
        var storedIds = stored.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var everyKnown = stored.Concat((parent?.Lessons ?? []).Where(l => !storedIds.Contains(l.Id))).ToArray();

        // Lessons people wrote or changed are theirs: learning neither updates, merges, retires nor re-learns them.
        var consolidation = LearningStageClock.Measure(Stages, "consolidate (statistics, merges, guards)");
        var people = AuthoredLessons.Split(tenant, everyKnown, parent, candidates);
        var known = people.Learned;
        var consolidator = new LessonConsolidator(_options, _time);
        var admission = BeginAdmission(tenant, stored, parent, window);
        var consolidated = await consolidator.ConsolidateAsync(
            new ConsolidationInput
            {
                Tenant = tenant,
                Candidates = people.Candidates,
                KnownLessons = known,
                ServedIds = (parent?.Lessons ?? []).Where(l => !people.Ids.Contains(l.Id)).Select(l => l.Id).ToHashSet(StringComparer.Ordinal),
                Window = window,
                NewEpisodeIds = newIds,
                LoadEpisode = (id, ct) => _store.GetEpisodeAsync(tenant, id, ct),
                Admission = admission is null ? null : Stages is null ? admission.DecideAsync : (lesson, ct) => MeasuredAsync(admission, lesson, ct),
                Contradicted = contradicted,
                Embeddings = EmbeddingGenerator,
            },
            cancellationToken).ConfigureAwait(false);

        var result = people.Rejoin(consolidated, _options);
        consolidation.Dispose();
        var building = LearningStageClock.Measure(Stages, "snapshot build");
        var finished = _time.GetUtcNow();
        var runId = RunId(started);
        Snapshot? snapshot = null;
        if (ServedContentChanged(parent?.Lessons ?? [], result.Served))
        {
            var reason = $"learning run {runId}: {result.Added.Count} added, {result.Updated.Count} updated, {result.Retirements.Count} retired, {result.Merges.Count} merged, {result.Contradictions.Count} contradictions settled";
            snapshot = Snapshot.Create(parent?.Id, tenant, result.Served, parent?.Settings ?? _options.Retrieval, actor, reason, finished);
        }

        building.Dispose();
        if (stillOwned is not null && !stillOwned())
        {
            return null;
        }

        progress?.Report(snapshot is null ? "No change to the served lessons" : $"Saving snapshot {snapshot.Id}");
        using var committing = LearningStageClock.Measure(Stages, "commit");
        var changed = await KeepReviewDecisionsAsync(result.Changed, stored, cancellationToken).ConfigureAwait(false);
        var (admissions, admissionAudit) = DescribeAdmissions(admission, result, changed, runId, actor);

        var run = new LearningRun
        {
            Id = runId,
            Tenant = tenant,
            StartedAt = started,
            FinishedAt = finished,
            EpisodesRead = window.Count,
            NewEpisodes = newIds.Count,
            Extractors = reports,
            AddedLessonIds = result.Added,
            UpdatedLessonIds = result.Updated,
            Merges = result.Merges,
            Contradictions = result.Contradictions,
            Retirements = result.Retirements,
            Dropped = Cap(result.Dropped),
            Admissions = admissions,
            ParentSnapshotId = parent?.Id,
            SnapshotId = snapshot?.Id,
        };

        // Everything the pass learned is written in one transaction (lessons, snapshot, publication, run, audit, cursor
        // or leases): a crash at any point leaves the store as before the pass or as after it.
        await CommitAsync(
            new LearningCommit
            {
                Tenant = tenant,
                Lessons = changed,
                LessonAudit = admissionAudit,
                Snapshot = snapshot,
                SnapshotCreatedAudit = snapshot is null ? null : CreatedAudit(snapshot, runId, actor),
                Run = run,
                Cursor = cursor,
                CompletedLeases = leases,
            },
            snapshot,
            actor,
            $"new snapshot from learning run {runId}",
            cancellationToken).ConfigureAwait(false);
        LogRun(_logger, run.Id, tenant, window.Count, newIds.Count, candidates.Count, result.Added.Count, result.Retirements.Count, snapshot?.Id ?? "none");
        return run;
    }

    /// <summary>One admission decision, measured as the "guards" part of consolidation.</summary>
    private async ValueTask<Lesson> MeasuredAsync(Guards.AdmissionStage admission, Lesson lesson, CancellationToken cancellationToken)
    {
        using var stage = LearningStageClock.Measure(Stages, "guards (admission; part of consolidate)");
        return await admission.DecideAsync(lesson, cancellationToken).ConfigureAwait(false);
    }

    private async Task<(ExtractorReport Report, IReadOnlyList<LessonCandidate> Accepted, IReadOnlyList<ClaimContradiction> Contradicted)> RunExtractorAsync(ILessonExtractor extractor, ExtractionBatch batch, CancellationToken cancellationToken)
    {
        var info = extractor.Info;
        var watch = Stopwatch.StartNew();
        ExtractionResult result;
        try
        {
            result = await extractor.ExtractAsync(batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A broken plug-in must not stop learning from the others; the run records what happened.
            LogExtractorFailed(_logger, e, info.Name, info.Version);
            return (new ExtractorReport(info.Name, info.Version, 0, 1, [$"the extractor failed: {e.GetType().Name}: {e.Message}"], watch.Elapsed), [], []);
        }

        watch.Stop();
        var accepted = new List<LessonCandidate>(result.Candidates.Count);
        var rejected = result.Rejected;
        var samples = new List<string>(result.RejectionSamples ?? []);
        foreach (var candidate in result.Candidates)
        {
            var problem = Check(candidate, batch.Tenant);
            if (problem is null)
            {
                accepted.Add(candidate);
                continue;
            }

            rejected++;
            if (samples.Count < 5)
            {
                samples.Add($"candidate '{candidate.Key}': {problem}");
            }
        }

        var against = result.Contradicted.Where(c => !string.IsNullOrWhiteSpace(c.Key) && !string.IsNullOrWhiteSpace(c.Reason)).ToArray();
        return (new ExtractorReport(info.Name, info.Version, accepted.Count, rejected, samples, watch.Elapsed), accepted, against);
    }

    /// <summary>What makes a candidate unusable whatever the extractor: an empty key or text, a confidence outside [0, 1], another tenant.</summary>
    private static string? Check(LessonCandidate candidate, string tenant)
    {
        if (string.IsNullOrWhiteSpace(candidate.Key))
        {
            return "the key is empty";
        }

        if (string.IsNullOrWhiteSpace(candidate.Text))
        {
            return "the text is empty";
        }

        if (double.IsNaN(candidate.Confidence) || candidate.Confidence is < 0 or > 1)
        {
            return $"confidence {candidate.Confidence.ToString(CultureInfo.InvariantCulture)} is outside [0, 1]";
        }

        if (candidate.Scope.Tenant != tenant)
        {
            return $"it is scoped to tenant '{candidate.Scope.Tenant}', but the run learns for '{tenant}'";
        }

        return null;
    }

    /// <summary>True when the served set differs in anything a model call would see: ids, kinds, texts, triggers or scopes.</summary>
    private static bool ServedContentChanged(IReadOnlyList<Lesson> before, IReadOnlyList<Lesson> after)
    {
        static string Content(IEnumerable<Lesson> lessons) => JsonSerializer.Serialize(
            lessons.Where(l => !l.IsRetired)
                .OrderBy(l => l.Id, StringComparer.Ordinal)
                .Select(l => new { l.Id, l.Kind, l.Text, l.Trigger, l.Scope }),
            LoreJson.Options);
        return Content(before) != Content(after);
    }

    /// <summary>The run log keeps the first <see cref="MaxDropped"/> reasons and counts the rest.</summary>
    private static IReadOnlyList<string> Cap(IReadOnlyList<string> dropped)
        => dropped.Count <= MaxDropped
            ? dropped
            : [.. dropped.Take(MaxDropped), $"... and {dropped.Count - MaxDropped} more candidates dropped for the same kinds of reasons."];

    private const int MaxDropped = 200;

    /// <summary>A sortable, unique run id: the start time, then random digits (two runs may start in the same tick).</summary>
    private static string RunId(DateTimeOffset started)
        => $"run-{started.UtcDateTime:yyyyMMdd'T'HHmmss'Z'}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4))}";

    [LoggerMessage(Level = LogLevel.Information, Message = "Learning run {RunId} for {Tenant}: {Episodes} episodes ({New} new), {Candidates} candidates, {Added} lessons added, {Retired} retired, snapshot {SnapshotId}")]
    private static partial void LogRun(ILogger logger, string runId, string tenant, int episodes, int @new, int candidates, int added, int retired, string snapshotId);

    /// <summary>A lock taken over from a dead holder is said out loud: in the log, and to whoever watches the pass's progress.</summary>
    private void OnLockTakenOver(string note, IProgress<string>? progress)
    {
        LogLockTakenOver(_logger, note);
        progress?.Report(note);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Note}")]
    private static partial void LogLockTakenOver(ILogger logger, string note);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Extractor {Name} {Version} failed; the run continues without it")]
    private static partial void LogExtractorFailed(ILogger logger, Exception exception, string name, string version);
}
