using System.Globalization;
using Lore.Learning;
using Lore.Retention;

namespace Lore;

/// <summary>A lesson taken out of service by erasure or retention, with the rule that fired and its evidence.</summary>
/// <param name="LessonId">The lesson.</param>
/// <param name="Rule">The rule: <c>evidence-below-threshold</c>, <c>unit-erased</c>, <c>unusedLessonDays</c>, <c>minLessonEffect</c>.</param>
/// <param name="Evidence">What the rule saw, in one sentence.</param>
/// <param name="Reason">The reason recorded on the lesson.</param>
public sealed record LessonRetirementAction(string LessonId, string Rule, string Evidence, string Reason);

/// <summary>
/// What an erasure will do, computed before anything is changed: the episodes to delete, the pseudonyms of their
/// units, and the lessons to retire (each with its rule and evidence) because their remaining evidence no longer meets
/// the admission thresholds or because they are about an erased unit.
/// </summary>
public sealed record ErasurePlan
{
    internal ErasurePlan(string tenant, string selection, IReadOnlyList<string> episodeIds, IReadOnlyList<string> unitPseudonyms, LessonEdits edits, IReadOnlyList<Lesson> lessons)
    {
        Tenant = tenant;
        Selection = selection;
        EpisodeIds = episodeIds;
        UnitPseudonyms = unitPseudonyms;
        Edits = edits;
        Lessons = lessons;
    }

    /// <summary>The tenant whose episodes the plan erases.</summary>
    public string Tenant { get; }

    /// <summary>How the episodes were chosen: "unit", "ids" or a retention rule.</summary>
    public string Selection { get; }

    /// <summary>The episodes that will be deleted (only ever shown to the operator, never written to the audit log).</summary>
    public IReadOnlyList<string> EpisodeIds { get; }

    /// <summary>One-way names of the units those episodes belong to, as the audit log records them.</summary>
    public IReadOnlyList<string> UnitPseudonyms { get; }

    /// <summary>Lessons that will be retired, with the rule and the evidence.</summary>
    public IReadOnlyList<LessonRetirementAction> Retirements => [.. Edits.Retirements.OrderBy(r => r.LessonId, StringComparer.Ordinal)];

    /// <summary>Lessons that stay but cite deleted episodes (their evidence lists lose them).</summary>
    public IReadOnlyList<string> PrunedLessonIds => [.. Lessons.Where(l => Edits.CitesDeleted(l) && !Edits.Retires(l.Id)).Select(l => l.Id).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal)];

    internal LessonEdits Edits { get; }

    /// <summary>Every lesson of the tenant as planned against (latest versions).</summary>
    internal IReadOnlyList<Lesson> Lessons { get; }
}

/// <summary>What an erasure did.</summary>
/// <param name="Plan">The plan it carried out.</param>
/// <param name="Deleted">Episodes deleted.</param>
/// <param name="StableSnapshotId">The stable snapshot after it (a new one when lessons left service).</param>
/// <param name="CandidateSnapshotId">The candidate in rollout after it, if any.</param>
/// <param name="Audit">The audit entry that records the deletion (null when the plan deleted no episode).</param>
public sealed record ErasureResult(ErasurePlan Plan, int Deleted, string? StableSnapshotId, string? CandidateSnapshotId, AuditEntry? Audit);

/// <summary>
/// Deletes episodes (a user's right to erasure, or retention) and cascades: lessons whose remaining evidence falls
/// below the admission thresholds, and lessons about an erased unit, are retired in a new snapshot that is served at
/// once (child of the stable one; a candidate in rollout is replaced the same way), the remaining lessons' evidence
/// lists lose the deleted ids, and the audit log records the deletion by count and unit pseudonym, never by content.
/// </summary>
/// <remarks>
/// Order of writes, chosen so that an interrupted erasure can simply be run again: the lesson table first, then the
/// served snapshots, then the deletion, then the audit record of the deletion. Erasure proceeds while the tenant is
/// frozen (a legal obligation outranks the pin) and says so in the audit record. Older snapshots are immutable and
/// keep the lesson versions they were created with; serving never goes back to them without a new audit record.
/// </remarks>
public sealed class EpisodeErasure
{
    private readonly ILoreStore _store;
    private readonly AdmissionPolicy _admission;
    private readonly TimeProvider _time;

    /// <param name="store">The store to erase from.</param>
    /// <param name="admission">The thresholds lessons must still meet (the guards' defaults when null).</param>
    /// <param name="timeProvider">The clock for retirement and audit times.</param>
    public EpisodeErasure(ILoreStore store, AdmissionPolicy? admission = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _admission = (admission ?? new AdmissionPolicy()).Validate();
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Plans deleting every episode of a unit (its lessons scoped to that unit are retired and scrubbed).</summary>
    public async Task<ErasurePlan> PlanUnitAsync(string tenant, string unitKey, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentNullException.ThrowIfNull(unitKey);
        var units = await ReadUnitsAsync(tenant, cancellationToken).ConfigureAwait(false);
        var ids = units.Where(p => p.Value.Unit == unitKey).Select(p => p.Key).ToArray();
        return await PlanAsync(tenant, "unit", ids, units, erasedUnit: unitKey, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Plans deleting the given episodes; throws <see cref="KeyNotFoundException"/> naming ids the tenant does not have.</summary>
    public async Task<ErasurePlan> PlanEpisodesAsync(string tenant, IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentNullException.ThrowIfNull(episodeIds);
        var units = await ReadUnitsAsync(tenant, cancellationToken).ConfigureAwait(false);
        var missing = episodeIds.Where(id => !units.ContainsKey(id)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            throw new KeyNotFoundException($"No episode {string.Join(", ", missing.Take(5).Select(id => $"'{id}'"))}{(missing.Length > 5 ? $" (and {missing.Length - 5} more)" : "")} for tenant '{tenant}'; nothing was deleted.");
        }

        return await PlanAsync(tenant, "ids", [.. episodeIds.Distinct(StringComparer.Ordinal)], units, erasedUnit: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Plans deleting episodes chosen by a retention rule.</summary>
    internal async Task<ErasurePlan> PlanSelectionAsync(string tenant, string selection, Func<Episode, bool> select, CancellationToken cancellationToken)
    {
        var units = await ReadUnitsAsync(tenant, cancellationToken).ConfigureAwait(false);
        var ids = units.Where(p => select(p.Value.Header)).Select(p => p.Key).ToArray();
        return await PlanAsync(tenant, selection, ids, units, erasedUnit: null, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Carries out a plan. <paramref name="actor"/> and <paramref name="reason"/> go to the audit log.</summary>
    public Task<ErasureResult> ApplyAsync(ErasurePlan plan, string actor, string reason, CancellationToken cancellationToken = default)
        => ApplyAsync(plan, actor, reason, evenWhenFrozen: true, cancellationToken);

    internal async Task<ErasureResult> ApplyAsync(ErasurePlan plan, string actor, string reason, bool evenWhenFrozen, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(plan);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        var audit = new AuditTrail(_store, _time);
        var edits = plan.Edits;
        var state = await _store.GetRolloutAsync(plan.Tenant, cancellationToken).ConfigureAwait(false);
        if (state.Frozen && !evenWhenFrozen && plan.Lessons.Any(edits.Touches))
        {
            throw new InvalidOperationException($"Tenant '{plan.Tenant}' is frozen ({state.FrozenReason ?? "no reason given"}): retiring lessons or editing their evidence would change what it is served. Unfreeze it first; nothing was changed.");
        }

        // 1. The lesson table: retirements and pruned evidence (what learning will build on from now on).
        var changed = plan.Lessons.Where(edits.Touches).Select(edits.Apply).ToArray();
        if (changed.Length > 0)
        {
            await _store.SaveLessonsAsync(changed, cancellationToken).ConfigureAwait(false);
        }

        // 2. What is served: a child of the stable (and of the candidate) without the retired lessons and deleted ids.
        var served = await ServedSnapshotEditor.ApplyAsync(_store, plan.Tenant, edits, audit, actor, reason, evenWhenFrozen, cancellationToken).ConfigureAwait(false);
        foreach (var retirement in plan.Retirements)
        {
            await audit.RecordAsync(plan.Tenant, actor, AuditActions.LessonRetired, retirement.LessonId, retirement.Reason, new
            {
                rule = retirement.Rule,
                evidence = retirement.Evidence,
                snapshot = served.StableAfter,
                candidate = served.CandidateAfter,
            }, cancellationToken).ConfigureAwait(false);
        }

        // 3. The deletion itself, then its record: counts and pseudonyms, never ids, tasks or unit keys.
        if (plan.EpisodeIds.Count == 0)
        {
            return new ErasureResult(plan, 0, served.StableAfter, served.CandidateAfter, null);
        }

        var deleted = await _store.DeleteEpisodesAsync(plan.Tenant, plan.EpisodeIds, cancellationToken).ConfigureAwait(false);
        var entry = await audit.RecordAsync(plan.Tenant, actor, AuditActions.EpisodesDeleted, $"{deleted} episodes", reason, new
        {
            episodes = deleted,
            selection = plan.Selection,
            units = plan.UnitPseudonyms,
            retiredLessons = plan.Retirements.Select(r => r.LessonId),
            prunedLessons = plan.PrunedLessonIds,
            thresholds = new { minEpisodes = _admission.MinEpisodes, minDistinctSources = _admission.MinDistinctSources },
            stableSnapshot = served.StableAfter,
            previousStable = served.StableBefore,
            candidateSnapshot = served.CandidateAfter,
            frozen = state.Frozen,
        }, cancellationToken).ConfigureAwait(false);
        return new ErasureResult(plan, deleted, served.StableAfter, served.CandidateAfter, entry);
    }

    private readonly record struct StoredEpisode(string Unit, Episode Header);

    /// <summary>Every episode header of the tenant, by id (one cheap scan without steps).</summary>
    private async Task<Dictionary<string, StoredEpisode>> ReadUnitsAsync(string tenant, CancellationToken cancellationToken)
    {
        var units = new Dictionary<string, StoredEpisode>(StringComparer.Ordinal);
        await foreach (var episode in _store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant, WithoutSteps = true }, cancellationToken).ConfigureAwait(false))
        {
            units[episode.Id] = new StoredEpisode(episode.UnitKey, episode);
        }

        return units;
    }

    private async Task<ErasurePlan> PlanAsync(string tenant, string selection, IReadOnlyList<string> ids, Dictionary<string, StoredEpisode> units, string? erasedUnit, CancellationToken cancellationToken)
    {
        var deleted = ids.ToHashSet(StringComparer.Ordinal);
        var deletedUnits = ids.Select(id => units[id].Unit).ToHashSet(StringComparer.Ordinal);
        var unitOf = units.ToDictionary(p => p.Key, p => p.Value.Unit, StringComparer.Ordinal);
        var edits = new LessonEdits(deleted, unitOf, deletedUnits, _time.GetUtcNow());
        if (erasedUnit is not null)
        {
            edits.ErasedUnits.Add(erasedUnit);
        }

        var lessons = await LessonsAsync(tenant, cancellationToken).ConfigureAwait(false);
        foreach (var lesson in lessons)
        {
            if (lesson.IsRetired || lesson.Status is LessonStatus.Rejected or LessonStatus.Retired)
            {
                continue;
            }

            if (edits.IsAboutErasedUnit(lesson))
            {
                edits.Retire(new LessonRetirementAction(
                    lesson.Id,
                    "unit-erased",
                    "the lesson is scoped to the erased unit",
                    "erasure: the lesson is about a unit whose episodes were deleted"));
                continue;
            }

            if (!edits.CitesDeleted(lesson))
            {
                continue;
            }

            var before = lesson.Evidence;
            var after = edits.Prune(before);
            var exempt = lesson.Kind == LessonKind.UserFact && lesson.Scope.UnitKey is not null;
            var short_ = after.EpisodeCount < _admission.MinEpisodes;
            var narrow = !exempt && after.DistinctSources < _admission.MinDistinctSources;
            if (!short_ && !narrow)
            {
                continue;
            }

            var evidence = string.Create(CultureInfo.InvariantCulture,
                $"evidence falls from {before.EpisodeCount} episodes / {before.DistinctSources} sources to {after.EpisodeCount} / {after.DistinctSources}, below the admission thresholds of {_admission.MinEpisodes} episodes / {_admission.MinDistinctSources} sources");
            edits.Retire(new LessonRetirementAction(
                lesson.Id,
                "evidence-below-threshold",
                evidence,
                $"erasure: {evidence}"));
        }

        var pseudonyms = deletedUnits.Select(u => UnitPseudonym.Of(tenant, u)).Order(StringComparer.Ordinal).ToArray();
        return new ErasurePlan(tenant, selection, ids, pseudonyms, edits, lessons);
    }

    /// <summary>The tenant's lessons: the lesson table, plus served lessons missing from it (a snapshot written by other means).</summary>
    internal async Task<IReadOnlyList<Lesson>> LessonsAsync(string tenant, CancellationToken cancellationToken)
    {
        var stored = await _store.ListLessonsAsync(new LessonQuery { Tenant = tenant, IncludeRetired = true }, cancellationToken).ConfigureAwait(false);
        var ids = stored.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var all = new List<Lesson>(stored);
        var state = await _store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        foreach (var id in new[] { state.StableSnapshotId, state.CandidateSnapshotId })
        {
            if (id is not null && await _store.GetSnapshotAsync(id, cancellationToken).ConfigureAwait(false) is { } snapshot)
            {
                all.AddRange(snapshot.Lessons.Where(l => ids.Add(l.Id)));
            }
        }

        return all;
    }
}
