using Microsoft.Extensions.AI;

namespace Lore.Capture;

/// <summary>What one model call looked like from the outside, for the step that records it.</summary>
internal sealed record ModelCallFacts(
    DateTimeOffset StartedAt,
    TimeSpan Latency,
    string? Model,
    UsageDetails? Usage,
    IReadOnlyList<string> InjectedLessonIds,
    IReadOnlyList<string> ShadowLessonIds)
{
    /// <summary>Why the call produced no answer (an upstream error, a broken stream); null when it was answered.</summary>
    public string? Error { get; init; }

    /// <summary>The lessons the per-lesson holdout withheld from this call (recorded on its step).</summary>
    public IReadOnlyList<string> WithheldLessonIds { get; init; } = [];

    /// <summary>The tools the caller offered the model on this call (null when none or unknown), kept for replay.</summary>
    public IReadOnlyList<string>? OfferedTools { get; init; }

    /// <summary>True when retrieval served the call lexically because its query embedding was not ready (recorded on its step).</summary>
    public bool LexicalOnly { get; init; }
}

/// <summary>
/// What an episode has recorded so far, and the rule that turns each model call into steps. Agents re-send the whole
/// conversation on every call, so a request message counts as new only if the episode has not seen it yet (compared
/// by content, so an equal copy counts as seen, and counted, so saying "yes" twice is recorded twice). Tool calls are
/// recorded once each by call id, from wherever their result shows up: in the response (when Lore wraps
/// <c>UseFunctionInvocation</c>, the response holds the whole tool loop) or in the request (when the caller runs
/// tools itself). Not thread-safe: the episode serialises calls into it.
/// </summary>
internal sealed class EpisodeTranscript
{
    private readonly Dictionary<ulong, int> _seen = [];
    private readonly Dictionary<ChatMessage, ulong> _fingerprints = new(ReferenceEqualityComparer.Instance);
    private readonly Dictionary<string, FunctionCallContent> _calls = new(StringComparer.Ordinal);
    private readonly HashSet<string> _recordedToolCalls = new(StringComparer.Ordinal);
    private readonly Dictionary<ulong, int> _occurrences = [];

    public int StepCount { get; private set; }

    /// <summary>The steps one model call adds: tool results that arrived in the request, the call, tool results in the response.</summary>
    public List<Step> Record(IReadOnlyList<ChatMessage> request, IReadOnlyList<ChatMessage> response, ModelCallFacts facts)
    {
        var newMessages = new List<ChatMessage>();
        _occurrences.Clear();
        foreach (var message in request)
        {
            var fingerprint = FingerprintOf(message);
            var occurrence = _occurrences[fingerprint] = _occurrences.GetValueOrDefault(fingerprint) + 1;
            if (occurrence > _seen.GetValueOrDefault(fingerprint))
            {
                newMessages.Add(message);
            }

            LearnCalls(message);
        }

        foreach (var (fingerprint, count) in _occurrences)
        {
            if (count > _seen.GetValueOrDefault(fingerprint))
            {
                _seen[fingerprint] = count;
            }
        }

        foreach (var message in response)
        {
            var fingerprint = FingerprintOf(message);
            _seen[fingerprint] = _seen.GetValueOrDefault(fingerprint) + 1;
            LearnCalls(message);
        }

        var steps = new List<Step>();
        AddToolSteps(request, facts.StartedAt, steps);
        steps.Add(new Step
        {
            Index = StepCount++,
            Kind = StepKind.ModelCall,
            At = facts.StartedAt,
            Latency = facts.Latency,
            Model = facts.Model,
            Request = [.. newMessages.SelectMany(m => TrajectoryConversion.ToTrajectory(m, ToolNameOf))],
            Response = [.. response.SelectMany(m => TrajectoryConversion.ToTrajectory(m, ToolNameOf))],
            Usage = facts.Usage is { } usage
                ? new TokenUsage(usage.InputTokenCount ?? 0, usage.OutputTokenCount ?? 0)
                {
                    CachedInputTokens = usage.CachedInputTokenCount ?? 0,
                    ReasoningTokens = usage.ReasoningTokenCount ?? 0,
                }
                : null,
            Error = facts.Error,
            InjectedLessonIds = facts.InjectedLessonIds,
            ShadowLessonIds = facts.ShadowLessonIds,
            WithheldLessonIds = facts.WithheldLessonIds,
            OfferedTools = facts.OfferedTools,
            LexicalOnly = facts.LexicalOnly,
        });
        AddToolSteps(response, facts.StartedAt + facts.Latency, steps);
        return steps;
    }

    private ulong FingerprintOf(ChatMessage message)
    {
        if (!_fingerprints.TryGetValue(message, out var fingerprint))
        {
            _fingerprints[message] = fingerprint = TrajectoryConversion.Fingerprint(message);
        }

        return fingerprint;
    }

    private void LearnCalls(ChatMessage message)
    {
        foreach (var content in message.Contents)
        {
            if (content is FunctionCallContent call && !string.IsNullOrEmpty(call.CallId))
            {
                _calls.TryAdd(call.CallId, call);
            }
        }
    }

    private string? ToolNameOf(string callId) => _calls.TryGetValue(callId, out var call) ? call.Name : null;

    private void AddToolSteps(IReadOnlyList<ChatMessage> messages, DateTimeOffset at, List<Step> steps)
    {
        foreach (var message in messages)
        {
            foreach (var content in message.Contents)
            {
                if (content is not FunctionResultContent result || string.IsNullOrEmpty(result.CallId) || !_recordedToolCalls.Add(result.CallId))
                {
                    continue;
                }

                var text = TrajectoryConversion.ResultText(result);
                _calls.TryGetValue(result.CallId, out var call);
                steps.Add(Step.Tool(
                    StepCount++,
                    call?.Name ?? "unknown",
                    call is null ? "{}" : TrajectoryConversion.ArgumentsJson(call),
                    text,
                    result.CallId,
                    TrajectoryConversion.IsFailure(result, text),
                    at));
            }
        }
    }
}
