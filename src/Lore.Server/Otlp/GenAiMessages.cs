using System.Globalization;
using System.Text.Json;
using Lore.Server.Proxy;
using Microsoft.Extensions.AI;

namespace Lore.Server.Otlp;

/// <summary>
/// Reads the messages of a model-call span in the forms instrumentations emit them, newest convention first:
/// <list type="bullet">
/// <item>GenAI semantic conventions: <c>gen_ai.system_instructions</c>, <c>gen_ai.input.messages</c>,
/// <c>gen_ai.output.messages</c> (JSON <c>[{role, parts:[{type:text|tool_call|tool_call_response, ...}]}]</c>, as a
/// string or structured), also on a <c>gen_ai.client.inference.operation.details</c> event;</item>
/// <item>OpenInference: <c>llm.input_messages.{i}.message.role|content|tool_calls.{j}.tool_call.function.name|arguments</c>
/// and <c>llm.output_messages...</c>;</item>
/// <item>the older GenAI forms: indexed <c>gen_ai.prompt.{i}.role|content</c> / <c>gen_ai.completion.{i}...</c>, whole
/// <c>gen_ai.prompt</c> / <c>gen_ai.completion</c> strings (also on <c>gen_ai.content.prompt|completion</c> events), and the
/// per-message events <c>gen_ai.system|user|assistant|tool.message</c> and <c>gen_ai.choice</c>.</item>
/// </list>
/// </summary>
internal static class GenAiMessages
{
    public static List<ChatMessage> Input(OtlpSpan span)
    {
        var messages = new List<ChatMessage>();
        if (Value(span, "gen_ai.system_instructions") is { } instructions && PartsText(instructions) is { Length: > 0 } system)
        {
            messages.Add(new ChatMessage(ChatRole.System, system));
        }

        var body = Value(span, "gen_ai.input.messages") is { } input ? FromSemconv(input)
            : Indexed(span.Attributes, "llm.input_messages.") is { Count: > 0 } oi ? oi
            : Indexed(span.Attributes, "gen_ai.prompt.") is { Count: > 0 } indexed ? indexed
            : Value(span, "gen_ai.prompt") is { } prompt ? FromLegacy(prompt, ChatRole.User)
            : FromMessageEvents(span, output: false);
        messages.AddRange(body);
        return messages;
    }

    public static List<ChatMessage> Output(OtlpSpan span)
        => Value(span, "gen_ai.output.messages") is { } output ? FromSemconv(output)
            : Indexed(span.Attributes, "llm.output_messages.") is { Count: > 0 } oi ? oi
            : Indexed(span.Attributes, "gen_ai.completion.") is { Count: > 0 } indexed ? indexed
            : Value(span, "gen_ai.completion") is { } completion ? FromLegacy(completion, ChatRole.Assistant)
            : FromMessageEvents(span, output: true);

    /// <summary>A span attribute, or the same attribute on one of its events (older instrumentations put content there).</summary>
    public static object? Value(OtlpSpan span, string key)
    {
        if (OtlpValues.Find(span.Attributes, key) is { } value)
        {
            return value;
        }

        foreach (var e in span.Events)
        {
            if (OtlpValues.Find(e.Attributes, key) is { } onEvent)
            {
                return onEvent;
            }
        }

        return null;
    }

    /// <summary><c>[{role, parts:[...]}]</c> (or <c>content</c> in place of parts).</summary>
    private static List<ChatMessage> FromSemconv(object value)
    {
        var messages = new List<ChatMessage>();
        using var document = Parse(value);
        if (document?.RootElement is not { ValueKind: JsonValueKind.Array } array)
        {
            if (OtlpValues.Text(value) is { Length: > 0 } plain && document is null)
            {
                messages.Add(new ChatMessage(ChatRole.User, plain));
            }

            return messages;
        }

        foreach (var message in array.EnumerateArray())
        {
            if (message.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            var role = Role(Str(message, "role"));
            var contents = new List<AIContent>();
            var parts = message.TryGetProperty("parts", out var p) ? p : message.TryGetProperty("content", out var c) ? c : default;
            if (parts.ValueKind == JsonValueKind.String)
            {
                contents.Add(new TextContent(parts.GetString()!));
            }
            else if (parts.ValueKind == JsonValueKind.Array)
            {
                foreach (var part in parts.EnumerateArray())
                {
                    if (part.ValueKind != JsonValueKind.Object)
                    {
                        continue;
                    }

                    switch (Str(part, "type"))
                    {
                        case "text":
                            if ((Str(part, "content") ?? Str(part, "text")) is { } text)
                            {
                                contents.Add(new TextContent(text));
                            }

                            break;
                        case "tool_call":
                            contents.Add(OpenAiChatFormat.ToolCall(Str(part, "id") ?? "", Str(part, "name") ?? "", JsonText(part, "arguments") ?? "{}"));
                            break;
                        case "tool_call_response":
                            contents.Add(new FunctionResultContent(Str(part, "id") ?? "", JsonText(part, "response") ?? JsonText(part, "result") ?? ""));
                            break;
                    }
                }
            }

            if (contents.Count > 0)
            {
                messages.Add(new ChatMessage(contents.Any(x => x is FunctionResultContent) ? ChatRole.Tool : role, contents));
            }
        }

        return messages;
    }

    /// <summary><c>{prefix}{i}.(message.)role|content|tool_call_id|tool_calls.{j}.(tool_call.)(id|function.name|function.arguments)</c>.</summary>
    private static List<ChatMessage> Indexed(IReadOnlyList<OtlpAttribute> attributes, string prefix)
    {
        var byIndex = new SortedDictionary<int, Dictionary<string, object?>>();
        foreach (var attribute in attributes)
        {
            if (!attribute.Key.StartsWith(prefix, StringComparison.Ordinal))
            {
                continue;
            }

            var rest = attribute.Key.AsSpan(prefix.Length);
            var dot = rest.IndexOf('.');
            if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var index))
            {
                continue;
            }

            var field = rest[(dot + 1)..].ToString();
            if (field.StartsWith("message.", StringComparison.Ordinal))
            {
                field = field["message.".Length..];
            }

            if (!byIndex.TryGetValue(index, out var fields))
            {
                byIndex[index] = fields = new Dictionary<string, object?>(StringComparer.Ordinal);
            }

            fields[field] = attribute.Value;
        }

        var messages = new List<ChatMessage>();
        foreach (var fields in byIndex.Values)
        {
            var role = Role(OtlpValues.Text(fields.GetValueOrDefault("role")));
            var text = OtlpValues.Text(fields.GetValueOrDefault("content"));
            if (text is null)
            {
                // OpenInference's multi-part form: contents.{k}.message_content.text
                text = string.Concat(fields.Where(f => f.Key.StartsWith("contents.", StringComparison.Ordinal) && f.Key.EndsWith(".text", StringComparison.Ordinal))
                    .OrderBy(f => f.Key, StringComparer.Ordinal).Select(f => OtlpValues.Text(f.Value)));
            }

            if (role == ChatRole.Tool || fields.ContainsKey("tool_call_id"))
            {
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(OtlpValues.Text(fields.GetValueOrDefault("tool_call_id")) ?? "", text ?? "")]));
                continue;
            }

            var contents = new List<AIContent>();
            if (!string.IsNullOrEmpty(text))
            {
                contents.Add(new TextContent(text));
            }

            var calls = new SortedDictionary<int, Dictionary<string, string?>>();
            foreach (var (key, value) in fields)
            {
                if (!key.StartsWith("tool_calls.", StringComparison.Ordinal))
                {
                    continue;
                }

                var rest = key["tool_calls.".Length..];
                var dot = rest.IndexOf('.', StringComparison.Ordinal);
                if (dot <= 0 || !int.TryParse(rest[..dot], NumberStyles.None, CultureInfo.InvariantCulture, out var j))
                {
                    continue;
                }

                var name = rest[(dot + 1)..];
                if (name.StartsWith("tool_call.", StringComparison.Ordinal))
                {
                    name = name["tool_call.".Length..];
                }

                if (!calls.TryGetValue(j, out var call))
                {
                    calls[j] = call = new Dictionary<string, string?>(StringComparer.Ordinal);
                }

                call[name.Replace("function.", "", StringComparison.Ordinal)] = OtlpValues.Text(value);
            }

            foreach (var call in calls.Values)
            {
                contents.Add(OpenAiChatFormat.ToolCall(call.GetValueOrDefault("id") ?? "", call.GetValueOrDefault("name") ?? "", call.GetValueOrDefault("arguments") ?? "{}"));
            }

            if (contents.Count > 0)
            {
                messages.Add(new ChatMessage(role, contents));
            }
        }

        return messages;
    }

    /// <summary>The whole-prompt strings: an OpenAI-style message array as JSON, or plain text.</summary>
    private static List<ChatMessage> FromLegacy(object value, ChatRole plainRole)
    {
        using var document = Parse(value);
        if (document?.RootElement is { ValueKind: JsonValueKind.Array } array)
        {
            var messages = new List<ChatMessage>();
            foreach (var message in array.EnumerateArray())
            {
                if (OpenAiMessage(message) is { } m)
                {
                    messages.Add(m);
                }
            }

            return messages;
        }

        return OtlpValues.Text(value) is { Length: > 0 } text ? [new ChatMessage(plainRole, text)] : [];
    }

    /// <summary>The per-message events: <c>gen_ai.{system|user|assistant|tool}.message</c> (input) and <c>gen_ai.choice</c> (output).</summary>
    private static List<ChatMessage> FromMessageEvents(OtlpSpan span, bool output)
    {
        var messages = new List<ChatMessage>();
        foreach (var e in span.Events)
        {
            ChatRole? role = e.Name switch
            {
                "gen_ai.system.message" when !output => ChatRole.System,
                "gen_ai.user.message" when !output => ChatRole.User,
                "gen_ai.assistant.message" when !output => ChatRole.Assistant,
                "gen_ai.tool.message" when !output => ChatRole.Tool,
                "gen_ai.choice" when output => ChatRole.Assistant,
                _ => null,
            };
            if (role is null)
            {
                continue;
            }

            if (OtlpValues.Find(e.Attributes, "message") is { } whole)
            {
                using var document = Parse(whole);
                if (document is not null && OpenAiMessage(document.RootElement) is { } parsed)
                {
                    messages.Add(parsed);
                    continue;
                }
            }

            var text = OtlpValues.Text(OtlpValues.Find(e.Attributes, "content")) ?? "";
            if (role == ChatRole.Tool)
            {
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(OtlpValues.Text(OtlpValues.Find(e.Attributes, "id")) ?? "", text)]));
                continue;
            }

            var contents = new List<AIContent>();
            if (text.Length > 0)
            {
                contents.Add(new TextContent(text));
            }

            if (OtlpValues.Find(e.Attributes, "tool_calls") is { } calls)
            {
                using var document = Parse(calls);
                if (document?.RootElement is { ValueKind: JsonValueKind.Array } array)
                {
                    contents.AddRange(array.EnumerateArray().Select(OpenAiToolCall).OfType<FunctionCallContent>());
                }
            }

            if (contents.Count > 0)
            {
                messages.Add(new ChatMessage(role.Value, contents));
            }
        }

        return messages;
    }

    /// <summary><c>{role, content, tool_calls:[{id, function:{name, arguments}}], tool_call_id}</c>.</summary>
    private static ChatMessage? OpenAiMessage(JsonElement message)
    {
        if (message.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var role = Role(Str(message, "role"));
        var text = Str(message, "content");
        if (role == ChatRole.Tool)
        {
            return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(Str(message, "tool_call_id") ?? Str(message, "id") ?? "", text ?? "")]);
        }

        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(text))
        {
            contents.Add(new TextContent(text));
        }

        if (message.TryGetProperty("tool_calls", out var calls) && calls.ValueKind == JsonValueKind.Array)
        {
            contents.AddRange(calls.EnumerateArray().Select(OpenAiToolCall).OfType<FunctionCallContent>());
        }

        return contents.Count == 0 ? null : new ChatMessage(role, contents);
    }

    private static FunctionCallContent? OpenAiToolCall(JsonElement call)
    {
        if (call.ValueKind != JsonValueKind.Object)
        {
            return null;
        }

        var function = call.TryGetProperty("function", out var f) && f.ValueKind == JsonValueKind.Object ? f : call;
        return OpenAiChatFormat.ToolCall(Str(call, "id") ?? "", Str(function, "name") ?? "", JsonText(function, "arguments") ?? "{}");
    }

    /// <summary>System instructions: a parts array (<c>[{type:text, content}]</c>) or plain text.</summary>
    private static string? PartsText(object value)
    {
        using var document = Parse(value);
        if (document?.RootElement is { ValueKind: JsonValueKind.Array } array)
        {
            return string.Join("\n", array.EnumerateArray()
                .Select(p => p.ValueKind == JsonValueKind.String ? p.GetString() : p.ValueKind == JsonValueKind.Object ? Str(p, "content") ?? Str(p, "text") : null)
                .OfType<string>());
        }

        return OtlpValues.Text(value);
    }

    private static ChatRole Role(string? role) => role switch
    {
        "system" or "developer" => ChatRole.System,
        "assistant" or "model" or "ai" => ChatRole.Assistant,
        "tool" or "function" => ChatRole.Tool,
        _ => ChatRole.User,
    };

    /// <summary>A value as a JSON document (strings are parsed; structured values are written as JSON first); null when it is not JSON.</summary>
    private static JsonDocument? Parse(object value)
    {
        try
        {
            return JsonDocument.Parse(OtlpValues.Json(value));
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static string? Str(JsonElement obj, string name)
        => obj.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    /// <summary>A property as text: a string as it is, anything else as its JSON.</summary>
    private static string? JsonText(JsonElement obj, string name)
        => !obj.TryGetProperty(name, out var v) || v.ValueKind == JsonValueKind.Null ? null
            : v.ValueKind == JsonValueKind.String ? v.GetString() : v.GetRawText();
}
