using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Lore.Server.Proxy;

/// <summary>A request body that is not a chat-completions request; <see cref="Field"/> names the JSON path at fault.</summary>
internal sealed class ChatRequestException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// The OpenAI chat-completions wire format as Microsoft.Extensions.AI messages, both ways: the proxy reads a caller's
/// messages (to capture them through the engine's transcript), and the simulated upstream reads a request and writes
/// its agent's answer. Only what capture and the agent need is read; the proxy forwards the body itself untouched.
/// </summary>
internal static class OpenAiChatFormat
{
    /// <summary>The <c>messages</c> array: non-empty, each entry a message <see cref="ReadMessage"/> accepts.</summary>
    public static List<ChatMessage> ReadMessages(JsonNode? node)
    {
        if (node is not JsonArray messages || messages.Count == 0)
        {
            throw new ChatRequestException("messages", "'messages' must be a non-empty array of chat messages.");
        }

        var result = new List<ChatMessage>(messages.Count);
        for (var i = 0; i < messages.Count; i++)
        {
            result.Add(ReadMessage(messages[i], $"messages[{i}]"));
        }

        return result;
    }

    /// <summary>One message: system/developer, user, assistant (text and tool calls) or tool (a result).</summary>
    public static ChatMessage ReadMessage(JsonNode? node, string path)
    {
        if (node is not JsonObject message)
        {
            throw new ChatRequestException(path, $"{path} must be an object.");
        }

        if (message["role"] is not JsonValue roleValue || roleValue.GetValueKind() != JsonValueKind.String)
        {
            throw new ChatRequestException($"{path}.role", $"{path}.role must be a string (system, developer, user, assistant or tool).");
        }

        var role = roleValue.GetValue<string>();
        var text = ReadContent(message["content"], $"{path}.content");
        switch (role)
        {
            case "system":
            case "developer":
                return new ChatMessage(ChatRole.System, text);
            case "user":
                return new ChatMessage(ChatRole.User, text);
            case "tool":
            case "function":
                var callId = message["tool_call_id"] is JsonValue id && id.GetValueKind() == JsonValueKind.String ? id.GetValue<string>()
                    : message["name"]?.GetValueKind() == JsonValueKind.String ? message["name"]!.GetValue<string>() : "";
                return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(callId, text ?? "")]);
            case "assistant":
                var contents = new List<AIContent>();
                if (!string.IsNullOrEmpty(text))
                {
                    contents.Add(new TextContent(text));
                }

                if (message["tool_calls"] is JsonArray calls)
                {
                    for (var i = 0; i < calls.Count; i++)
                    {
                        contents.Add(ReadToolCall(calls[i], $"{path}.tool_calls[{i}]"));
                    }
                }

                return new ChatMessage(ChatRole.Assistant, contents);
            default:
                // Roles the proxy does not know still travel upstream; capture keeps their text.
                return new ChatMessage(new ChatRole(role), text);
        }
    }

    /// <summary>
    /// One entry of <c>tool_calls</c>: a function call (<c>{"type":"function","function":{"name","arguments"}}</c>) or a
    /// custom tool call (<c>{"type":"custom","custom":{"name","input"}}</c>, whose free-text input is recorded as the
    /// argument <c>input</c>). Other types still travel upstream and are recorded under their type's name.
    /// </summary>
    private static FunctionCallContent ReadToolCall(JsonNode? node, string path)
    {
        if (node is not JsonObject call)
        {
            throw new ChatRequestException(path, $"{path} must be an object (a function or custom tool call).");
        }

        var id = StringOf(call["id"]) ?? "";
        var type = StringOf(call["type"]);
        if (call["function"] is JsonObject function && type is null or "function")
        {
            return ToolCall(id, StringOf(function["name"]) ?? "", StringOf(function["arguments"]) ?? "{}");
        }

        if (call["custom"] is JsonObject custom && type is null or "custom")
        {
            return CustomToolCall(id, StringOf(custom["name"]) ?? "", StringOf(custom["input"]) ?? "");
        }

        if (type is null or "function" or "custom")
        {
            throw new ChatRequestException(path, $"{path} must have a 'function' object (type function) or a 'custom' object (type custom).");
        }

        return new FunctionCallContent(id, type, new Dictionary<string, object?>(StringComparer.Ordinal));
    }

    /// <summary>A custom tool call: its input is free text, kept whole as the argument <c>input</c>.</summary>
    public static FunctionCallContent CustomToolCall(string id, string name, string input)
        => new(id, name, new Dictionary<string, object?>(StringComparer.Ordinal) { ["input"] = input });

    /// <summary>A tool call from the wire: the arguments are a JSON object text, kept whole under "arguments" when they are not one.</summary>
    public static FunctionCallContent ToolCall(string id, string name, string argumentsJson)
    {
        Dictionary<string, object?> arguments;
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(argumentsJson) ? "{}" : argumentsJson);
            arguments = document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value.Clone(), StringComparer.Ordinal)
                : new Dictionary<string, object?>(StringComparer.Ordinal) { ["arguments"] = argumentsJson };
        }
        catch (JsonException)
        {
            arguments = new Dictionary<string, object?>(StringComparer.Ordinal) { ["arguments"] = argumentsJson };
        }

        return new FunctionCallContent(id, name, arguments);
    }

    /// <summary>A content field: a string, null, or an array of parts whose text parts are joined.</summary>
    private static string? ReadContent(JsonNode? content, string path)
    {
        switch (content)
        {
            case null:
                return null;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return value.GetValue<string>();
            case JsonValue value when value.GetValueKind() == JsonValueKind.Null:
                return null;
            case JsonArray parts:
                var builder = new StringBuilder();
                foreach (var part in parts)
                {
                    if (part is JsonObject o && o["text"] is JsonValue t && t.GetValueKind() == JsonValueKind.String)
                    {
                        builder.Append(t.GetValue<string>());
                    }
                    else if (part is JsonValue s && s.GetValueKind() == JsonValueKind.String)
                    {
                        builder.Append(s.GetValue<string>());
                    }
                }

                return builder.ToString();
            default:
                throw new ChatRequestException(path, $"{path} must be a string, null or an array of content parts.");
        }
    }

    /// <summary>The assistant message of a non-streamed completion (choice 0), its model and usage; null parts when absent.</summary>
    public static (ChatMessage? Message, string? Model, UsageDetails? Usage) ReadCompletion(ReadOnlySpan<byte> json)
    {
        JsonNode? node;
        try
        {
            node = JsonNode.Parse(json);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }

        if (node is not JsonObject completion)
        {
            return (null, null, null);
        }

        ChatMessage? message = null;
        if (completion["choices"] is JsonArray { Count: > 0 } choices && choices[0]?["message"] is JsonObject m)
        {
            try
            {
                message = ReadMessage(m, "choices[0].message");
            }
            catch (ChatRequestException)
            {
                message = null;
            }
        }

        return (message, StringOf(completion["model"]), ReadUsage(completion["usage"]));
    }

    /// <summary>What an upstream's error body says (<c>error.message</c> of OpenAI's shape, else the start of the body), for the failed step.</summary>
    public static string ErrorText(int status, ReadOnlySpan<byte> body)
    {
        string? message = null;
        try
        {
            message = StringOf(JsonNode.Parse(body)?["error"]?["message"]);
        }
        catch (JsonException)
        {
            // Not JSON: the text itself.
        }
        catch (InvalidOperationException)
        {
            // JSON, but not an object.
        }

        message ??= Encoding.UTF8.GetString(body[..Math.Min(body.Length, 300)]).Trim();
        return message.Length == 0 ? $"upstream answered {status}" : $"upstream answered {status}: {message}";
    }

    public static UsageDetails? ReadUsage(JsonNode? usage)
    {
        if (usage is not JsonObject u)
        {
            return null;
        }

        return new UsageDetails
        {
            InputTokenCount = LongOf(u["prompt_tokens"]),
            OutputTokenCount = LongOf(u["completion_tokens"]),
            TotalTokenCount = LongOf(u["total_tokens"]),
            CachedInputTokenCount = LongOf(u["prompt_tokens_details"]?["cached_tokens"]),
            ReasoningTokenCount = LongOf(u["completion_tokens_details"]?["reasoning_tokens"]),
        };
    }

    public static string? StringOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    private static long? LongOf(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.Number && v.TryGetValue<long>(out var l) ? l : null;

    /// <summary>A tool call as the wire has it: <c>{"id","type":"function","function":{"name","arguments"}}</c>.</summary>
    public static JsonObject WriteToolCall(FunctionCallContent call, int? index = null)
    {
        var json = new JsonObject();
        if (index is { } i)
        {
            json["index"] = i;
        }

        json["id"] = call.CallId;
        json["type"] = "function";
        json["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = call.Arguments is null or { Count: 0 }
            ? "{}"
            : JsonSerializer.Serialize(call.Arguments, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>))) };
        return json;
    }

    /// <summary>Seconds since the Unix epoch, the <c>created</c> field.</summary>
    public static long Created(DateTimeOffset at) => at.ToUnixTimeSeconds();

    public static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
