using System.Collections.Concurrent;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Lore.Server.Proxy;

/// <summary>
/// Reads chat-completions messages and answers straight from their UTF-8 bytes into Microsoft.Extensions.AI messages
/// with a <see cref="Utf8JsonReader"/>, without a <c>JsonNode</c> DOM in between: the proxy reads every call's messages
/// and answer for capture, and the DOMs were a fifth of its allocation per request. The checks, their order and the
/// messages built are those of the DOM reading the tests keep as their oracle.
/// </summary>
internal static class ChatMessageReader
{
    /// <summary>Names seen in requests (tools, models): the same few per agent, so each is one string per process.</summary>
    private static readonly ConcurrentDictionary<string, string> Names = new(StringComparer.Ordinal);
    private static readonly ConcurrentDictionary<string, string>.AlternateLookup<ReadOnlySpan<char>> NamesBySpan = Names.GetAlternateLookup<ReadOnlySpan<char>>();
    private const int MaxNames = 4096;
    private const int MaxInternedLength = 128;

    /// <summary>The array of <c>messages</c> (the bytes of its <c>[...]</c>), each entry read as <see cref="ReadMessage"/> does.</summary>
    public static List<ChatMessage> ReadMessages(ReadOnlySpan<byte> array, int count)
    {
        var result = new List<ChatMessage>(count);
        var reader = new Utf8JsonReader(array);
        reader.Read();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            result.Add(ReadMessage(array, ref reader, new MessagePath("messages", result.Count)));
        }

        return result;
    }

    /// <summary>
    /// The assistant message of a non-streamed completion (choice 0), its model and usage; null parts when absent, and
    /// all null when the bytes are not one JSON object.
    /// </summary>
    public static (ChatMessage? Message, string? Model, UsageDetails? Usage) ReadCompletion(ReadOnlySpan<byte> json)
    {
        try
        {
            var reader = new Utf8JsonReader(json);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                while (reader.Read())
                {
                }

                return (null, null, null);
            }

            ChatMessage? message = null;
            string? model = null;
            UsageDetails? usage = null;
            var messageRead = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("choices"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.StartArray)
                    {
                        // Only choice 0 counts; a later "choices" property replaces an earlier one, as in a DOM.
                        message = null;
                        messageRead = false;
                        if (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                        {
                            messageRead = true;
                            message = ReadChoiceMessage(json, ref reader);
                            while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                            {
                                reader.Skip();
                            }
                        }

                        continue;
                    }

                    message = null;
                    messageRead = false;
                }
                else if (reader.ValueTextEquals("model"u8))
                {
                    reader.Read();
                    model = reader.TokenType == JsonTokenType.String ? Intern(ref reader) : null;
                }
                else if (reader.ValueTextEquals("usage"u8))
                {
                    reader.Read();
                    usage = ReadUsage(ref reader);
                    continue;
                }
                else
                {
                    reader.Read();
                }

                reader.Skip();
            }

            // The rest (whitespace only) must still be valid, as a DOM parse of the whole body requires.
            while (reader.Read())
            {
            }

            return (messageRead ? message : null, model, usage);
        }
        catch (JsonException)
        {
            return (null, null, null);
        }
    }

    /// <summary>
    /// At the start of a <c>usage</c> value: the token counts of an object (<c>prompt_tokens</c>, <c>completion_tokens</c>,
    /// <c>total_tokens</c>, the cached and reasoning details), null for anything else; leaves the reader on the value's end.
    /// </summary>
    public static UsageDetails? ReadUsage(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        var usage = new UsageDetails();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("prompt_tokens"u8))
            {
                reader.Read();
                usage.InputTokenCount = LongOf(ref reader);
            }
            else if (reader.ValueTextEquals("completion_tokens"u8))
            {
                reader.Read();
                usage.OutputTokenCount = LongOf(ref reader);
            }
            else if (reader.ValueTextEquals("total_tokens"u8))
            {
                reader.Read();
                usage.TotalTokenCount = LongOf(ref reader);
            }
            else if (reader.ValueTextEquals("prompt_tokens_details"u8))
            {
                reader.Read();
                usage.CachedInputTokenCount = NestedLong(ref reader, "cached_tokens"u8);
            }
            else if (reader.ValueTextEquals("completion_tokens_details"u8))
            {
                reader.Read();
                usage.ReasoningTokenCount = NestedLong(ref reader, "reasoning_tokens"u8);
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return usage;
    }

    /// <summary>The string at the reader, one shared instance per distinct short value (tool names, model names).</summary>
    public static string Intern(ref Utf8JsonReader reader)
    {
        if (reader.ValueIsEscaped || reader.HasValueSequence || reader.ValueSpan.Length > MaxInternedLength)
        {
            return reader.GetString()!;
        }

        Span<char> chars = stackalloc char[MaxInternedLength];
        if (System.Text.Unicode.Utf8.ToUtf16(reader.ValueSpan, chars, out _, out var written, replaceInvalidSequences: false) != System.Buffers.OperationStatus.Done)
        {
            return reader.GetString()!;
        }

        var text = chars[..written];
        if (NamesBySpan.TryGetValue(text, out var known))
        {
            return known;
        }

        var created = text.ToString();
        return Names.Count < MaxNames ? Names.GetOrAdd(created, created) : created;
    }

    /// <summary>At the first entry of <c>choices</c>: its <c>message</c> when it is a readable one; leaves the reader on the entry's end.</summary>
    private static ChatMessage? ReadChoiceMessage(ReadOnlySpan<byte> json, ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        ChatMessage? message = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isMessage = reader.ValueTextEquals("message"u8);
            reader.Read();
            if (!isMessage)
            {
                reader.Skip();
                continue;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                message = null;
                reader.Skip();
                continue;
            }

            try
            {
                message = ReadMessage(json, ref reader, new MessagePath("choices[0].message", -1));
            }
            catch (ChatRequestException)
            {
                // An answer capture cannot read is recorded without its message; the reader is past it already.
                message = null;
            }
        }

        return message;
    }

    /// <summary>
    /// One message at the reader's current token (an entry of an array over <paramref name="json"/>): system/developer,
    /// user, assistant (text and tool calls) or tool (a result); leaves the reader on the entry's last token. Throws
    /// <see cref="ChatRequestException"/> naming the path at fault only after the whole entry has been read past.
    /// </summary>
    private static ChatMessage ReadMessage(ReadOnlySpan<byte> json, ref Utf8JsonReader reader, MessagePath path)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            throw new ChatRequestException(path.ToString(), $"{path} must be an object.");
        }

        var roleKind = RoleKind.None;
        var role = default(ChatRole);
        var contentKind = JsonTokenType.None;
        string? text = null;
        string? toolCallId = null;
        string? name = null;
        var toolCallsStart = -1;
        var toolCallsEnd = -1;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("role"u8))
            {
                reader.Read();
                (roleKind, role) = reader.TokenType == JsonTokenType.String ? RoleOf(ref reader) : (RoleKind.None, default);
            }
            else if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                contentKind = reader.TokenType;
                text = contentKind switch
                {
                    JsonTokenType.String => reader.GetString(),
                    JsonTokenType.StartArray => ReadContentParts(ref reader),
                    _ => null,
                };
            }
            else if (reader.ValueTextEquals("tool_call_id"u8))
            {
                reader.Read();
                toolCallId = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                name = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                toolCallsStart = toolCallsEnd = -1;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    toolCallsStart = checked((int)reader.TokenStartIndex);
                    reader.Skip();
                    toolCallsEnd = checked((int)reader.TokenStartIndex) + 1;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        if (roleKind == RoleKind.None)
        {
            throw new ChatRequestException($"{path}.role", $"{path}.role must be a string (system, developer, user, assistant or tool).");
        }

        if (contentKind is not (JsonTokenType.None or JsonTokenType.String or JsonTokenType.Null or JsonTokenType.StartArray))
        {
            throw new ChatRequestException($"{path}.content", $"{path}.content must be a string, null or an array of content parts.");
        }

        switch (roleKind)
        {
            case RoleKind.Tool:
                return new ChatMessage(ChatRole.Tool, [new FunctionResultContent(toolCallId ?? name ?? "", text ?? "")]);
            case RoleKind.System or RoleKind.User or RoleKind.Other:
                // Roles the proxy does not know still travel upstream; capture keeps their text.
                return new ChatMessage(role, text);
        }

        var contents = new List<AIContent>();
        if (!string.IsNullOrEmpty(text))
        {
            contents.Add(new TextContent(text));
        }

        if (toolCallsStart >= 0)
        {
            ReadToolCalls(json[toolCallsStart..toolCallsEnd], contents, path);
        }

        return new ChatMessage(ChatRole.Assistant, contents);
    }

    /// <summary>What the proxy does with a role: the wire's names, matched exactly (an unknown role keeps its text).</summary>
    private enum RoleKind
    {
        None,
        System,
        User,
        Assistant,
        Tool,
        Other,
    }

    /// <summary>The role's kind and value (<c>developer</c> reads as system, <c>function</c> as tool; names match case-sensitively).</summary>
    private static (RoleKind Kind, ChatRole Role) RoleOf(ref Utf8JsonReader reader)
    {
        if (!reader.ValueIsEscaped)
        {
            var value = reader.ValueSpan;
            if (value.SequenceEqual("user"u8))
            {
                return (RoleKind.User, ChatRole.User);
            }

            if (value.SequenceEqual("assistant"u8))
            {
                return (RoleKind.Assistant, ChatRole.Assistant);
            }

            if (value.SequenceEqual("system"u8) || value.SequenceEqual("developer"u8))
            {
                return (RoleKind.System, ChatRole.System);
            }

            if (value.SequenceEqual("tool"u8) || value.SequenceEqual("function"u8))
            {
                return (RoleKind.Tool, ChatRole.Tool);
            }
        }

        return reader.GetString() switch
        {
            "user" => (RoleKind.User, ChatRole.User),
            "assistant" => (RoleKind.Assistant, ChatRole.Assistant),
            "system" or "developer" => (RoleKind.System, ChatRole.System),
            "tool" or "function" => (RoleKind.Tool, ChatRole.Tool),
            var other => (RoleKind.Other, new ChatRole(other!)),
        };
    }

    /// <summary>At the <c>[</c> of a content array: its text parts (objects' <c>text</c> and bare strings) joined; leaves the reader on the <c>]</c>.</summary>
    private static string ReadContentParts(ref Utf8JsonReader reader)
    {
        string? single = null;
        StringBuilder? builder = null;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            string? part = null;
            if (reader.TokenType == JsonTokenType.String)
            {
                part = reader.GetString();
            }
            else if (reader.TokenType == JsonTokenType.StartObject)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    var isText = reader.ValueTextEquals("text"u8);
                    reader.Read();
                    if (isText)
                    {
                        part = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }

                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }

            if (part is null)
            {
                continue;
            }

            if (single is null && builder is null)
            {
                single = part;
            }
            else
            {
                (builder ??= new StringBuilder(single)).Append(part);
                single = null;
            }
        }

        return builder?.ToString() ?? single ?? "";
    }

    /// <summary>The bytes of an assistant message's <c>tool_calls</c> array: each entry a function or custom tool call.</summary>
    private static void ReadToolCalls(ReadOnlySpan<byte> array, List<AIContent> contents, MessagePath path)
    {
        var reader = new Utf8JsonReader(array);
        reader.Read();
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            contents.Add(ReadToolCall(ref reader, path, index++));
        }
    }

    /// <summary>
    /// One entry of <c>tool_calls</c>: a function call (<c>{"type":"function","function":{"name","arguments"}}</c>) or a
    /// custom tool call (<c>{"type":"custom","custom":{"name","input"}}</c>, whose free-text input is recorded as the
    /// argument <c>input</c>). Other types are recorded under their type's name.
    /// </summary>
    private static FunctionCallContent ReadToolCall(ref Utf8JsonReader reader, MessagePath path, int index)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            throw new ChatRequestException($"{path}.tool_calls[{index}]", $"{path}.tool_calls[{index}] must be an object (a function or custom tool call).");
        }

        string? id = null;
        string? type = null;
        (bool Present, string? Name, string? Value) function = default;
        (bool Present, string? Name, string? Value) custom = default;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("type"u8))
            {
                reader.Read();
                type = reader.TokenType == JsonTokenType.String ? Intern(ref reader) : null;
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                reader.Read();
                function = ReadCallBody(ref reader, "arguments"u8);
            }
            else if (reader.ValueTextEquals("custom"u8))
            {
                reader.Read();
                custom = ReadCallBody(ref reader, "input"u8);
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        if (function.Present && type is null or "function")
        {
            return OpenAiChatFormat.ToolCall(id ?? "", function.Name ?? "", function.Value ?? "{}");
        }

        if (custom.Present && type is null or "custom")
        {
            return OpenAiChatFormat.CustomToolCall(id ?? "", custom.Name ?? "", custom.Value ?? "");
        }

        if (type is null or "function" or "custom")
        {
            throw new ChatRequestException($"{path}.tool_calls[{index}]", $"{path}.tool_calls[{index}] must have a 'function' object (type function) or a 'custom' object (type custom).");
        }

        return new FunctionCallContent(id ?? "", type, new Dictionary<string, object?>(StringComparer.Ordinal));
    }

    /// <summary>
    /// At a tool call's <c>function</c> or <c>custom</c> value (whole, or a streamed fragment of it): whether it is an
    /// object, its string <c>name</c> and its string <paramref name="valueName"/>; the caller skips a value that is not one.
    /// </summary>
    public static (bool Present, string? Name, string? Value) ReadCallBody(ref Utf8JsonReader reader, ReadOnlySpan<byte> valueName)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            return default;
        }

        string? name = null;
        string? value = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isName = reader.ValueTextEquals("name"u8);
            var isValue = !isName && reader.ValueTextEquals(valueName);
            reader.Read();
            if (isName)
            {
                name = reader.TokenType == JsonTokenType.String ? Intern(ref reader) : null;
            }
            else if (isValue)
            {
                value = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }

            reader.Skip();
        }

        return (true, name, value);
    }

    private static long? LongOf(ref Utf8JsonReader reader)
        => reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var value) ? value : null;

    /// <summary>At a value: the integer under <paramref name="name"/> when it is an object that has one; leaves the reader on the value's end.</summary>
    private static long? NestedLong(ref Utf8JsonReader reader, ReadOnlySpan<byte> name)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        long? result = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isName = reader.ValueTextEquals(name);
            reader.Read();
            if (isName)
            {
                result = LongOf(ref reader);
            }

            reader.Skip();
        }

        return result;
    }

    /// <summary>Where a message sits, for error messages (<c>messages[2]</c>, <c>choices[0].message</c>): formatted only when an error names it.</summary>
    private readonly record struct MessagePath(string Prefix, int Index)
    {
        public override string ToString() => Index < 0 ? Prefix : $"{Prefix}[{Index}]";
    }
}
