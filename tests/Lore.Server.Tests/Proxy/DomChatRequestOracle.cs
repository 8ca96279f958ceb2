using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Server.Proxy;
using Microsoft.Extensions.AI;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// The DOM reading of a chat-completions request and answer that the proxy used before its one-pass readers
/// (<see cref="ChatRequestBody"/>, <see cref="ChatMessageReader"/>): kept here only as the oracle the property tests
/// compare those readers with.
/// </summary>
internal static class DomChatRequestOracle
{
    /// <summary>
    /// Checks the parts of a request the proxy relies on (an object with a non-empty <c>messages</c> array of objects
    /// with a string <c>role</c>, a boolean <c>stream</c>, a string <c>user</c>) and reads its messages.
    /// </summary>
    public static List<ChatMessage> ReadRequest(JsonNode? body)
    {
        if (body is not JsonObject request)
        {
            throw new ChatRequestException("$", "the request body must be a JSON object (an OpenAI chat-completions request).");
        }

        if (request["stream"] is { } stream && stream.GetValueKind() is not (JsonValueKind.True or JsonValueKind.False or JsonValueKind.Null))
        {
            throw new ChatRequestException("stream", "'stream' must be true or false.");
        }

        if (request["user"] is { } user && user.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Null))
        {
            throw new ChatRequestException("user", "'user' must be a string.");
        }

        return ReadMessages(request["messages"]);
    }

    /// <summary>The names of the function and custom tools a request offers, or null when it offers none.</summary>
    public static string[]? ToolNames(JsonObject request)
    {
        if (request["tools"] is not JsonArray tools || tools.Count == 0)
        {
            return null;
        }

        var names = new List<string>(tools.Count);
        foreach (var tool in tools)
        {
            // Function tools name themselves under "function", custom (free-text input) tools under "custom".
            if (OpenAiChatFormat.StringOf(tool?["function"]?["name"]) is { } name)
            {
                names.Add(name);
            }
            else if (OpenAiChatFormat.StringOf(tool?["custom"]?["name"]) is { } custom)
            {
                names.Add(custom);
            }
        }

        return [.. names];
    }

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

        var id = OpenAiChatFormat.StringOf(call["id"]) ?? "";
        var type = OpenAiChatFormat.StringOf(call["type"]);
        if (call["function"] is JsonObject function && type is null or "function")
        {
            return OpenAiChatFormat.ToolCall(id, OpenAiChatFormat.StringOf(function["name"]) ?? "", OpenAiChatFormat.StringOf(function["arguments"]) ?? "{}");
        }

        if (call["custom"] is JsonObject custom && type is null or "custom")
        {
            return OpenAiChatFormat.CustomToolCall(id, OpenAiChatFormat.StringOf(custom["name"]) ?? "", OpenAiChatFormat.StringOf(custom["input"]) ?? "");
        }

        if (type is null or "function" or "custom")
        {
            throw new ChatRequestException(path, $"{path} must have a 'function' object (type function) or a 'custom' object (type custom).");
        }

        return new FunctionCallContent(id, type, new Dictionary<string, object?>(StringComparer.Ordinal));
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

        return (message, OpenAiChatFormat.StringOf(completion["model"]), OpenAiChatFormat.ReadUsage(completion["usage"]));
    }
}
