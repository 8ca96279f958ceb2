using System.Buffers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;

namespace Lore.Server.Proxy;

/// <summary>
/// Rebuilds the assistant message of a streamed completion from the server-sent events relayed to the caller: the
/// bytes are fed as they arrive (split anywhere), each <c>data:</c> line is parsed once complete, and the content and
/// tool-call deltas of choice 0 are joined (tool calls by their <c>index</c>, arguments concatenated). The relay never
/// waits on this; it only reads copies of what was already sent.
/// </summary>
internal sealed class StreamedCompletion
{
    private readonly ArrayBufferWriter<byte> _line = new(512);
    private readonly StringBuilder _content = new();
    private readonly SortedDictionary<int, ToolCallParts> _calls = [];

    public string? Model { get; private set; }

    public UsageDetails? Usage { get; private set; }

    public string? FinishReason { get; private set; }

    /// <summary>True once the <c>[DONE]</c> sentinel has been seen.</summary>
    public bool Done { get; private set; }

    /// <summary>Events whose data was not JSON (counted, not fatal: the caller got them as they were).</summary>
    public int MalformedEvents { get; private set; }

    public void Feed(ReadOnlySpan<byte> bytes)
    {
        while (!bytes.IsEmpty)
        {
            var newline = bytes.IndexOf((byte)'\n');
            if (newline < 0)
            {
                _line.Write(bytes);
                return;
            }

            _line.Write(bytes[..newline]);
            ProcessLine();
            _line.ResetWrittenCount();
            bytes = bytes[(newline + 1)..];
        }
    }

    /// <summary>Processes a last line that had no newline (a stream cut short).</summary>
    public void Complete()
    {
        if (_line.WrittenCount > 0)
        {
            ProcessLine();
            _line.ResetWrittenCount();
        }
    }

    /// <summary>The assistant message accumulated so far (also for a stream stopped early), or null when nothing arrived.</summary>
    public ChatMessage? ToMessage()
    {
        if (_content.Length == 0 && _calls.Count == 0)
        {
            return null;
        }

        var contents = new List<AIContent>();
        if (_content.Length > 0)
        {
            contents.Add(new TextContent(_content.ToString()));
        }

        foreach (var call in _calls.Values)
        {
            contents.Add(call.Custom
                ? OpenAiChatFormat.CustomToolCall(call.Id ?? "", call.Name ?? "", call.Arguments.ToString())
                : OpenAiChatFormat.ToolCall(call.Id ?? "", call.Name ?? "", call.Arguments.ToString()));
        }

        return new ChatMessage(ChatRole.Assistant, contents);
    }

    private void ProcessLine()
    {
        var line = _line.WrittenSpan;
        if (line.Length > 0 && line[^1] == (byte)'\r')
        {
            line = line[..^1];
        }

        if (!line.StartsWith("data:"u8))
        {
            return;
        }

        var data = line["data:".Length..];
        if (data.Length > 0 && data[0] == (byte)' ')
        {
            data = data[1..];
        }

        if (data.SequenceEqual("[DONE]"u8))
        {
            Done = true;
            return;
        }

        // One pass over the chunk with a reader (no DOM): a chunk is read whole before any of it counts, so a chunk
        // that is not one valid JSON object changes nothing but the count of malformed events.
        var chunk = new Chunk();
        try
        {
            var reader = new Utf8JsonReader(data);
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                MalformedEvents++;
                return;
            }

            ReadChunk(ref reader, ref chunk);
            while (reader.Read())
            {
                // Only whitespace may follow the object; anything else throws, as a DOM parse of the whole data would.
            }
        }
        catch (JsonException)
        {
            MalformedEvents++;
            return;
        }

        Model ??= chunk.Model;
        if (chunk.Usage is { } usage)
        {
            Usage = usage;
        }

        foreach (var choice in chunk.Choices ?? [])
        {
            FinishReason = choice.FinishReason ?? FinishReason;
            if (choice.Content is { } text)
            {
                _content.Append(text);
            }

            foreach (var call in choice.ToolCalls ?? [])
            {
                AddToolCallDelta(call);
            }
        }
    }

    /// <summary>At a chunk's opening brace: its model, usage and the deltas of choice 0, the last of a repeated property winning, as in a DOM.</summary>
    private static void ReadChunk(ref Utf8JsonReader reader, ref Chunk chunk)
    {
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("model"u8))
            {
                reader.Read();
                chunk.Model = reader.TokenType == JsonTokenType.String ? ChatMessageReader.Intern(ref reader) : null;
            }
            else if (reader.ValueTextEquals("usage"u8))
            {
                reader.Read();
                chunk.Usage = ChatMessageReader.ReadUsage(ref reader);
                continue;
            }
            else if (reader.ValueTextEquals("choices"u8))
            {
                reader.Read();
                chunk.Choices = null;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (ReadChoice(ref reader) is { } choice)
                        {
                            (chunk.Choices ??= []).Add(choice);
                        }
                    }

                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }
    }

    /// <summary>At an entry of <c>choices</c>: its delta when it is an object of choice 0 (or of no index), else null; leaves the reader on the entry's end.</summary>
    private static ChoiceDelta? ReadChoice(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        int? index = null;
        string? finishReason = null;
        string? content = null;
        List<ToolCallDelta>? calls = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                index = IntOf(ref reader);
            }
            else if (reader.ValueTextEquals("finish_reason"u8))
            {
                reader.Read();
                finishReason = reader.TokenType == JsonTokenType.String ? ChatMessageReader.Intern(ref reader) : null;
            }
            else if (reader.ValueTextEquals("delta"u8))
            {
                reader.Read();
                content = null;
                calls = null;
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    ReadDelta(ref reader, out content, out calls);
                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return index is { } i && i != 0 ? null : new ChoiceDelta(finishReason, content, calls);
    }

    /// <summary>At a delta's opening brace: its text and tool-call fragments; leaves the reader on its closing brace.</summary>
    private static void ReadDelta(ref Utf8JsonReader reader, out string? content, out List<ToolCallDelta>? calls)
    {
        content = null;
        calls = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("content"u8))
            {
                reader.Read();
                content = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("tool_calls"u8))
            {
                reader.Read();
                calls = null;
                if (reader.TokenType == JsonTokenType.StartArray)
                {
                    calls = [];
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        if (ReadToolCallDelta(ref reader) is { } call)
                        {
                            calls.Add(call);
                        }
                    }

                    continue;
                }
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }
    }

    /// <summary>At an entry of <c>tool_calls</c>: its fragment when it is an object, else null; leaves the reader on the entry's end.</summary>
    private static ToolCallDelta? ReadToolCallDelta(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            reader.Skip();
            return null;
        }

        var call = new ToolCallDelta();
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("index"u8))
            {
                reader.Read();
                call.Index = IntOf(ref reader);
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                call.Id = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("custom"u8))
            {
                reader.Read();
                call.Custom = ChatMessageReader.ReadCallBody(ref reader, "input"u8);
            }
            else if (reader.ValueTextEquals("function"u8))
            {
                reader.Read();
                call.Function = ChatMessageReader.ReadCallBody(ref reader, "arguments"u8);
            }
            else
            {
                reader.Read();
            }

            reader.Skip();
        }

        return call;
    }

    /// <summary>An index as a DOM reads one: a JSON number that is a 32-bit integer, else none.</summary>
    private static int? IntOf(ref Utf8JsonReader reader)
        => reader.TokenType == JsonTokenType.Number && reader.TryGetInt32(out var value) ? value : null;

    private void AddToolCallDelta(ToolCallDelta call)
    {
        var index = call.Index ?? _calls.Count;
        if (!_calls.TryGetValue(index, out var parts))
        {
            _calls[index] = parts = new ToolCallParts();
        }

        parts.Id ??= call.Id;
        if (call.Custom is { Present: true } custom)
        {
            parts.Custom = true;
            parts.Name ??= custom.Name;
            if (custom.Value is { } input)
            {
                parts.Arguments.Append(input);
            }
        }
        else if (call.Function is { Present: true } function)
        {
            parts.Name ??= function.Name;
            if (function.Value is { } fragment)
            {
                parts.Arguments.Append(fragment);
            }
        }
    }

    /// <summary>What one chunk says, applied only once the whole chunk has been read.</summary>
    private struct Chunk
    {
        public string? Model;
        public UsageDetails? Usage;
        public List<ChoiceDelta>? Choices;
    }

    private sealed record ChoiceDelta(string? FinishReason, string? Content, List<ToolCallDelta>? ToolCalls);

    private sealed class ToolCallDelta
    {
        public int? Index { get; set; }

        public string? Id { get; set; }

        public (bool Present, string? Name, string? Value) Custom { get; set; }

        public (bool Present, string? Name, string? Value) Function { get; set; }
    }

    private sealed class ToolCallParts
    {
        public string? Id { get; set; }

        public string? Name { get; set; }

        /// <summary>A custom tool call: its fragments are free-text input, not JSON arguments.</summary>
        public bool Custom { get; set; }

        public StringBuilder Arguments { get; } = new();
    }
}
