using System.Diagnostics;
using System.Runtime.CompilerServices;
using Lore.Capture;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>
/// Chat middleware that injects the relevant lessons of the snapshot in effect and records the call, its tool
/// calls and results into the ambient episode. Recording never blocks the model call on disk.
/// </summary>
/// <remarks>
/// A call outside any episode (or in an episode of another runtime, or one that has ended) passes through untouched.
/// Inside one, the lessons go in as one system message right after the caller's own system messages; the caller's
/// message list and options are never modified.
/// </remarks>
public sealed class LoreChatClient : DelegatingChatClient
{
    private readonly LoreRuntime _runtime;
    private ChatClientMetadata? _metadata;
    private bool? _genAiInside;

    /// <summary>Wraps <paramref name="innerClient"/> so each call is captured into, and given the lessons of, <paramref name="runtime"/>; usually made by <c>UseLore()</c>.</summary>
    public LoreChatClient(IChatClient innerClient, LoreRuntime runtime)
        : base(innerClient)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        _runtime = runtime;
    }

    /// <summary>
    /// When false, lessons are retrieved but not injected (shadow mode: the call costs what it would with Lore, and
    /// the episode records that nothing was injected, so it still counts as a baseline for evaluation).
    /// </summary>
    public bool InjectLessons { get; set; } = true;

    /// <inheritdoc />
    public override Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var episode = ActiveEpisode();
        return episode is null
            ? base.GetResponseAsync(messages, options, cancellationToken)
            : GetRecordedResponseAsync(episode, messages, options, cancellationToken);
    }

    /// <inheritdoc />
    public override IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        var episode = ActiveEpisode();
        return episode is null
            ? base.GetStreamingResponseAsync(messages, options, cancellationToken)
            : GetRecordedStreamingResponseAsync(episode, messages, options, cancellationToken);
    }

    private EpisodeScope? ActiveEpisode()
    {
        var episode = LoreRuntime.CurrentEpisode;
        return episode is not null && ReferenceEquals(episode.Runtime, _runtime) && !episode.IsEnded ? episode : null;
    }

    private async Task<ChatResponse> GetRecordedResponseAsync(EpisodeScope episode, IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var call = await PrepareAsync(episode, messages, options, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var activity = LoreTelemetry.StartChat(RequestModel(options), Metadata, GenAiInside);
        ChatResponse? response = null;
        Exception? error = null;
        try
        {
            response = await base.GetResponseAsync(call.Messages, options, cancellationToken).ConfigureAwait(false);
            return response;
        }
        catch (Exception e)
        {
            error = e;
            throw;
        }
        finally
        {
            EndTelemetry(activity, episode, call, options, response, error, started);

            // Also on failure: the request and the tool results it carried are part of the trajectory.
            await RecordAsync(episode, call, response, options, started).ConfigureAwait(false);
        }
    }

    private async IAsyncEnumerable<ChatResponseUpdate> GetRecordedStreamingResponseAsync(EpisodeScope episode, IEnumerable<ChatMessage> messages, ChatOptions? options, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var call = await PrepareAsync(episode, messages, options, cancellationToken).ConfigureAwait(false);
        var started = Stopwatch.GetTimestamp();
        var activity = LoreTelemetry.StartChat(RequestModel(options), Metadata, GenAiInside);
        var updates = new List<ChatResponseUpdate>();
        Exception? error = null;
        try
        {
            var stream = base.GetStreamingResponseAsync(call.Messages, options, cancellationToken).GetAsyncEnumerator(cancellationToken);
            await using (stream.ConfigureAwait(false))
            {
                while (true)
                {
                    try
                    {
                        if (!await stream.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (Exception e)
                    {
                        error = e;
                        throw;
                    }

                    updates.Add(stream.Current);
                    yield return stream.Current;
                }
            }
        }
        finally
        {
            // Runs when the stream ends, when the consumer stops early (disposing the enumerator) and when it throws.
            var response = updates.ToChatResponse();
            EndTelemetry(activity, episode, call, options, response, error, started);
            await RecordAsync(episode, call, response, options, started).ConfigureAwait(false);
        }
    }

    /// <summary>Retrieves the lessons for this call and builds the message list the inner client sees.</summary>
    private async ValueTask<PreparedCall> PrepareAsync(EpisodeScope episode, IEnumerable<ChatMessage> messages, ChatOptions? options, CancellationToken cancellationToken)
    {
        var request = messages as IReadOnlyList<ChatMessage> ?? [.. messages];
        var at = _runtime.TimeProvider.GetUtcNow();
        var tools = options?.Tools is { } available ? available.Select(t => t.Name).ToArray() : null;
        var index = episode.Index;
        var shadowIndex = episode.ShadowIndex;
        if (index.Count == 0 && (shadowIndex is null || shadowIndex.Count == 0))
        {
            return new PreparedCall(request, request, [], at) { OfferedTools = tools };
        }

        var turn = LatestUserText(request);
        var (result, shadow, lexicalOnly) = await episode.RetrieveForCallAsync(turn, tools, _runtime.LessonHoldoutShare, cancellationToken).ConfigureAwait(false);
        IReadOnlyList<string> shadowIds = shadow is null || shadow.Lessons.Count == 0 ? [] : [.. shadow.Lessons.Select(l => l.Lesson.Id)];
        if (!InjectLessons || result.Section is null)
        {
            // Withheld lessons count as such only when injection was on: otherwise nothing was injected anywhere.
            return new PreparedCall(request, request, [], at) { ShadowLessonIds = shadowIds, WithheldLessonIds = InjectLessons ? result.WithheldLessonIds : [], OfferedTools = tools, LexicalOnly = lexicalOnly };
        }

        var position = 0;
        while (position < request.Count && request[position].Role == ChatRole.System)
        {
            position++;
        }

        var injected = new List<ChatMessage>(request.Count + 1);
        for (var i = 0; i < request.Count; i++)
        {
            if (i == position)
            {
                injected.Add(new ChatMessage(ChatRole.System, result.Section));
            }

            injected.Add(request[i]);
        }

        if (position == request.Count)
        {
            injected.Add(new ChatMessage(ChatRole.System, result.Section));
        }

        episode.NoteInjected(result.Lessons);
        return new PreparedCall(request, injected, [.. result.Lessons.Select(l => l.Lesson.Id)], at, result.Tokens) { ShadowLessonIds = shadowIds, WithheldLessonIds = result.WithheldLessonIds, OfferedTools = tools, LexicalOnly = lexicalOnly };
    }

    private ValueTask<int> RecordAsync(EpisodeScope episode, PreparedCall call, ChatResponse? response, ChatOptions? options, long started)
    {
        var facts = new ModelCallFacts(
            call.At,
            Stopwatch.GetElapsedTime(started),
            response?.ModelId ?? options?.ModelId ?? (GetService(typeof(ChatClientMetadata)) as ChatClientMetadata)?.DefaultModelId,
            response?.Usage,
            call.InjectedLessonIds,
            call.ShadowLessonIds)
        {
            WithheldLessonIds = call.WithheldLessonIds,
            OfferedTools = call.OfferedTools,
            LexicalOnly = call.LexicalOnly,
        };
        var responseMessages = response is null ? [] : response.Messages as IReadOnlyList<ChatMessage> ?? [.. response.Messages];
        return episode.RecordCallAsync(call.Request, responseMessages, facts);
    }

    /// <summary>Ends the call's span and records its metrics (telemetry; no-ops when nothing listens).</summary>
    private void EndTelemetry(LoreTelemetry.ChatSpan activity, EpisodeScope episode, PreparedCall call, ChatOptions? options, ChatResponse? response, Exception? error, long started)
        => LoreTelemetry.EndChat(
            activity,
            new LoreTelemetry.ChatFacts(_runtime.TelemetryTenant, episode.Id, episode.SnapshotId, episode.Arm, call.InjectedLessonIds, call.TokensAdded) { ShadowLessonIds = call.ShadowLessonIds },
            RequestModel(options),
            activity.Activity is null ? null : Metadata,
            response,
            error,
            Stopwatch.GetElapsedTime(started));

    /// <summary>True when <c>UseOpenTelemetry()</c> sits inside this middleware: it emits the GenAI span and metrics, not Lore.</summary>
    private bool GenAiInside => _genAiInside ??= InnerClient.GetService(typeof(OpenTelemetryChatClient)) is not null;

    private string? RequestModel(ChatOptions? options) => options?.ModelId ?? Metadata?.DefaultModelId;

    /// <summary>The inner client's provider and default model (fixed for the client's life, so asked once).</summary>
    private ChatClientMetadata? Metadata => _metadata ??= GetService(typeof(ChatClientMetadata)) as ChatClientMetadata;

    /// <summary>The text of the latest user message, the "turn" that retrieval matches besides the task.</summary>
    private static string? LatestUserText(IReadOnlyList<ChatMessage> request)
    {
        for (var i = request.Count - 1; i >= 0; i--)
        {
            if (request[i].Role == ChatRole.User)
            {
                return request[i].Text;
            }
        }

        return null;
    }

    /// <summary>The caller's messages, what the inner client is sent, which lessons went in and how many tokens they added.</summary>
    private sealed record PreparedCall(IReadOnlyList<ChatMessage> Request, IReadOnlyList<ChatMessage> Messages, IReadOnlyList<string> InjectedLessonIds, DateTimeOffset At, int TokensAdded = 0)
    {
        /// <summary>In shadow: the candidate's lessons retrieval picked for this call (recorded, never sent).</summary>
        public IReadOnlyList<string> ShadowLessonIds { get; init; } = [];

        /// <summary>Lessons the per-lesson holdout withheld from this call.</summary>
        public IReadOnlyList<string> WithheldLessonIds { get; init; } = [];

        /// <summary>The names of the tools the call offered (null when the caller gave none), for retrieval and the step.</summary>
        public IReadOnlyList<string>? OfferedTools { get; init; }

        /// <summary>True when the lessons were picked lexically alone (the query embedding was not ready in time).</summary>
        public bool LexicalOnly { get; init; }
    }
}
