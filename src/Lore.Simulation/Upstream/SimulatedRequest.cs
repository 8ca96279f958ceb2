using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;

namespace Lore.Simulation.Upstream;

/// <summary>A request the simulated upstream cannot read; <see cref="Field"/> names the JSON path that is wrong.</summary>
internal sealed class SimulatedRequestException(string field, string message) : Exception(message)
{
    public string Field { get; } = field;
}

/// <summary>
/// Reads the part of an OpenAI chat-completions request the simulated agent acts on (roles, text, tool calls and tool
/// results) and writes its tool calls back in the wire shape. Deliberately small: the server's proxy has its own,
/// complete reader; this one only has to feed a deterministic stand-in agent.
/// </summary>
internal static class SimulatedRequest
{
    public static (JsonObject Request, List<ChatMessage> Messages) Read(JsonNode? body)
    {
        if (body is not JsonObject request)
        {
            throw new SimulatedRequestException("$", "the request body must be a JSON object (an OpenAI chat-completions request).");
        }

        if (Text(request["model"]) is null)
        {
            throw new SimulatedRequestException("model", "you must provide a model parameter (any name: this is the simulated agent).");
        }

        if (request["messages"] is not JsonArray array || array.Count == 0)
        {
            throw new SimulatedRequestException("messages", "'messages' must be a non-empty array of chat messages.");
        }

        var messages = new List<ChatMessage>(array.Count);
        for (var i = 0; i < array.Count; i++)
        {
            var path = $"messages[{i}]";
            if (array[i] is not JsonObject message || Text(message["role"]) is not { } role)
            {
                throw new SimulatedRequestException(path, $"{path} must be an object with a string 'role'.");
            }

            var content = Content(message["content"]);
            messages.Add(role switch
            {
                "system" or "developer" => new ChatMessage(ChatRole.System, content),
                "user" => new ChatMessage(ChatRole.User, content),
                "tool" => new ChatMessage(ChatRole.Tool, [new FunctionResultContent(Text(message["tool_call_id"]) ?? "", content ?? "")]),
                "assistant" => Assistant(message, content),
                _ => new ChatMessage(new ChatRole(role), content),
            });
        }

        return (request, messages);
    }

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
        var arguments = call.Arguments is { Count: > 0 } a
            ? JsonSerializer.Serialize(a, AIJsonUtilities.DefaultOptions.GetTypeInfo(typeof(IDictionary<string, object?>)))
            : "{}";
        json["function"] = new JsonObject { ["name"] = call.Name, ["arguments"] = arguments };
        return json;
    }

    private static ChatMessage Assistant(JsonObject message, string? content)
    {
        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(content))
        {
            contents.Add(new TextContent(content));
        }

        foreach (var call in message["tool_calls"] as JsonArray ?? [])
        {
            if (call?["function"] is JsonObject function)
            {
                contents.Add(new FunctionCallContent(Text(call["id"]) ?? "", Text(function["name"]) ?? "", Arguments(Text(function["arguments"]))));
            }
        }

        return new ChatMessage(ChatRole.Assistant, contents);
    }

    private static Dictionary<string, object?> Arguments(string? json)
    {
        var arguments = new Dictionary<string, object?>(StringComparer.Ordinal);
        try
        {
            using var document = JsonDocument.Parse(string.IsNullOrWhiteSpace(json) ? "{}" : json);
            if (document.RootElement.ValueKind == JsonValueKind.Object)
            {
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    arguments[property.Name] = property.Value.Clone();
                }
            }
        }
        catch (JsonException)
        {
            // The stand-in agent ignores arguments it cannot read.
        }

        return arguments;
    }

    /// <summary>A string, or the joined text parts of a content array.</summary>
    private static string? Content(JsonNode? node)
    {
        if (node is JsonArray parts)
        {
            var text = new StringBuilder();
            foreach (var part in parts)
            {
                text.Append(part is JsonObject o ? Text(o["text"]) : Text(part));
            }

            return text.ToString();
        }

        return Text(node);
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;
}
