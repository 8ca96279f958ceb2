using System.Globalization;
using Lore.Learning.Consolidation;
using Lore.Learning.Publication;
using Microsoft.Extensions.Logging;

namespace Lore.Rollout;

/// <summary>
/// Continuous evaluation wired to action. It writes every judged canary episode of this process (arm, slice, unit,
/// score) to the tenant's shared tally in the store, reads back the tally every host writes to, asks the
/// <see cref="RolloutEvaluator"/> on the current share period, and acts on its decision the way the
/// <see cref="RolloutPolicy"/> allows: a regression rolls the candidate back at once (a pointer swap here, then the
/// store and the audit log), an improvement promotes it. Every few hundred judged episodes it attributes outcomes to
/// the stable snapshot's lessons by their holdout experiments and retires one shown to harm through a new snapshot
/// without it. A frozen tenant takes no automatic action; the suppressed decision is logged.
/// </summary>
internal sealed partial class RolloutMonitor
{
    /// <summary>The actor automatic changes are recorded under.</summary>
    public const string Actor = "rollout-monitor";

    private const int MaxUnjudged = 10_000;

    private readonly RolloutController _controller;
    private readonly ILoreStore _store;
    private readonly RolloutPolicy _policy;
    private readonly RolloutEvaluator _evaluator;
    private readonly EvaluationPolicy _evaluation;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly Func<CancellationToken, Task> _flush;
    private readonly Lock _lock = new();
    private readonly FailureShiftAnalyzer _shiftAnalyzer;
    private readonly Dictionary<string, (RolloutAssignment Assignment, string UnitKey, string Slice, string? FailureMode)> _unjudged = new(StringComparer.Ordinal);
    private readonly Queue<string> _unjudgedOrder = new();
    private Task _work = Task.CompletedTask;

    // The candidate being counted; everything below belongs to it and resets when it changes.
    private string? _candidate;
    private int _counted;
    private int _sharedEpisodes;
    private List<RolloutOutcome> _pending = [];
    private bool _syncQueued;
    private DateTimeOffset _canarySince;
    private bool _acting;
    private bool _suppressionLogged;
    private string? _heldFor;
    private int _shadowEpisodes;

    private long _judged;
    private bool _attributionQueued;

    public RolloutMonitor(RolloutController controller, ILoreStore store, RolloutPolicy policy, EvaluationPolicy evaluation, TimeProvider time, ILogger logger, Func<CancellationToken, Task> flush)
    {
        _controller = controller;
        _store = store;
        _policy = policy;
        _evaluator = new RolloutEvaluator(evaluation);
        _shiftAnalyzer = new FailureShiftAnalyzer(evaluation);
        _evaluation = evaluation;
        _time = time;
        _logger = logger;
        _flush = flush;
    }

    /// <summary>The latest decision evaluation reached for the candidate being counted (null before its first judged episode).</summary>
    public EvaluationDecision? LastDecision { get; private set; }

    /// <summary>How the mix of failures moved in the latest evaluation of the candidate being counted (null before its first).</summary>
    public FailureShift? LastShift { get; private set; }

    /// <summary>The latest automatic action evaluation asked for that a freeze or the policy kept from happening.</summary>
    public string? LastSuppressed { get; private set; }

    /// <summary>Judged canary episodes this process counted for the current candidate (the shared tally holds every host's).</summary>
    public int CanaryEpisodes
    {
        get
        {
            lock (_lock)
            {
                return _counted;
            }
        }
    }

    /// <summary>
    /// Completes when every action started so far (tally syncs, store writes, attribution passes) has finished,
    /// including the actions those started (a sync that decides to roll back queues the rollback).
    /// </summary>
    public async Task WhenIdleAsync()
    {
        while (true)
        {
            Task work;
            lock (_lock)
            {
                work = _work;
            }

            await work.ConfigureAwait(false);
            lock (_lock)
            {
                if (ReferenceEquals(work, _work))
                {
                    return;
                }
            }
        }
    }

    /// <summary>
    /// An episode of this process ended; <paramref name="score"/> is null when it has not been judged yet.
    /// <paramref name="failureMode"/> is its failure mode should it fail (see <see cref="FailureModes"/>: the judges'
    /// when they named one, else what its steps say); null counts a failure as <see cref="FailureModes.NoToolError"/>.
    /// </summary>
    public void OnEpisodeEnded(string episodeId, string unitKey, RolloutAssignment assignment, string slice, double? score, string? failureMode = null)
    {
        lock (_lock)
        {
            if (score is null)
            {
                RememberUnjudged(episodeId, unitKey, assignment, slice, failureMode);
                if (assignment.Stage == RolloutStage.Shadow)
                {
                    CountShadow(assignment);
                }

                return;
            }

            Count(episodeId, unitKey, assignment, slice, score.Value, failureMode);
        }
    }

    /// <summary>
    /// The served rollout changed: a new candidate, or the same one entering or leaving a stage, resets this process's
    /// view. The counts themselves live in the store's shared tally, per candidate and share: a share change starts a
    /// new period (tested on its own, at its planned part of the level), and a re-entry at a share already run
    /// continues that period's test instead of starting one at full level.
    /// </summary>
    public void OnServedChanged(RolloutState previous, RolloutState next)
    {
        if (previous.CandidateSnapshotId == next.CandidateSnapshotId && previous.Stage == next.Stage)
        {
            return;
        }

        lock (_lock)
        {
            _candidate = null;
        }
    }

    /// <summary>A judgement arrived for an episode that ended unjudged in this process.</summary>
    public void OnLateOutcome(string episodeId, Outcome outcome)
    {
        lock (_lock)
        {
            if (!_unjudged.Remove(episodeId, out var pending))
            {
                return;
            }

            // The shadow episode was counted as such when it ended; only its outcome is new.
            var mode = FailureModes.FromOutcomes([outcome]) ?? pending.FailureMode;
            Count(episodeId, pending.UnitKey, pending.Assignment with { Stage = pending.Assignment.Stage == RolloutStage.Shadow ? RolloutStage.None : pending.Assignment.Stage }, pending.Slice, outcome.Score, mode);
        }
    }

    private void Count(string episodeId, string unitKey, RolloutAssignment assignment, string slice, double score, string? failureMode)
    {
        _judged++;
        if (_policy.RetireHarmfulLessons && _judged % _policy.AttributionEvery == 0 && !_attributionQueued)
        {
            _attributionQueued = true;
            Enqueue(AttributeAsync);
        }

        if (assignment.Stage == RolloutStage.Shadow)
        {
            CountShadow(assignment);
            return;
        }

        var served = _controller.Served.State;
        if (assignment.Stage != RolloutStage.Canary || assignment.Arm is null
            || served.Stage != RolloutStage.Canary || served.CandidateSnapshotId != assignment.CandidateSnapshotId)
        {
            return;
        }

        Track(assignment.CandidateSnapshotId!);
        _counted++;
        var unit = UnitPosition.TallyName(_controller.Tenant, string.IsNullOrWhiteSpace(unitKey) ? episodeId : unitKey);
        _pending.Add(new RolloutOutcome(_controller.Tenant, assignment.CandidateSnapshotId!, assignment.CanaryShare, episodeId, assignment.Arm, slice, unit, Math.Clamp(score, 0, 1))
        {
            FailureMode = score >= 0.5 ? null : failureMode ?? FailureModes.NoToolError,
        });
        if (!_syncQueued)
        {
            _syncQueued = true;
            Enqueue(SyncAsync);
        }
    }

    /// <summary>
    /// Writes the episodes counted since the last sync to the shared tally, reads back every host's counts for the
    /// candidate's current share period and acts on the decision. Syncs run one at a time; episodes arriving
    /// meanwhile go in the next batch.
    /// </summary>
    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        List<RolloutOutcome> batch;
        lock (_lock)
        {
            batch = _pending;
            _pending = [];
            _syncQueued = false;
        }

        await _store.RecordRolloutOutcomesAsync(batch, cancellationToken).ConfigureAwait(false);
        var served = _controller.Served.State;
        if (served.Stage != RolloutStage.Canary || served.CandidateSnapshotId is not { } candidate)
        {
            return;
        }

        var rows = await _store.ReadRolloutTallyAsync(_controller.Tenant, candidate, cancellationToken).ConfigureAwait(false);
        if (SharedRolloutTally.ToOutcomes(rows, served.CanaryShare) is not { } outcomes)
        {
            return;
        }

        var failures = await _store.ReadRolloutFailureTallyAsync(_controller.Tenant, candidate, cancellationToken).ConfigureAwait(false);
        var shift = FailureCounts.FromSharedTally(rows, failures, served.CanaryShare) is { } counts ? _shiftAnalyzer.Analyze(counts) : FailureShift.Empty;

        lock (_lock)
        {
            var now = _controller.Served.State;
            if (now.Stage != RolloutStage.Canary || now.CandidateSnapshotId != candidate || _candidate != candidate || _acting)
            {
                return;
            }

            _sharedEpisodes = outcomes.Baseline.Episodes + outcomes.Candidate.Episodes;
            Decide(now, candidate, _evaluator.Evaluate(outcomes), shift);
        }
    }

    private void Decide(RolloutState served, string candidate, EvaluationDecision decision, FailureShift shift)
    {
        LastDecision = decision;
        LastShift = shift;
        // A failure mode that grew overrides a promotion: it rolls back when severe (or when the policy says any growth
        // does), else it holds the candidate in canary, audited once per set of grown modes.
        if (decision.Action != EvaluationAction.Rollback && shift.BlocksPromotion)
        {
            var rollback = shift.SevereGrowth || _policy.RollbackOnFailureModeGrowth;
            var reason = shift.Verdict(decision.Overall.Comparison);
            decision = decision with
            {
                Action = rollback ? EvaluationAction.Rollback : EvaluationAction.Continue,
                Reason = rollback ? $"A failure mode grew ({(shift.SevereGrowth ? "severe" : "the policy rolls back on any growth")}): {reason}" : $"Held in canary, a failure mode grew: {reason}",
            };
            LastDecision = decision;
            if (!rollback)
            {
                Hold(served, candidate, decision, shift);
                return;
            }
        }

        switch (decision.Action)
        {
            case EvaluationAction.Rollback when Allowed(served, "roll back", decision, _policy.AutoRollback):
                _acting = true;
                if (shift.BlocksPromotion)
                {
                    LoreTelemetry.FailureModeGrew(_controller.TelemetryTenant ?? _controller.Tenant, shift.SevereGrowth);
                }

                if (_controller.RollbackLocally(candidate))
                {
                    var regressed = decision.Evidence.Count > 0 && decision.Evidence[0].Slice != SliceVerdict.Overall ? decision.Evidence[0].Slice : null;
                    LoreTelemetry.RolledBack(_controller.TelemetryTenant ?? _controller.Tenant, regressed);
                    LogRolledBackLocally(_logger, candidate, decision.Reason);
                }

                Enqueue(ct => PersistRollbackAsync(candidate, decision, shift, ct));
                break;
            case EvaluationAction.Promote when Allowed(served, "promote", decision, _policy.AutoPromote) && PromotionDue():
                _acting = true;
                Enqueue(ct => _controller.PromoteAsync(Actor, decision.Reason, candidate, Evidence(decision, shift), ct));
                break;
        }
    }

    /// <summary>Audits, once per candidate and set of grown modes, that a failure mode's growth keeps the candidate from promotion.</summary>
    private void Hold(RolloutState served, string candidate, EvaluationDecision decision, FailureShift shift)
    {
        var key = candidate + "\n" + string.Join("\n", shift.Grown.Select(g => g.Mode + "@" + g.Slice).Order(StringComparer.Ordinal));
        if (_heldFor == key)
        {
            return;
        }

        _heldFor = key;
        LoreTelemetry.FailureModeGrew(_controller.TelemetryTenant ?? _controller.Tenant, shift.SevereGrowth);
        LastSuppressed = $"promote candidate {served.CandidateSnapshotId} ({decision.Reason})";
        LogHeld(_logger, candidate, decision.Reason);
        Enqueue(ct => AppendAsync(AuditActions.FailureShiftDetected, candidate, decision.Reason, new { candidate, evidence = Evidence(decision, shift) }));
    }

    private void CountShadow(RolloutAssignment assignment)
    {
        var served = _controller.Served.State;
        if (served.Stage != RolloutStage.Shadow || served.CandidateSnapshotId != assignment.CandidateSnapshotId)
        {
            return;
        }

        Track(assignment.CandidateSnapshotId!);
        _shadowEpisodes++;
        if (_policy.ShadowEpisodes == 0 || _shadowEpisodes < _policy.ShadowEpisodes || _acting)
        {
            return;
        }

        if (served.Frozen)
        {
            LogOnceSuppressed($"move candidate {served.CandidateSnapshotId} from shadow to canary");
            return;
        }

        _acting = true;
        var candidate = assignment.CandidateSnapshotId!;
        var share = _policy.CanaryShare;
        var reason = string.Create(CultureInfo.InvariantCulture, $"{_shadowEpisodes} shadow episodes seen; the policy starts a canary after {_policy.ShadowEpisodes}.");
        Enqueue(ct => _controller.CanaryAsync(share, Actor, reason, candidate, ct));
    }

    /// <summary>Starts counting afresh when the candidate changes.</summary>
    private void Track(string candidate)
    {
        if (_candidate == candidate)
        {
            return;
        }

        _candidate = candidate;
        _counted = 0;
        _sharedEpisodes = 0;
        _canarySince = _time.GetUtcNow();
        _acting = false;
        _suppressionLogged = false;
        _heldFor = null;
        _shadowEpisodes = 0;
        LastDecision = null;
        LastShift = null;
    }

    private bool Allowed(RolloutState served, string what, EvaluationDecision decision, bool policyAllows)
    {
        if (served.Frozen)
        {
            LogOnceSuppressed($"{what} candidate {served.CandidateSnapshotId} ({decision.Reason})");
            return false;
        }

        if (!policyAllows)
        {
            LogOnceSuppressed($"{what} candidate {served.CandidateSnapshotId}: the rollout policy leaves it to an operator ({decision.Reason})");
            return false;
        }

        return true;
    }

    private bool PromotionDue()
        => _sharedEpisodes >= _policy.MinimumCanaryEpisodes && _time.GetUtcNow() - _canarySince >= _policy.MinimumCanaryDuration;

    private void LogOnceSuppressed(string what)
    {
        LastSuppressed = what;
        if (!_suppressionLogged)
        {
            _suppressionLogged = true;
            LogSuppressed(_logger, _controller.Tenant, what);
        }
    }

    private void RememberUnjudged(string episodeId, string unitKey, RolloutAssignment assignment, string slice, string? failureMode)
    {
        if (assignment.Arm is null || !_unjudged.TryAdd(episodeId, (assignment, unitKey, slice, failureMode)))
        {
            return;
        }

        _unjudgedOrder.Enqueue(episodeId);
        while (_unjudgedOrder.Count > MaxUnjudged)
        {
            _unjudged.Remove(_unjudgedOrder.Dequeue());
        }
    }

    private async Task PersistRollbackAsync(string candidate, EvaluationDecision decision, FailureShift shift, CancellationToken cancellationToken)
    {
        var transition = await _controller.RollbackAsync(Actor, decision.Reason, toSnapshotId: null, expectedCandidate: candidate, Evidence(decision, shift), cancellationToken).ConfigureAwait(false);
        if (!transition.Changed)
        {
            LogAlreadyResolved(_logger, candidate);
        }
    }

    /// <summary>
    /// The audit evidence of a decision: the deciding slice first, with effect, interval, p-value and counts, and how the
    /// failure modes moved (every mode that grew or shrank, the modes new under the candidate, the distance).
    /// </summary>
    internal static object Evidence(EvaluationDecision decision, FailureShift? shift = null)
    {
        static object Mode(FailureModeShift m) => new
        {
            mode = m.Mode,
            slice = m.Slice,
            change = m.Change,
            isNew = m.IsNew,
            severe = m.Severe,
            baselineRate = m.Comparison.Baseline.Mean,
            candidateRate = m.Comparison.Candidate.Mean,
            effect = m.Comparison.Effect,
            intervalLow = m.Comparison.IntervalLow,
            intervalHigh = m.Comparison.IntervalHigh,
            pValue = m.Comparison.PValue,
            alpha = m.Comparison.Alpha,
            baselineEpisodes = m.Comparison.Baseline.Episodes,
            candidateEpisodes = m.Comparison.Candidate.Episodes,
        };


        static object Comparison(SliceVerdict verdict) => new
        {
            slice = verdict.Slice,
            effect = verdict.Comparison.Effect,
            intervalLow = verdict.Comparison.IntervalLow,
            intervalHigh = verdict.Comparison.IntervalHigh,
            pValue = verdict.Comparison.PValue,
            alpha = verdict.Comparison.Alpha,
            baseline = new { episodes = verdict.Comparison.Baseline.Episodes, successRate = verdict.Comparison.Baseline.Mean },
            candidate = new { episodes = verdict.Comparison.Candidate.Episodes, successRate = verdict.Comparison.Candidate.Mean },
            verdict = verdict.Verdict,
        };

        var deciding = decision.Evidence.Count > 0 ? decision.Evidence[0] : decision.Overall;
        return new
        {
            decision = decision.Action,
            slice = deciding.Slice,
            effect = deciding.Comparison.Effect,
            intervalLow = deciding.Comparison.IntervalLow,
            intervalHigh = deciding.Comparison.IntervalHigh,
            pValue = deciding.Comparison.PValue,
            alpha = deciding.Comparison.Alpha,
            baselineEpisodes = deciding.Comparison.Baseline.Episodes,
            candidateEpisodes = deciding.Comparison.Candidate.Episodes,
            baselineSuccessRate = deciding.Comparison.Baseline.Mean,
            candidateSuccessRate = deciding.Comparison.Candidate.Mean,
            tests = decision.TestCount,
            evidence = decision.Evidence.Select(Comparison).ToArray(),
            overall = Comparison(decision.Overall),
            failureShift = shift is null ? null : new
            {
                summary = shift.Verdict(decision.Overall.Comparison),
                grown = shift.Grown.Select(Mode).ToArray(),
                shrunk = shift.Shrunk.Select(Mode).ToArray(),
                newModes = shift.New.Select(m => m.Mode).ToArray(),
                distance = shift.Distance,
                distanceLow = shift.DistanceLow,
                distanceHigh = shift.DistanceHigh,
                distanceAlpha = shift.DistanceAlpha,
                tests = shift.TestCount,
            },
        };
    }

    /// <summary>
    /// One pass of the per-lesson holdout experiments over the episodes served the stable snapshot; retires the
    /// lessons the experiment shows harmful (see <see cref="LessonHarmTest"/>). The window grows: it starts at the
    /// snapshot's first episode seen (a store cursor, so restarts and other hosts keep it) and takes up to
    /// <see cref="RolloutPolicy.AttributionWindow"/> episodes from there, so repeated looks see more data, never a
    /// sliding one, and the always-valid test keeps its level. It waits while a candidate is in rollout (that
    /// rollout's outcome decides first) and does nothing while the tenant is frozen.
    /// </summary>
    private async Task AttributeAsync(CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            _attributionQueued = false;
        }

        await _flush(cancellationToken).ConfigureAwait(false);
        var served = _controller.Served;
        var stable = served.Stable.Snapshot;
        if (stable is null || stable.Lessons.Count == 0 || served.State.Stage != RolloutStage.None)
        {
            return;
        }

        var cursor = $"lesson-experiment:{_controller.Tenant}:{stable.Id}";
        var first = await _store.GetCursorAsync(cursor, cancellationToken).ConfigureAwait(false);
        if (first == 0)
        {
            first = long.MaxValue;
            var recent = new EpisodeQuery { Tenant = _controller.Tenant, EndedOnly = true, Limit = _policy.AttributionWindow, NewestFirst = true, WithoutSteps = true };
            await foreach (var episode in _store.ReadEpisodesAsync(recent, cancellationToken).ConfigureAwait(false))
            {
                if (episode.SnapshotId == stable.Id)
                {
                    first = Math.Min(first, episode.Sequence);
                }
            }

            if (first == long.MaxValue)
            {
                return;
            }

            await _store.SetCursorAsync(cursor, first, cancellationToken).ConfigureAwait(false);
        }

        var episodes = new List<Episode>();
        var query = new EpisodeQuery { Tenant = _controller.Tenant, EndedOnly = true, AfterSequence = first - 1, Limit = _policy.AttributionWindow };
        await foreach (var episode in _store.ReadEpisodesAsync(query, cancellationToken).ConfigureAwait(false))
        {
            if (episode.SnapshotId == stable.Id)
            {
                episodes.Add(episode);
            }
        }

        var lessonIds = stable.Lessons.Select(l => l.Id).ToArray();
        var effects = LessonHarmTest.Measure(episodes, lessonIds, _evaluation.MinimumEpisodesPerArm, _evaluation.MinimumUnitsPerArm, _evaluation.Alpha, _evaluation.MixtureSpread);
        var harmful = effects.Where(e => LessonHarmTest.ShowsHarm(e.Value)).OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => (e.Key, e.Value)).ToArray();
        if (harmful.Length == 0)
        {
            return;
        }

        if (served.State.Frozen)
        {
            foreach (var (id, effect) in harmful)
            {
                var what = $"retire lesson {id} ({LessonHarmTest.Describe(effect)})";
                lock (_lock)
                {
                    LastSuppressed = what;
                }

                LogSuppressed(_logger, _controller.Tenant, what);
            }

            return;
        }

        await RetireAsync(stable, harmful, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Marks the lessons retired with their evidence and publishes a child of the stable snapshot without them.</summary>
    private async Task RetireAsync(Snapshot stable, IReadOnlyList<(string Id, LessonEffect Effect)> harmful, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var byId = harmful.ToDictionary(a => a.Id, a => a.Effect, StringComparer.Ordinal);
        var retired = new List<Lesson>(harmful.Count);
        foreach (var lesson in stable.Lessons.Where(l => byId.ContainsKey(l.Id)))
        {
            var effect = byId[lesson.Id];
            var latest = await _store.GetLessonAsync(lesson.Id, cancellationToken).ConfigureAwait(false) ?? lesson;
            retired.Add(latest with
            {
                Status = LessonStatus.Retired,
                RetiredAt = now,
                RetiredReason = $"harmful in service, by the holdout experiment: {LessonHarmTest.Describe(effect)}",
                Effect = effect,
            });
        }

        var ids = string.Join(", ", retired.Select(l => l.Id));
        var reason = $"retired {retired.Count} harmful lesson(s) from {stable.Id}: {ids}";
        var child = Snapshot.Create(stable.Id, stable.Tenant, stable.Lessons.Where(l => !byId.ContainsKey(l.Id)), stable.Settings, Actor, reason, now);

        await _store.SaveLessonsAsync(retired, cancellationToken).ConfigureAwait(false);
        await _store.SaveSnapshotAsync(child, cancellationToken).ConfigureAwait(false);
        foreach (var lesson in retired)
        {
            var effect = byId[lesson.Id];
            await AppendAsync(AuditActions.LessonRetired, lesson.Id, lesson.RetiredReason!, new
            {
                lesson = lesson.Id,
                from = stable.Id,
                snapshot = child.Id,
                effect = effect.Delta,
                intervalLow = effect.IntervalLow,
                intervalHigh = effect.IntervalHigh,
                pValue = effect.HarmPValue,
                alpha = effect.Level,
                randomized = effect.Randomized,
                withEpisodes = effect.WithCount,
                withUnits = effect.WithUnits,
                withSuccessRate = effect.WithSuccessRate,
                withoutEpisodes = effect.WithoutCount,
                withoutUnits = effect.WithoutUnits,
                withoutSuccessRate = effect.WithoutSuccessRate,
            }).ConfigureAwait(false);
        }

        await AppendAsync(AuditActions.SnapshotCreated, child.Id, reason, new { snapshot = child.Id, parent = stable.Id, lessons = child.Lessons.Count, retired = retired.Select(l => l.Id) }).ConfigureAwait(false);
        var publication = await SnapshotPublisher.PublishAsync(_store, child, _policy, Actor, reason, _time, cancellationToken).ConfigureAwait(false);
        LogRetired(_logger, ids, stable.Id, child.Id, publication.Note);
        await _controller.RefreshAsync(cancellationToken).ConfigureAwait(false);
    }

    private Task<AuditEntry> AppendAsync(string action, string subject, string reason, object details)
        => _store.AppendAuditAsync(
            new AuditDraft
            {
                Tenant = _controller.Tenant,
                Actor = Actor,
                Action = action,
                Subject = subject,
                Reason = reason,
                DetailsJson = System.Text.Json.JsonSerializer.Serialize(details, LoreJson.Options),
                At = _time.GetUtcNow(),
            },
            CancellationToken.None);

    /// <summary>Runs actions one after another in the background; a failed action is logged and the next still runs.</summary>
    private void Enqueue(Func<CancellationToken, Task> action) => _work = RunAfterAsync(_work, action);

    private async Task RunAfterAsync(Task previous, Func<CancellationToken, Task> action)
    {
        await previous.ConfigureAwait(false);
        await Task.Yield();
        try
        {
            await action(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex)
        {
            LogActionFailed(_logger, ex, _controller.Tenant);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Rolled back candidate {Candidate} in process at once: {Reason}")]
    private static partial void LogRolledBackLocally(ILogger logger, string candidate, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Candidate {Candidate} is held in canary: {Reason}")]
    private static partial void LogHeld(ILogger logger, string candidate, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Candidate {Candidate} had already been promoted or dropped when the automatic rollback reached the store.")]
    private static partial void LogAlreadyResolved(ILogger logger, string candidate);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Tenant {Tenant}: evaluation would {What}, but no automatic action is taken (frozen or left to an operator by the policy).")]
    private static partial void LogSuppressed(ILogger logger, string tenant, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Retired harmful lesson(s) {Lessons} from {Stable} in snapshot {Child}. {Publication}")]
    private static partial void LogRetired(ILogger logger, string lessons, string stable, string child, string publication);

    [LoggerMessage(Level = LogLevel.Error, Message = "An automatic rollout action for tenant {Tenant} failed; the rollout is as the store last recorded it.")]
    private static partial void LogActionFailed(ILogger logger, Exception exception, string tenant);
}
