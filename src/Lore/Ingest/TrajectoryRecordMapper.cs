using System.Collections.Immutable;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace Lore.Ingest;

/// <summary>The two record shapes a file may hold (one shape per file).</summary>
internal enum RecordShape
{
    /// <summary>A tau-bench result: <c>task_id</c>, <c>trial</c>, <c>reward</c>, <c>info</c>, <c>traj</c>.</summary>
    TauBench,

    /// <summary>A plain conversation: <c>messages</c> with optional <c>id</c>, <c>user</c>, <c>reward</c>/<c>outcome</c>, <c>labels</c>.</summary>
    Conversation,
}

/// <summary>
/// Turns one record of a trajectory file into an <see cref="Episode"/>, validating every field it reads. Any problem
/// throws a <see cref="TrajectoryFormatException"/> whose message names the record and the field path, for example
/// <c>record 7: traj[3].tool_calls[0].function.arguments is not a string (found a number)</c>.
/// </summary>
/// <remarks>
/// Mapping of OpenAI chat-completions messages: every assistant message becomes a model-call step whose request is
/// the system/user messages since the previous assistant message (tool results are not repeated there: they are
/// recorded by their own tool steps) and whose response is the assistant message; every tool message becomes a tool
/// step joined to the assistant's tool call by <c>tool_call_id</c>. Messages after the last assistant message other
/// than tool results (for example tau-bench's closing <c>###STOP###</c>) belong to no model call and are not imported.
/// A tool call the model requested but that no tool message answers produces no tool step.
/// </remarks>
internal sealed class TrajectoryRecordMapper
{
    private readonly string _fileName;
    private readonly ImportOptions _options;
    private readonly DateTimeOffset _importedAt;
    private readonly ImmutableSortedDictionary<string, string> _baseLabels;

    public TrajectoryRecordMapper(string fileName, ImportOptions options, DateTimeOffset importedAt)
    {
        _fileName = fileName;
        _options = options;
        _importedAt = importedAt;
        _baseLabels = options.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal);
    }

    /// <summary>The shape of the first record; every later record must have the same.</summary>
    public RecordShape? Shape { get; private set; }

    public Episode Map(RawRecord raw)
    {
        var context = new RecordContext(_fileName, raw.Index, raw.Line);
        var record = raw.Json;
        if (record.ValueKind != JsonValueKind.Object)
        {
            throw context.Fail(null, $"the record is {Describe(record)}, expected an object");
        }

        var hasTraj = record.TryGetProperty("traj", out _);
        var hasMessages = record.TryGetProperty("messages", out _);
        var shape = (hasTraj, hasMessages) switch
        {
            (true, false) => RecordShape.TauBench,
            (false, true) => RecordShape.Conversation,
            (true, true) => throw context.Fail(null, "has both 'traj' and 'messages': cannot tell a tau-bench result from a conversation"),
            _ => throw context.Fail(null, "unknown shape: expected 'traj' (a tau-bench result) or 'messages' (a conversation)"),
        };

        if (Shape is { } established && established != shape)
        {
            throw context.Fail(null, $"is a {Name(shape)} but earlier records are {Name(established)}s: a file must hold one shape");
        }

        Shape = shape;
        return shape == RecordShape.TauBench ? MapTauBench(context, record) : MapConversation(context, record);
    }

    private Episode MapTauBench(RecordContext context, JsonElement record)
    {
        var traj = RequireArray(context, record, "traj");
        if (!record.TryGetProperty("reward", out var rewardJson))
        {
            throw context.Fail("reward", "is missing (a tau-bench result needs its reward)");
        }

        var reward = ReadScore(context, rewardJson, "reward");
        var taskId = OptionalScalar(context, record, "task_id");
        var trial = OptionalScalar(context, record, "trial");

        string? infoUser = null;
        if (record.TryGetProperty("info", out var info) && info.ValueKind == JsonValueKind.Object
            && info.TryGetProperty("task", out var task) && task.ValueKind == JsonValueKind.Object
            && task.TryGetProperty("user_id", out var userId))
        {
            infoUser = userId.ValueKind == JsonValueKind.String
                ? userId.GetString()
                : throw context.Fail("info.task.user_id", $"is {Describe(userId)}, expected a string");
        }

        var conversation = MapMessages(context, traj, "traj");
        var id = DerivedId("tb", context.Index, record);
        var labels = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
        if (taskId is not null)
        {
            labels = labels.SetItem("task_id", taskId);
        }

        if (trial is not null)
        {
            labels = labels.SetItem("trial", trial);
        }

        var unit = NonEmpty(infoUser) ?? conversation.UserIdArgument ?? (taskId is not null ? $"task-{taskId}" : id);
        return BuildEpisode(id, unit, labels, conversation, [Outcome.Scored(reward, OutcomeSource.Environment, actor: "tau-bench", at: _importedAt)]);
    }

    private Episode MapConversation(RecordContext context, JsonElement record)
    {
        var messages = RequireArray(context, record, "messages");
        var recordId = OptionalScalar(context, record, "id");
        if (recordId is not null && EpisodeIds.Problem(recordId) is { } problem)
        {
            throw context.Fail("id", problem);
        }

        var user = OptionalString(context, record, "user") ?? OptionalString(context, record, "user_id");
        var labels = ImmutableSortedDictionary.Create<string, string>(StringComparer.Ordinal);
        if (record.TryGetProperty("labels", out var labelsJson) && labelsJson.ValueKind != JsonValueKind.Null)
        {
            if (labelsJson.ValueKind != JsonValueKind.Object)
            {
                throw context.Fail("labels", $"is {Describe(labelsJson)}, expected an object of string values");
            }

            foreach (var label in labelsJson.EnumerateObject())
            {
                var value = label.Value.ValueKind switch
                {
                    JsonValueKind.String => label.Value.GetString()!,
                    JsonValueKind.Number => label.Value.GetRawText(),
                    JsonValueKind.True => "true",
                    JsonValueKind.False => "false",
                    _ => throw context.Fail($"labels.{label.Name}", $"is {Describe(label.Value)}, expected a string"),
                };
                labels = labels.SetItem(label.Name, value);
            }
        }

        var outcomes = new List<Outcome>(1);
        if (record.TryGetProperty("reward", out var reward) && reward.ValueKind != JsonValueKind.Null)
        {
            outcomes.Add(Outcome.Scored(ReadScore(context, reward, "reward"), OutcomeSource.Environment, at: _importedAt));
        }

        if (record.TryGetProperty("outcome", out var outcome) && outcome.ValueKind != JsonValueKind.Null)
        {
            outcomes.Add(ReadOutcome(context, outcome));
        }

        var conversation = MapMessages(context, messages, "messages");
        var id = recordId ?? DerivedId("conv", context.Index, record);
        var unit = NonEmpty(user) ?? conversation.UserIdArgument ?? id;
        return BuildEpisode(id, unit, labels, conversation, outcomes);
    }

    private Episode BuildEpisode(string id, string unit, ImmutableSortedDictionary<string, string> labels, MappedConversation conversation, IReadOnlyList<Outcome> outcomes) => new()
    {
        Id = id,
        Tenant = _options.Tenant,
        UnitKey = unit,
        Task = conversation.Task,

        // Labels given to the import apply to every episode, over a record's own label of the same name.
        Labels = labels.SetItems(_baseLabels),
        StartedAt = _importedAt,
        EndedAt = _importedAt,
        Steps = conversation.Steps,
        Outcomes = outcomes,
        Origin = $"import:{_fileName}",
    };

    private sealed record MappedConversation(string Task, IReadOnlyList<Step> Steps, string? UserIdArgument);

    private MappedConversation MapMessages(RecordContext context, JsonElement array, string name)
    {
        var steps = new List<Step>();
        var pending = new List<TrajectoryMessage>();
        // Real trajectories reuse call ids (GPT-4o in tau-bench does), so a tool message answers the oldest call
        // with its id that no tool message has answered yet.
        var unanswered = new Dictionary<string, Queue<ToolCallRequest>>(StringComparer.Ordinal);
        string? task = null;
        string? userIdArgument = null;
        var i = -1;
        foreach (var message in array.EnumerateArray())
        {
            i++;
            var path = $"{name}[{i}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw context.Fail(path, $"is {Describe(message)}, expected a message object");
            }

            var role = RequireString(context, message, "role", path);
            var text = ReadContent(context, message, path);
            switch (role)
            {
                case "system" or "developer":
                    pending.Add(new TrajectoryMessage { Role = "system", Text = text });
                    break;

                case "user":
                    task ??= text;
                    pending.Add(new TrajectoryMessage { Role = "user", Text = text });
                    break;

                case "assistant":
                {
                    var toolCalls = ReadToolCalls(context, message, path);
                    foreach (var call in toolCalls)
                    {
                        if (!unanswered.TryGetValue(call.CallId, out var queue))
                        {
                            unanswered[call.CallId] = queue = new Queue<ToolCallRequest>(1);
                        }

                        queue.Enqueue(call);
                        userIdArgument ??= FindUserIdArgument(call.ArgumentsJson);
                    }

                    steps.Add(new Step
                    {
                        Index = steps.Count,
                        Kind = StepKind.ModelCall,
                        At = _importedAt,
                        Request = pending.ToArray(),
                        Response = [new TrajectoryMessage { Role = "assistant", Text = text, ToolCalls = toolCalls }],
                    });
                    pending.Clear();
                    break;
                }

                case "tool":
                {
                    var callId = RequireString(context, message, "tool_call_id", path);
                    if (!unanswered.TryGetValue(callId, out var queue))
                    {
                        throw context.Fail($"{path}.tool_call_id", $"'{callId}' does not match any tool call of an earlier assistant message");
                    }

                    if (!queue.TryDequeue(out var call))
                    {
                        throw context.Fail($"{path}.tool_call_id", $"'{callId}' answers a tool call that an earlier tool message already answered");
                    }

                    var toolName = OptionalString(context, message, "name", path) ?? call.Name;
                    if (!string.Equals(toolName, call.Name, StringComparison.Ordinal))
                    {
                        throw context.Fail($"{path}.name", $"is '{toolName}' but tool call '{callId}' was for '{call.Name}'");
                    }

                    steps.Add(Step.Tool(steps.Count, call.Name, call.ArgumentsJson, text, callId, at: _importedAt));
                    break;
                }

                default:
                    throw context.Fail($"{path}.role", $"is '{role}', expected system, developer, user, assistant or tool");
            }
        }

        return new MappedConversation(task ?? "", steps, userIdArgument);
    }

    private static IReadOnlyList<ToolCallRequest> ReadToolCalls(RecordContext context, JsonElement message, string path)
    {
        if (!message.TryGetProperty("tool_calls", out var toolCalls) || toolCalls.ValueKind == JsonValueKind.Null)
        {
            return [];
        }

        if (toolCalls.ValueKind != JsonValueKind.Array)
        {
            throw context.Fail($"{path}.tool_calls", $"is {Describe(toolCalls)}, expected an array");
        }

        var result = new List<ToolCallRequest>(toolCalls.GetArrayLength());
        var j = -1;
        foreach (var call in toolCalls.EnumerateArray())
        {
            j++;
            var callPath = $"{path}.tool_calls[{j}]";
            if (call.ValueKind != JsonValueKind.Object)
            {
                throw context.Fail(callPath, $"is {Describe(call)}, expected an object");
            }

            var id = RequireString(context, call, "id", callPath);
            if (!call.TryGetProperty("function", out var function))
            {
                throw context.Fail($"{callPath}.function", "is missing");
            }

            if (function.ValueKind != JsonValueKind.Object)
            {
                throw context.Fail($"{callPath}.function", $"is {Describe(function)}, expected an object");
            }

            var name = RequireString(context, function, "name", $"{callPath}.function");
            if (name.Length == 0)
            {
                throw context.Fail($"{callPath}.function.name", "is empty");
            }

            // Kept verbatim even when it is not valid JSON: a model that emits broken arguments is part of the trajectory.
            var arguments = RequireString(context, function, "arguments", $"{callPath}.function");
            result.Add(new ToolCallRequest(id, name, arguments));
        }

        return result;
    }

    /// <summary>Text of a message: a string, null, or an array of content parts whose text parts are joined.</summary>
    private static string? ReadContent(RecordContext context, JsonElement message, string path)
    {
        if (!message.TryGetProperty("content", out var content))
        {
            return null;
        }

        switch (content.ValueKind)
        {
            case JsonValueKind.Null:
                return null;
            case JsonValueKind.String:
                return content.GetString();
            case JsonValueKind.Array:
            {
                var builder = new StringBuilder();
                var k = -1;
                foreach (var part in content.EnumerateArray())
                {
                    k++;
                    if (part.ValueKind != JsonValueKind.Object)
                    {
                        throw context.Fail($"{path}.content[{k}]", $"is {Describe(part)}, expected a content part object");
                    }

                    var type = RequireString(context, part, "type", $"{path}.content[{k}]");
                    if (type == "text")
                    {
                        if (builder.Length > 0)
                        {
                            builder.Append('\n');
                        }

                        builder.Append(RequireString(context, part, "text", $"{path}.content[{k}]"));
                    }
                }

                return builder.ToString();
            }

            default:
                throw context.Fail($"{path}.content", $"is {Describe(content)}, expected a string, null or an array of content parts");
        }
    }

    private Outcome ReadOutcome(RecordContext context, JsonElement outcome)
    {
        switch (outcome.ValueKind)
        {
            case JsonValueKind.True:
                return Outcome.Success(at: _importedAt);
            case JsonValueKind.False:
                return Outcome.Failure(at: _importedAt);
            case JsonValueKind.Number:
                return Outcome.Scored(ReadScore(context, outcome, "outcome"), at: _importedAt);
            case JsonValueKind.String:
                return outcome.GetString()!.Trim().ToLowerInvariant() switch
                {
                    "success" or "succeeded" or "pass" or "passed" or "resolved" => Outcome.Success(at: _importedAt),
                    "failure" or "failed" or "fail" or "unresolved" => Outcome.Failure(at: _importedAt),
                    var other => throw context.Fail("outcome", $"is '{other}', expected success, failure or a score in [0, 1]"),
                };
            case JsonValueKind.Object:
            {
                if (!outcome.TryGetProperty("score", out var score))
                {
                    throw context.Fail("outcome.score", "is missing");
                }

                var source = OptionalString(context, outcome, "source", "outcome") ?? OutcomeSource.Environment;
                try
                {
                    source = OutcomeSource.Normalize(source);
                }
                catch (ArgumentException)
                {
                    throw context.Fail("outcome.source", $"is '{source}', expected environment, user or evaluator");
                }

                var category = OptionalString(context, outcome, "category", "outcome");
                if (category is not null && (string.IsNullOrWhiteSpace(category) || category.Length > 200))
                {
                    throw context.Fail("outcome.category", "must be 1 to 200 characters naming the kind of failure");
                }

                return new Outcome(
                    ReadScore(context, score, "outcome.score"),
                    source,
                    OptionalString(context, outcome, "actor", "outcome"),
                    OptionalString(context, outcome, "comment", "outcome"),
                    _importedAt)
                {
                    Category = category?.Trim(),
                    Reason = OptionalString(context, outcome, "reason", "outcome"),
                };
            }

            default:
                throw context.Fail("outcome", $"is {Describe(outcome)}, expected true/false, success/failure, a score or an object with a score");
        }
    }

    private static double ReadScore(RecordContext context, JsonElement value, string field)
    {
        if (value.ValueKind != JsonValueKind.Number || !value.TryGetDouble(out var score))
        {
            throw context.Fail(field, $"is {Describe(value)}, expected a number in [0, 1]");
        }

        if (double.IsNaN(score) || score < 0 || score > 1)
        {
            throw context.Fail(field, $"is {score.ToString(CultureInfo.InvariantCulture)}, outside [0, 1]");
        }

        return score;
    }

    private static JsonElement RequireArray(RecordContext context, JsonElement record, string field)
    {
        var value = record.GetProperty(field);
        return value.ValueKind == JsonValueKind.Array
            ? value
            : throw context.Fail(field, $"is {Describe(value)}, expected an array of messages");
    }

    private static string RequireString(RecordContext context, JsonElement obj, string field, string path)
    {
        if (!obj.TryGetProperty(field, out var value))
        {
            throw context.Fail($"{path}.{field}", "is missing");
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()!
            : throw context.Fail($"{path}.{field}", $"is not a string (found {Describe(value)})");
    }

    private static string? OptionalString(RecordContext context, JsonElement obj, string field, string? path = null)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind == JsonValueKind.String
            ? value.GetString()
            : throw context.Fail(path is null ? field : $"{path}.{field}", $"is not a string (found {Describe(value)})");
    }

    /// <summary>A string or integer field (ids and task numbers come as either), as text.</summary>
    private static string? OptionalScalar(RecordContext context, JsonElement obj, string field)
    {
        if (!obj.TryGetProperty(field, out var value) || value.ValueKind == JsonValueKind.Null)
        {
            return null;
        }

        return value.ValueKind switch
        {
            JsonValueKind.String => value.GetString(),
            JsonValueKind.Number when value.TryGetInt64(out var n) => n.ToString(CultureInfo.InvariantCulture),
            _ => throw context.Fail(field, $"is {Describe(value)}, expected a string or an integer"),
        };
    }

    /// <summary>The first <c>user_id</c> string argument of a tool call, which names the customer in most agent benchmarks.</summary>
    private static string? FindUserIdArgument(string argumentsJson)
    {
        if (!argumentsJson.Contains("user_id", StringComparison.Ordinal))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(argumentsJson);
            return document.RootElement.ValueKind == JsonValueKind.Object
                && document.RootElement.TryGetProperty("user_id", out var user)
                && user.ValueKind == JsonValueKind.String
                ? NonEmpty(user.GetString())
                : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>
    /// A stable id for a record without one, from its content alone (canonical JSON: property order and whitespace do
    /// not matter) and the tenant: the same trajectory imported again, from any file under any name, gets the same id and
    /// is skipped instead of being stored (and counted as evidence) twice.
    /// </summary>
    private string DerivedId(string prefix, int index, JsonElement record)
    {
        _ = index;
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            WriteCanonical(writer, record);
        }

        var tenant = Encoding.UTF8.GetBytes(_options.Tenant + "\n");
        var key = new byte[tenant.Length + (int)buffer.Length];
        tenant.CopyTo(key, 0);
        buffer.GetBuffer().AsSpan(0, (int)buffer.Length).CopyTo(key.AsSpan(tenant.Length));
        return $"{prefix}-{Convert.ToHexStringLower(SHA256.HashData(key))[..16]}";
    }

    /// <summary>Writes JSON with object properties in ordinal order, so equal content gives equal bytes.</summary>
    internal static void WriteCanonical(Utf8JsonWriter writer, JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                writer.WriteStartObject();
                foreach (var property in element.EnumerateObject().OrderBy(p => p.Name, StringComparer.Ordinal))
                {
                    writer.WritePropertyName(property.Name);
                    WriteCanonical(writer, property.Value);
                }

                writer.WriteEndObject();
                break;
            case JsonValueKind.Array:
                writer.WriteStartArray();
                foreach (var item in element.EnumerateArray())
                {
                    WriteCanonical(writer, item);
                }

                writer.WriteEndArray();
                break;
            default:
                element.WriteTo(writer);
                break;
        }
    }

    private static string? NonEmpty(string? value) => string.IsNullOrWhiteSpace(value) ? null : value;

    private static string Name(RecordShape shape) => shape == RecordShape.TauBench ? "tau-bench result (traj)" : "conversation (messages)";

    internal static string Describe(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        JsonValueKind.True or JsonValueKind.False => "a boolean",
        JsonValueKind.Null => "null",
        _ => "undefined",
    };

    private readonly record struct RecordContext(string FileName, int Index, long? Line)
    {
        public TrajectoryFormatException Fail(string? field, string problem)
        {
            var where = Line is { } line ? $"record {Index} (line {line})" : $"record {Index}";
            var message = field is null ? $"{FileName}: {where}: {problem}." : $"{FileName}: {where}: {field} {problem}.";
            return new TrajectoryFormatException(message, Index, field);
        }
    }
}
