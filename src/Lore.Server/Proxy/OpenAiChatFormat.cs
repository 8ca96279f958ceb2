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
/// The OpenAI chat-completions wire format as Microsoft.Extensions.AI messages: the shapes both of the proxy's readers
/// build (tool calls, usage, upstream errors); the messages and answers themselves are read by
/// <see cref="ChatMessageReader"/>. The proxy forwards the body itself untouched.
/// </summary>
internal static class OpenAiChatFormat
{
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

            // One clone of the whole object backs every argument (not one document per argument).
            arguments = document.RootElement.ValueKind == JsonValueKind.Object
                ? document.RootElement.Clone().EnumerateObject().ToDictionary(p => p.Name, p => (object?)p.Value, StringComparer.Ordinal)
                : new Dictionary<string, object?>(StringComparer.Ordinal) { ["arguments"] = argumentsJson };
        }
        catch (JsonException)
        {
            arguments = new Dictionary<string, object?>(StringComparer.Ordinal) { ["arguments"] = argumentsJson };
        }

        return new FunctionCallContent(id, name, arguments);
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
