using System.Globalization;
using Lore.Learning;
using Lore.Learning.Consolidation;

namespace Lore;

/// <summary>One thing a retention run does (or, in a dry run, would do), with the rule that asks for it and the evidence.</summary>
/// <param name="Rule">The policy field: maxEpisodeAgeDays, unusedLessonDays, minLessonEffect; cascaded retirements name the rule that deleted their evidence.</param>
/// <param name="Kind">"delete-episodes" or "retire-lesson".</param>
/// <param name="Subject">"N episodes" or the lesson id.</param>
/// <param name="Evidence">What the rule saw, in one sentence.</param>
/// <param name="Ids">The episodes to delete (empty for a lesson).</param>
public sealed record RetentionAction(string Rule, string Kind, string Subject, string Evidence, IReadOnlyList<string> Ids);

/// <summary>What a retention run found and, with <see cref="Applied"/>, did.</summary>
/// <param name="Tenant">The tenant.</param>
/// <param name="Applied">False for a dry run: nothing was changed.</param>
/// <param name="At">The time the rules were evaluated at.</param>
/// <param name="Policy">The policy run.</param>
/// <param name="Actions">Every action, with rule and evidence.</param>
/// <param name="Frozen">True when the tenant is frozen (an apply that would change what is served is refused).</param>
/// <param name="StableSnapshotId">The stable snapshot after the run.</param>
/// <param name="Audit">The audit entry of an applied run that did something.</param>
public sealed record RetentionReport(string Tenant, bool Applied, DateTimeOffset At, RetentionPolicy Policy, IReadOnlyList<RetentionAction> Actions, bool Frozen, string? StableSnapshotId, AuditEntry? Audit);

/// <summary>
/// Runs a <see cref="RetentionPolicy"/> for a tenant: a dry run reports each action with its rule and evidence and
/// changes nothing; an applied run deletes old episodes (with the erasure cascade) and retires unused or ineffective
/// lessons in one new snapshot, and records the run in the audit log.
/// </summary>
/// <remarks>
/// "Unused" means served by the stable snapshot (and its unbroken line of ancestors) for at least the period and
/// injected into no episode that started within it. The measured effect is the per-lesson holdout experiment
/// (<see cref="LessonHarmTest"/>: eligible and injected against eligible and withheld, by unit, always-valid interval
/// corrected across the snapshot's lessons) over the episodes the stable snapshot served; a lesson is retired when
/// both sides reach <see cref="RetentionPolicy.MinEffectEpisodes"/> episodes (and as many units, up to 20) and the
/// whole interval lies below the minimum. Unused lessons are retired with a "stale:" reason, so learning brings them back if new evidence appears.
/// </remarks>
public sealed class RetentionRunner
{
    private readonly ILoreStore _store;
    private readonly AdmissionPolicy? _admission;
    private readonly TimeProvider _time;

    /// <summary>A runner over <paramref name="store"/>; <paramref name="admission"/> screens lessons rewritten by erasure as learning would.</summary>
    public RetentionRunner(ILoreStore store, AdmissionPolicy? admission = null, TimeProvider? timeProvider = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        _store = store;
        _admission = admission;
        _time = timeProvider ?? TimeProvider.System;
    }

    /// <summary>Evaluates the policy now; acts only when <paramref name="apply"/> is true.</summary>
    public async Task<RetentionReport> RunAsync(string tenant, RetentionPolicy policy, bool apply, string actor, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentNullException.ThrowIfNull(policy);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        var now = _time.GetUtcNow();
        var erasure = new EpisodeErasure(_store, _admission, _time);

        DateTimeOffset? cutoff = policy.MaxEpisodeAgeDays is { } maxAge ? now - TimeSpan.FromDays(maxAge) : null;
        var plan = await erasure.PlanSelectionAsync(tenant, "maxEpisodeAgeDays", e => cutoff is { } c && e.StartedAt < c, cancellationToken).ConfigureAwait(false);
        var actions = new List<RetentionAction>();
        if (plan.EpisodeIds.Count > 0)
        {
            actions.Add(new RetentionAction(
                "maxEpisodeAgeDays",
                "delete-episodes",
                $"{plan.EpisodeIds.Count} episodes",
                string.Create(CultureInfo.InvariantCulture, $"{plan.EpisodeIds.Count} episodes started before {cutoff:yyyy-MM-dd HH:mm}Z ({policy.MaxEpisodeAgeDays} days before {now:yyyy-MM-dd HH:mm}Z) from {plan.UnitPseudonyms.Count} units"),
                plan.EpisodeIds));
        }

        foreach (var cascaded in plan.Retirements)
        {
            actions.Add(new RetentionAction("maxEpisodeAgeDays", "retire-lesson", cascaded.LessonId, cascaded.Evidence, []));
        }

        var rollout = await _store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        var stable = rollout.StableSnapshotId is { } stableId ? await _store.GetSnapshotAsync(stableId, cancellationToken).ConfigureAwait(false) : null;
        if (stable is not null && (policy.UnusedLessonDays is not null || policy.MinLessonEffect is not null))
        {
            var episodes = new List<Episode>();
            // The effect rule reads the holdout experiments, which live on the model-call steps.
            await foreach (var episode in _store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant, WithoutSteps = policy.MinLessonEffect is null }, cancellationToken).ConfigureAwait(false))
            {
                episodes.Add(episode);
            }

            if (policy.UnusedLessonDays is { } unusedDays)
            {
                await RetireUnusedAsync(plan, stable, episodes, now, unusedDays, actions, cancellationToken).ConfigureAwait(false);
            }

            if (policy.MinLessonEffect is { } minEffect)
            {
                RetireIneffective(plan, stable, episodes, minEffect, policy.MinEffectEpisodes, actions);
            }
        }

        if (!apply || actions.Count == 0)
        {
            return new RetentionReport(tenant, false, now, policy, actions, rollout.Frozen, rollout.StableSnapshotId, null);
        }

        var reason = $"retention policy: {Describe(policy)}";
        var result = await erasure.ApplyAsync(plan, actor, reason, evenWhenFrozen: false, cancellationToken).ConfigureAwait(false);
        var audit = await new AuditTrail(_store, _time).RecordAsync(tenant, actor, AuditActions.RetentionApplied, $"{actions.Count} actions", reason, new
        {
            policy,
            episodesDeleted = result.Deleted,
            retiredLessons = actions.Where(a => a.Kind == "retire-lesson").Select(a => new { lesson = a.Subject, rule = a.Rule }),
            stableSnapshot = result.StableSnapshotId,
            candidateSnapshot = result.CandidateSnapshotId,
            deletionAudit = result.Audit?.Sequence,
        }, cancellationToken).ConfigureAwait(false);
        return new RetentionReport(tenant, true, now, policy, actions, rollout.Frozen, result.StableSnapshotId, audit);
    }

    private async Task RetireUnusedAsync(ErasurePlan plan, Snapshot stable, List<Episode> episodes, DateTimeOffset now, double days, List<RetentionAction> actions, CancellationToken cancellationToken)
    {
        var since = now - TimeSpan.FromDays(days);
        var lastInjected = new Dictionary<string, Episode>(StringComparer.Ordinal);
        foreach (var episode in episodes)
        {
            foreach (var id in episode.InjectedLessonIds)
            {
                if (!lastInjected.TryGetValue(id, out var last) || episode.StartedAt > last.StartedAt)
                {
                    lastInjected[id] = episode;
                }
            }
        }

        var servedSince = await ServedSinceAsync(stable, cancellationToken).ConfigureAwait(false);
        foreach (var lesson in stable.Lessons)
        {
            if (plan.Edits.Retires(lesson.Id) || servedSince[lesson.Id] > since)
            {
                continue;
            }

            var last = lastInjected.GetValueOrDefault(lesson.Id);
            if (last is not null && last.StartedAt >= since)
            {
                continue;
            }

            var c = CultureInfo.InvariantCulture;
            var evidence = string.Create(c, $"served since {servedSince[lesson.Id]:yyyy-MM-dd} ({(now - servedSince[lesson.Id]).TotalDays:0} days) and ")
                + (last is null
                    ? "never injected into any stored episode"
                    : string.Create(c, $"last injected {(now - last.StartedAt).TotalDays:0} days ago, on {last.StartedAt:yyyy-MM-dd} (episode {last.Id})"))
                + string.Create(c, $"; the rule allows {days:0.#} days unused");
            plan.Edits.Retire(new LessonRetirementAction(lesson.Id, "unusedLessonDays", evidence, $"stale: not injected in the last {days.ToString("0.#", c)} days (retention rule unusedLessonDays)"));
            actions.Add(new RetentionAction("unusedLessonDays", "retire-lesson", lesson.Id, evidence, []));
        }
    }

    private static void RetireIneffective(ErasurePlan plan, Snapshot stable, List<Episode> episodes, double minEffect, int minEpisodes, List<RetentionAction> actions)
    {
        var deleted = plan.Edits.DeletedEpisodes;
        var served = stable.Lessons.Select(l => l.Id).ToArray();
        var effects = LessonHarmTest.Measure(episodes.Where(e => !deleted.Contains(e.Id)), served, minEpisodes, Math.Clamp(minEpisodes, 2, LessonHarmTest.DefaultMinimumUnits));
        foreach (var (lessonId, effect) in effects.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            // The whole interval must lie below the minimum: a point estimate below it is not evidence enough.
            if (plan.Edits.Retires(lessonId) || !effect.HasEnoughData || effect.IntervalHigh >= minEffect)
            {
                continue;
            }

            var evidence = LessonHarmTest.Describe(effect) + string.Create(CultureInfo.InvariantCulture, $"; the rule requires an effect of at least {minEffect:+0.000;-0.000;0.000} and the interval lies below it");
            plan.Edits.Retire(new LessonRetirementAction(
                lessonId,
                "minLessonEffect",
                evidence,
                string.Create(CultureInfo.InvariantCulture, $"retention: the holdout experiment puts the effect at most {effect.IntervalHigh:+0.000;-0.000;0.000}, below minLessonEffect {minEffect:+0.000;-0.000;0.000}")));
            actions.Add(new RetentionAction("minLessonEffect", "retire-lesson", lessonId, evidence, []));
        }
    }

    /// <summary>For each lesson of the stable snapshot, the creation time of the oldest snapshot of its unbroken line of ancestors that served it.</summary>
    private async Task<Dictionary<string, DateTimeOffset>> ServedSinceAsync(Snapshot stable, CancellationToken cancellationToken)
    {
        var since = stable.Lessons.ToDictionary(l => l.Id, _ => stable.CreatedAt, StringComparer.Ordinal);
        var open = since.Keys.ToHashSet(StringComparer.Ordinal);
        var parentId = stable.ParentId;
        for (var depth = 0; parentId is not null && open.Count > 0 && depth < 100_000; depth++)
        {
            var parent = await _store.GetSnapshotAsync(parentId, cancellationToken).ConfigureAwait(false);
            if (parent is null)
            {
                break;
            }

            var ids = parent.Lessons.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
            open.IntersectWith(ids);
            foreach (var id in open)
            {
                since[id] = parent.CreatedAt;
            }

            parentId = parent.ParentId;
        }

        return since;
    }

    private static string Describe(RetentionPolicy policy)
    {
        var c = CultureInfo.InvariantCulture;
        var parts = new List<string>();
        if (policy.MaxEpisodeAgeDays is { } age)
        {
            parts.Add(string.Create(c, $"maxEpisodeAgeDays {age}"));
        }

        if (policy.UnusedLessonDays is { } unused)
        {
            parts.Add(string.Create(c, $"unusedLessonDays {unused}"));
        }

        if (policy.MinLessonEffect is { } effect)
        {
            parts.Add(string.Create(c, $"minLessonEffect {effect} (with {policy.MinEffectEpisodes} episodes a side)"));
        }

        return string.Join(", ", parts);
    }
}
