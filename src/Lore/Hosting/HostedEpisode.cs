using System.Diagnostics;
using Lore.Capture;
using Microsoft.Extensions.AI;

namespace Lore.Hosting;

/// <summary>
/// What a host that sees an agent's model calls from outside (a proxy, a gateway) starts an episode with. A record
/// rather than a parameter list, so hosts set only what they know.
/// </summary>
/// <param name="Task">What the agent was asked to do; retrieval matches lessons against it on every call.</param>
public sealed record HostedEpisodeStart(string Task)
{
    /// <summary>Labels (for example <c>slice</c>) that scope lessons and group evaluation.</summary>
    public IReadOnlyDictionary<string, string>? Labels { get; init; }

    /// <summary>Who the episode is for (a user, customer or account): the unit of rollout arms; empty when unknown.</summary>
    public string? UnitKey { get; init; }

    /// <summary>The caller's own episode id; null for a new one.</summary>
    public string? EpisodeId { get; init; }

    /// <summary>The <see cref="Episode.Source"/> evidence counts (for example from the caller's API key, see <see cref="EpisodeSources"/>); empty for the host's own capture.</summary>
    public string Source { get; init; } = "";
}

/// <summary>
/// An episode whose calls arrive one request at a time from outside the process's own async flow, as in the
/// OpenAI-compatible proxy. Unlike an <see cref="EpisodeScope"/> it is never the ambient episode, and an outcome
/// recorded through <see cref="LoreRuntime.RecordOutcomeAsync"/> ends it (after its running calls are recorded), since
/// such hosts have no code of their own that could end it.
/// </summary>
public sealed class HostedEpisode
{
    internal HostedEpisode(EpisodeScope scope) => Scope = scope;

    /// <summary>The episode's id, as stored and as outcomes must name it.</summary>
    public string Id => Scope.Id;

    /// <summary>The snapshot in effect for this episode (fixed at its start), or null for the baseline.</summary>
    public string? SnapshotId => Scope.SnapshotId;

    /// <summary>The rollout arm of this episode (fixed at its start), or null when no rollout was running.</summary>
    public string? Arm => Scope.Arm;

    /// <summary>True once the episode has ended (by <see cref="EndAsync"/> or by its outcome): a host must start a new one.</summary>
    public bool IsEnded => Scope.IsEnded;

    internal EpisodeScope Scope { get; }

    /// <summary>
    /// Starts recording one model call of the episode: its span (when telemetry listens) begins now, and an outcome
    /// that arrives meanwhile waits until <see cref="HostedModelCall.EndAsync"/> has recorded it.
    /// </summary>
    /// <param name="requestModel">The model the caller asked for, if any.</param>
    /// <param name="provider">The upstream's provider name and address, for the call's span (null when unknown; see <see cref="HostedModelCall.TelemetryObserved"/>).</param>
    public HostedModelCall BeginCall(string? requestModel, ChatClientMetadata? provider = null) => new(Scope, requestModel, provider);

    /// <summary>Ends the episode without an outcome (one may still arrive later through <see cref="LoreRuntime.RecordOutcomeAsync"/>).</summary>
    public ValueTask EndAsync() => Scope.DisposeAsync();
}

/// <summary>What a hosted model call sent and got back, for the steps that record it.</summary>
/// <param name="Request">The messages sent to the model (the whole conversation, as agents re-send it).</param>
/// <param name="Response">The answer's messages; empty when the call failed.</param>
public sealed record ModelCallObservation(IReadOnlyList<ChatMessage> Request, IReadOnlyList<ChatMessage> Response)
{
    /// <summary>The model that answered (or was asked for).</summary>
    public string? Model { get; init; }

    /// <summary>The tools the caller offered the model (null when none or unknown), kept on the step for replay.</summary>
    public IReadOnlyList<string>? OfferedTools { get; init; }

    /// <summary>Token usage, when the answer reported it.</summary>
    public UsageDetails? Usage { get; init; }

    /// <summary>Why the call produced no answer (an upstream error, a broken stream); null when it was answered.</summary>
    public string? Error { get; init; }

    /// <summary>The <c>error.type</c> of the call's span and metrics (for example an HTTP status), when <see cref="Error"/> is set.</summary>
    public string? ErrorType { get; init; }
}

/// <summary>
/// One model call of a <see cref="HostedEpisode"/>, from its start to its record: the lessons to inject (from the
/// snapshot fixed at the episode's start, with the candidate's picks recorded in shadow), the call's span and metrics
/// as <c>UseLore</c> emits them, and the steps capture writes. End it exactly once with <see cref="EndAsync"/>.
/// </summary>
public sealed class HostedModelCall
{
    private readonly EpisodeScope _scope;
    private readonly string? _requestModel;
    private readonly ChatClientMetadata? _provider;
    private readonly LoreTelemetry.ChatSpan _span;
    private readonly bool _observed;
    private readonly DateTimeOffset _at;
    private readonly long _started;
    private IReadOnlyList<string> _shadowIds = [];
    private int _tokens;
    private bool _lexicalOnly;
    private int _ended;

    internal HostedModelCall(EpisodeScope scope, string? requestModel, ChatClientMetadata? provider)
    {
        _scope = scope;
        _requestModel = requestModel;
        _provider = provider;
        _at = scope.Runtime.TimeProvider.GetUtcNow();
        _started = Stopwatch.GetTimestamp();
        _observed = LoreTelemetry.ChatObserved;
        _span = _observed ? LoreTelemetry.StartChat(requestModel, provider) : default;
        scope.CallStarted();
    }

    /// <summary>True when a listener would record a model call's span or metrics: hosts can skip describing the provider otherwise.</summary>
    public static bool TelemetryObserved => LoreTelemetry.ChatObserved;

    /// <summary>The lessons injected into this call (empty until <see cref="RetrieveLessonsAsync"/>, and when none applied).</summary>
    public IReadOnlyList<string> InjectedLessonIds { get; private set; } = [];

    /// <summary>
    /// Picks the lessons for this call and returns the system-message text to inject, or null when none apply. The
    /// query is the episode's task and <paramref name="turn"/> (the latest user text); lessons about tools not in
    /// <paramref name="tools"/> are left out. Hosts apply no per-lesson holdout (they record no withheld lessons).
    /// </summary>
    public async ValueTask<string?> RetrieveLessonsAsync(string? turn, string[]? tools, CancellationToken cancellationToken = default)
    {
        var index = _scope.Index;
        var shadowIndex = _scope.ShadowIndex;
        if (index.Count == 0 && (shadowIndex is null || shadowIndex.Count == 0))
        {
            return null;
        }

        var (result, shadow, lexicalOnly) = await _scope.RetrieveForCallAsync(turn, tools, holdoutShare: 0, cancellationToken).ConfigureAwait(false);
        _lexicalOnly = lexicalOnly;
        _shadowIds = shadow is null || shadow.Lessons.Count == 0 ? [] : [.. shadow.Lessons.Select(l => l.Lesson.Id)];
        if (result.Section is null)
        {
            return null;
        }

        _scope.NoteInjected(result.Lessons);
        InjectedLessonIds = [.. result.Lessons.Select(l => l.Lesson.Id)];
        _tokens = result.Tokens;
        return result.Section;
    }

    /// <summary>
    /// Ends the call's span and records the call into the episode (also a failed one: the request and the tool results
    /// it carried are part of the trajectory). Returns how many steps the episode has recorded with this call, 0 when
    /// it had already ended and the call was dropped, so a host that acknowledges only stored steps can check for them.
    /// </summary>
    public ValueTask<int> EndAsync(ModelCallObservation observation)
    {
        ArgumentNullException.ThrowIfNull(observation);
        if (Interlocked.Exchange(ref _ended, 1) != 0)
        {
            throw new InvalidOperationException($"This model call of episode '{_scope.Id}' has already been ended.");
        }

        var elapsed = Stopwatch.GetElapsedTime(_started);

        // Synchronous up to here: the span ends in the host's own flow, so its Activity.Current is restored there.
        if (_observed)
        {
            LoreTelemetry.EndChat(
                _span,
                new LoreTelemetry.ChatFacts(_scope.Runtime.TelemetryTenant, _scope.Id, _scope.SnapshotId, _scope.Arm, InjectedLessonIds, _tokens) { ShadowLessonIds = _shadowIds },
                _requestModel,
                _provider,
                new LoreTelemetry.ChatAnswer(observation.Model, observation.Usage, null, null),
                observation.Error is null ? null : observation.ErrorType ?? "incomplete_answer",
                observation.Error,
                elapsed);
        }

        var facts = new ModelCallFacts(_at, elapsed, observation.Model, observation.Usage, InjectedLessonIds, _shadowIds)
        {
            Error = observation.Error,
            OfferedTools = observation.OfferedTools,
            LexicalOnly = _lexicalOnly,
        };
        return RecordAsync(observation, facts);
    }

    private async ValueTask<int> RecordAsync(ModelCallObservation observation, ModelCallFacts facts)
    {
        try
        {
            return await _scope.RecordCallAsync(observation.Request, observation.Response, facts).ConfigureAwait(false);
        }
        finally
        {
            _scope.CallFinished();
        }
    }
}
