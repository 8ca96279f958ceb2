namespace Lore;

/// <summary>What a step in a trajectory was.</summary>
public enum StepKind
{
    /// <summary>One request to the model and its response.</summary>
    ModelCall,

    /// <summary>One tool invocation and its result.</summary>
    ToolCall,
}

/// <summary>A tool call the model asked for, as it appeared in the model's response.</summary>
public sealed record ToolCallRequest(string CallId, string Name, string ArgumentsJson);

/// <summary>
/// One message of a trajectory in a provider-neutral shape (role, text, tool calls), so that trajectories from
/// Microsoft.Extensions.AI, OpenAI-format files and OpenTelemetry spans look the same to the learners.
/// </summary>
public sealed record TrajectoryMessage
{
    /// <summary>system, user, assistant or tool.</summary>
    public required string Role { get; init; }

    /// <summary>The message's text (null for a message that only carries tool calls).</summary>
    public string? Text { get; init; }

    /// <summary>Tool calls requested by an assistant message.</summary>
    public IReadOnlyList<ToolCallRequest> ToolCalls { get; init; } = [];

    /// <summary>For a tool message: the call it answers.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>For a tool message: the tool's name.</summary>
    public string? ToolName { get; init; }
}

/// <summary>Token counts reported by the model for one call.</summary>
public sealed record TokenUsage(long InputTokens, long OutputTokens)
{
    /// <summary>Input tokens the provider served from its prompt cache (part of <see cref="InputTokens"/>); 0 when not reported.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public long CachedInputTokens { get; init; }

    /// <summary>Output tokens spent on reasoning (part of <see cref="OutputTokens"/>); 0 when not reported.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public long ReasoningTokens { get; init; }
}

/// <summary>
/// One step of an episode: either a model call (request, response, usage, latency) or a tool call (name,
/// arguments, result and whether it failed). Learners read the tool steps; people read both.
/// </summary>
public sealed record Step
{
    /// <summary>Position in the episode, from 0.</summary>
    public required int Index { get; init; }

    /// <summary>What the step was (model call, tool call, error), which decides which of the fields below are set.</summary>
    public required StepKind Kind { get; init; }

    /// <summary>When the step began.</summary>
    public DateTimeOffset At { get; init; } = DateTimeOffset.UtcNow;

    /// <summary>How long the step took, for latency reports and to spot slow tools.</summary>
    public TimeSpan Latency { get; init; }

    // Model call
    /// <summary>For a model call: the model that answered, as the provider named it.</summary>
    public string? Model { get; init; }

    /// <summary>Messages sent in this call that were not already recorded by an earlier step of the episode.</summary>
    public IReadOnlyList<TrajectoryMessage> Request { get; init; } = [];

    /// <summary>For a model call: the messages the model returned.</summary>
    public IReadOnlyList<TrajectoryMessage> Response { get; init; } = [];

    /// <summary>For a model call: the tokens it used, when the provider reported them.</summary>
    public TokenUsage? Usage { get; init; }

    /// <summary>
    /// For a model call that did not produce an answer: why (for example "upstream answered 500: overloaded" or "the
    /// caller disconnected"); null for a call that was answered. A failed call is never mistaken for an empty answer.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Error { get; init; }

    /// <summary>For a model call: the lessons injected into this call, in the order they appeared.</summary>
    public IReadOnlyList<string> InjectedLessonIds { get; init; } = [];

    /// <summary>
    /// For a model call while a candidate snapshot is in shadow: the candidate's lessons retrieval picked for this call,
    /// recorded as would-have-been-injected and never sent to the model.
    /// </summary>
    public IReadOnlyList<string> ShadowLessonIds { get; init; } = [];

    /// <summary>
    /// For a model call: the lessons retrieval picked for this call but withheld by the per-lesson holdout (a
    /// deterministic share of units never gets each lesson), so that a lesson's effect can be measured by experiment:
    /// eligible and injected against eligible and withheld.
    /// </summary>
    public IReadOnlyList<string> WithheldLessonIds { get; init; } = [];

    /// <summary>
    /// For a model call: the names of the tools the caller offered the model, which retrieval uses for tool-scoped
    /// lessons; kept so a call can be replayed against another snapshot. Null when the recorder did not know (the
    /// proxy records a request without tools as null; recordings made before this was kept).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public IReadOnlyList<string>? OfferedTools { get; init; }

    /// <summary>
    /// For a model call served with a user's embedding generator: true when the call's query embedding was not ready
    /// in time (<c>LoreOptions.QueryEmbeddingWait</c>), so the lexical (BM25) side of retrieval picked its lessons
    /// alone; replay then does the same, so it stays deterministic.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool LexicalOnly { get; init; }

    // Tool call
    /// <summary>For a tool call: the tool's name, which tool-error extraction and tool-scoped lessons key on.</summary>
    public string? ToolName { get; init; }

    /// <summary>For a tool call: the id the model gave the call, linking it to the model step that asked for it.</summary>
    public string? ToolCallId { get; init; }

    /// <summary>The tool's arguments as a JSON object text.</summary>
    public string? ToolArguments { get; init; }

    /// <summary>For a tool call: what the tool returned (or its error text), from which failure patterns are learned.</summary>
    public string? ToolResult { get; init; }

    /// <summary>True when the tool reported a failure (an exception, or a result starting with "Error:").</summary>
    public bool ToolFailed { get; init; }

    /// <summary>Creates a tool step, marking it failed when the result reads as an error.</summary>
    public static Step Tool(int index, string name, string? argumentsJson, string? result, string? callId = null, bool? failed = null, DateTimeOffset? at = null)
        => new()
        {
            Index = index,
            Kind = StepKind.ToolCall,
            At = at ?? DateTimeOffset.UtcNow,
            ToolName = name,
            ToolCallId = callId,
            ToolArguments = string.IsNullOrWhiteSpace(argumentsJson) ? "{}" : argumentsJson,
            ToolResult = result,
            ToolFailed = failed ?? LooksLikeToolError(result),
        };

    /// <summary>The convention shared by tau-bench and most agent frameworks: an error result starts with "Error".</summary>
    public static bool LooksLikeToolError(string? result)
        => result is not null && result.TrimStart().StartsWith("Error", StringComparison.OrdinalIgnoreCase);
}
