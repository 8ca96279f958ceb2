using System.Collections.Immutable;
using Lore.Capture;
using Lore.Retrieval;
using Lore.Rollout;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>
/// The episode in progress. While it is alive it is the ambient episode for the async flow that began it, so
/// <see cref="LoreChatClient"/> records every model and tool call into it without being told.
/// </summary>
public sealed class EpisodeScope : IAsyncDisposable
{
    private readonly Episode _header;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly EpisodeTranscript _transcript = new();
    private readonly Lock _injectedLock = new();
    private readonly List<string> _injected = [];
    private readonly HashSet<string> _injectedSet = new(StringComparer.Ordinal);
    private readonly List<Outcome> _outcomes = [];
    private readonly FailureTrace _failures = new();
    private readonly List<Step>? _steps;
    private bool _started;
    private bool _startDropped;
    private bool _closed;
    private readonly object _callsLock = new();
    private int _callsInFlight;
    private TaskCompletionSource? _callsDrained;
    private int _ending;
    private RetrievalMemo? _lastRetrieval;

    internal EpisodeScope(LoreRuntime runtime, Episode header, RolloutAssignment assignment, EpisodeScope? outer)
    {
        Runtime = runtime;
        _header = header;
        Assignment = assignment;
        Outer = outer;
        _steps = runtime.ClassifiesFailures ? [] : null;
    }

    /// <summary>The episode's id, as stored and as outcomes reported later must name it.</summary>
    public string Id => _header.Id;

    /// <summary>What the agent was asked to do; retrieval matches lessons against it on every call of the episode.</summary>
    public string Task => _header.Task;

    /// <summary>Who the episode was for (a user, customer or account); the unit of rollout arms and of lesson scope.</summary>
    public string UnitKey => _header.UnitKey;

    /// <summary>The episode's labels (for example <c>slice</c>), which scope lessons and group evaluation.</summary>
    public IReadOnlyDictionary<string, string> Labels => _header.Labels;

    /// <summary>The snapshot in effect for this episode (fixed at its start), or null for the baseline.</summary>
    public string? SnapshotId => _header.SnapshotId;

    /// <summary>The rollout arm of this episode (fixed at its start): baseline or candidate, or null when no rollout was running.</summary>
    public string? Arm => _header.Arm;

    /// <summary>Every lesson injected so far.</summary>
    public IReadOnlyCollection<string> InjectedLessonIds
    {
        get
        {
            lock (_injectedLock)
            {
                return [.. _injected];
            }
        }
    }

    internal LoreRuntime Runtime { get; }

    /// <summary>The slice label, or "(none)".</summary>
    internal string Slice => _header.Slice;

    /// <summary>What the rollout gave this episode at its start: arm, served index and (in shadow) the candidate's index.</summary>
    internal RolloutAssignment Assignment { get; }

    /// <summary>The retrieval index of the snapshot fixed at the start.</summary>
    internal LessonIndex Index => Assignment.Served;

    /// <summary>In shadow, the candidate's index: retrieved from and recorded, never injected.</summary>
    internal LessonIndex? ShadowIndex => Assignment.Shadow;

    /// <summary>The episode that was ambient when this one began; it is ambient again when this one ends.</summary>
    internal EpisodeScope? Outer { get; }

    /// <summary>True once the episode has ended: later calls pass through unrecorded.</summary>
    internal bool IsEnded => Volatile.Read(ref _ending) != 0;

    /// <summary>
    /// When true, an outcome recorded through <see cref="LoreRuntime.RecordOutcomeAsync"/> while the episode runs also
    /// ends it: for hosts such as the OpenAI-compatible proxy, whose episodes span requests and have no code of their own
    /// that could end them.
    /// </summary>
    internal bool EndsOnOutcome { get; set; }

    /// <summary>Records the outcome and ends the episode.</summary>
    public ValueTask CompleteAsync(Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        cancellationToken.ThrowIfCancellationRequested();
        if (Interlocked.Exchange(ref _ending, 1) != 0)
        {
            throw new InvalidOperationException($"Episode '{Id}' has already ended; add later judgements with LoreRuntime.RecordOutcomeAsync.");
        }

        LeaveAmbient();
        return EndAsync(outcome);
    }

    /// <summary>Ends the episode without an outcome (one may still arrive later through <see cref="LoreRuntime.RecordOutcomeAsync"/>).</summary>
    public ValueTask DisposeAsync()
    {
        // Synchronous on purpose up to here: an AsyncLocal change made inside an async method would not reach the caller.
        LeaveAmbient();
        return Interlocked.Exchange(ref _ending, 1) != 0 ? ValueTask.CompletedTask : EndAsync(null);
    }

    /// <summary>
    /// The lessons for a model call of this episode (served and, in shadow, the candidate's), both picked with the same
    /// query vector or both lexically. The previous call's picks are reused when the turn and tools match (typical
    /// inside a tool loop), unless they were lexical and the query's embedding has arrived since.
    /// </summary>
    internal async ValueTask<CallRetrieval> RetrieveForCallAsync(string? turn, string[]? tools, double holdoutShare, CancellationToken cancellationToken)
    {
        var index = Index;
        var shadowIndex = ShadowIndex;
        var embeds = index.UsesEmbeddingGenerator || shadowIndex is { UsesEmbeddingGenerator: true };
        var memo = Volatile.Read(ref _lastRetrieval);
        if (memo is not null && string.Equals(memo.Turn, turn, StringComparison.Ordinal) && SameTools(memo.Tools, tools)
            && !(memo.Retrieval.LexicalOnly && Runtime.HasQueryVector(LessonIndex.QueryText(Task, turn))))
        {
            return memo.Retrieval;
        }

        var query = new RetrievalQuery
        {
            Task = Task,
            Turn = turn,
            Tenant = Runtime.Tenant,
            UnitKey = UnitKey,
            Labels = Labels,
            AvailableTools = tools,
        };
        ReadOnlyMemory<float>? vector = embeds ? await Runtime.QueryVectorForCallAsync(LessonIndex.QueryText(Task, turn), cancellationToken).ConfigureAwait(false) : null;
        var span = vector is { } ready ? ready.Span : default;
        var result = index.Count == 0 ? RetrievalResult.None(index.SnapshotId) : index.Retrieve(query with { LessonHoldoutShare = holdoutShare }, span);

        // Shadow: the candidate's picks for the same call are recorded as would-have-been-injected, never sent.
        var shadow = shadowIndex is null ? null : shadowIndex.Count == 0 ? RetrievalResult.None(shadowIndex.SnapshotId) : shadowIndex.Retrieve(query, span);
        var retrieval = new CallRetrieval(result, shadow, embeds && vector is null);
        Volatile.Write(ref _lastRetrieval, new RetrievalMemo(turn, tools, retrieval));
        return retrieval;
    }

    internal void NoteInjected(IReadOnlyList<RetrievedLesson> lessons)
    {
        lock (_injectedLock)
        {
            foreach (var lesson in lessons)
            {
                if (_injectedSet.Add(lesson.Lesson.Id))
                {
                    _injected.Add(lesson.Lesson.Id);
                }
            }
        }
    }

    /// <summary>
    /// Marks a model call as running until <see cref="CallFinished"/>: a host whose caller can end the episode from
    /// elsewhere (the proxy's outcome arrives by another request) waits for running calls to be recorded first, since
    /// the caller may see the answer before the host has recorded it.
    /// </summary>
    internal void CallStarted()
    {
        lock (_callsLock)
        {
            _callsInFlight++;
        }
    }

    internal void CallFinished()
    {
        TaskCompletionSource? drained = null;
        lock (_callsLock)
        {
            if (--_callsInFlight == 0)
            {
                drained = _callsDrained;
                _callsDrained = null;
            }
        }

        drained?.TrySetResult();
    }

    /// <summary>Completes when no call marked by <see cref="CallStarted"/> is still running.</summary>
    internal System.Threading.Tasks.Task CallsRecordedAsync(CancellationToken cancellationToken)
    {
        lock (_callsLock)
        {
            return _callsInFlight == 0
                ? System.Threading.Tasks.Task.CompletedTask
                : (_callsDrained ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).Task.WaitAsync(cancellationToken);
        }
    }

    /// <summary>
    /// Turns a finished model call into steps and hands them to the capture writer; returns how many steps the
    /// episode has recorded with this call (0 when the episode had already ended and the call was dropped), so a host
    /// that must acknowledge only stored steps can check the store for them.
    /// </summary>
    internal async ValueTask<int> RecordCallAsync(IReadOnlyList<ChatMessage> request, IReadOnlyList<ChatMessage> response, ModelCallFacts facts)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                // The episode ended while this call was running; its steps have nowhere to go.
                Runtime.Capture.CountDropped(1);
                return 0;
            }

            var steps = _transcript.Record(request, response, facts);
            await EnsureStartedAsync().ConfigureAwait(false);
            foreach (var step in steps)
            {
                _failures.Observe(step);
                _steps?.Add(step);
                await EnqueueAsync(new StepRecorded(Id, step) { Tenant = _header.Tenant }).ConfigureAwait(false);
            }

            return _transcript.StepCount;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Adds an outcome while the episode is still running.</summary>
    internal async ValueTask<bool> TryAddOutcomeAsync(Outcome outcome)
    {
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (_closed)
            {
                return false;
            }

            await EnsureStartedAsync().ConfigureAwait(false);
            outcome = await JudgedAsync(outcome).ConfigureAwait(false);
            await EnqueueAsync(new OutcomeRecorded(Id, outcome) { Tenant = _header.Tenant }).ConfigureAwait(false);
            _outcomes.Add(outcome);
            return true;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Ending is not cancellable: once asked for, the end is recorded.</summary>
    private async ValueTask EndAsync(Outcome? outcome)
    {
        double? score;
        string failureMode;
        await _gate.WaitAsync().ConfigureAwait(false);
        try
        {
            await EnsureStartedAsync().ConfigureAwait(false);
            if (outcome is not null)
            {
                outcome = await JudgedAsync(outcome).ConfigureAwait(false);
                await EnqueueAsync(new OutcomeRecorded(Id, outcome) { Tenant = _header.Tenant }).ConfigureAwait(false);
                _outcomes.Add(outcome);
            }

            // The score the stored episode will have (Episode.Score's rule), for continuous evaluation; the mode is the
            // one stored with its outcomes (a classifier's, given when judged), else the built-in signature.
            score = _outcomes.Count == 0 ? null : (_header with { Outcomes = [.. _outcomes] }).Score;
            failureMode = FailureModes.FromOutcomes(_outcomes) ?? _failures.Mode;

            await EnqueueAsync(new EpisodeEnded(Id, Runtime.TimeProvider.GetUtcNow(), [.. InjectedLessonIds]) { Tenant = _header.Tenant }).ConfigureAwait(false);
            _closed = true;
        }
        finally
        {
            _gate.Release();
        }

        LoreTelemetry.EpisodeEnded(Runtime.TelemetryTenant, Arm, _header.Slice, outcome);
        if (score < 0.5)
        {
            LoreTelemetry.EpisodeFailed(Runtime.TelemetryTenant, Arm, failureMode);
        }

        Runtime.OnEpisodeEnded(this, score, failureMode);
    }

    /// <summary>
    /// The outcome as it is stored: with a failure classifier set, a judgement that leaves the episode failed carries
    /// the classifier's mode. The classifier reads the whole episode so far; recording the outcome waits for it (bounded
    /// by its timeout), model calls do not. Called under the gate.
    /// </summary>
    private ValueTask<Outcome> JudgedAsync(Outcome outcome)
        => _steps is null ? ValueTask.FromResult(outcome) : Runtime.JudgeOutcomeAsync(_header with { Steps = [.. _steps], Outcomes = [.. _outcomes] }, outcome);

    /// <summary>The episode header goes to the store lazily, with the first record, so beginning an episode never waits.</summary>
    private async ValueTask EnsureStartedAsync()
    {
        if (_started)
        {
            return;
        }

        _started = true;
        _startDropped = !await Runtime.Capture.EnqueueAsync(new EpisodeStarted(_header)).ConfigureAwait(false);
    }

    private async ValueTask EnqueueAsync(CaptureRecord record)
    {
        if (_startDropped)
        {
            // Without its start the store would reject the episode's records (and the batch around them).
            Runtime.Capture.CountDropped(1);
            return;
        }

        await Runtime.Capture.EnqueueAsync(record).ConfigureAwait(false);
    }

    private void LeaveAmbient()
    {
        if (ReferenceEquals(LoreRuntime.Ambient.Value, this))
        {
            var outer = Outer;
            while (outer is not null && outer.IsEnded)
            {
                outer = outer.Outer;
            }

            LoreRuntime.Ambient.Value = outer;
        }
    }

    private static bool SameTools(string[]? a, string[]? b)
        => ReferenceEquals(a, b) || (a is not null && b is not null && a.AsSpan().SequenceEqual(b));

    private sealed record RetrievalMemo(string? Turn, string[]? Tools, CallRetrieval Retrieval);

    internal static Episode Header(string id, string tenant, string unitKey, string task, IReadOnlyDictionary<string, string>? labels, DateTimeOffset startedAt, string? snapshotId, string? arm)
        => new()
        {
            Id = id,
            Tenant = tenant,
            UnitKey = unitKey,
            Task = task,
            Labels = labels is null ? ImmutableSortedDictionary<string, string>.Empty : labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
            StartedAt = startedAt,
            SnapshotId = snapshotId,
            Arm = arm,
            Origin = "capture",
        };
}

/// <summary>The lessons retrieval picked for one model call: served, the candidate's in shadow, and whether they were picked lexically alone.</summary>
internal sealed record CallRetrieval(RetrievalResult Served, RetrievalResult? Shadow, bool LexicalOnly);
