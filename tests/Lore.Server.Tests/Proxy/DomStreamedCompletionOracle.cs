using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Server.Proxy;
using Microsoft.Extensions.AI;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// The DOM reading of a streamed completion (one <c>JsonNode</c> per chunk) that <see cref="StreamedCompletion"/> used
/// before its one-pass reader: kept here only as the oracle the property tests compare it with.
/// </summary>
internal sealed class DomStreamedCompletionOracle
{
    private readonly List<byte> _line = new(512);
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
                foreach (var b in bytes)
                {
                    _line.Add(b);
                }

                return;
            }

            foreach (var b in bytes[..newline])
            {
                _line.Add(b);
            }

            ProcessLine();
            _line.Clear();
            bytes = bytes[(newline + 1)..];
        }
    }

    /// <summary>Processes a last line that had no newline (a stream cut short).</summary>
    public void Complete()
    {
        if (_line.Count > 0)
        {
            ProcessLine();
            _line.Clear();
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
        var line = System.Runtime.InteropServices.CollectionsMarshal.AsSpan(_line);
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

        JsonNode? chunk;
        try
        {
            chunk = JsonNode.Parse(data);
        }
        catch (JsonException)
        {
            MalformedEvents++;
            return;
        }

        if (chunk is not JsonObject o)
        {
            MalformedEvents++;
            return;
        }

        Model ??= OpenAiChatFormat.StringOf(o["model"]);
        if (OpenAiChatFormat.ReadUsage(o["usage"]) is { } usage)
        {
            Usage = usage;
        }

        if (o["choices"] is not JsonArray choices)
        {
            return;
        }

        foreach (var choice in choices)
        {
            if (choice is not JsonObject c || (c["index"] is JsonValue index && index.TryGetValue<int>(out var i) && i != 0))
            {
                continue;
            }

            FinishReason = OpenAiChatFormat.StringOf(c["finish_reason"]) ?? FinishReason;
            if (c["delta"] is not JsonObject delta)
            {
                continue;
            }

            if (OpenAiChatFormat.StringOf(delta["content"]) is { } text)
            {
                _content.Append(text);
            }

            if (delta["tool_calls"] is JsonArray calls)
            {
                foreach (var call in calls)
                {
                    AddToolCallDelta(call);
                }
            }
        }
    }

    private void AddToolCallDelta(JsonNode? node)
    {
        if (node is not JsonObject call)
        {
            return;
        }

        var index = call["index"] is JsonValue v && v.TryGetValue<int>(out var i) ? i : _calls.Count;
        if (!_calls.TryGetValue(index, out var parts))
        {
            _calls[index] = parts = new ToolCallParts();
        }

        parts.Id ??= OpenAiChatFormat.StringOf(call["id"]);
        if (call["custom"] is JsonObject custom)
        {
            parts.Custom = true;
            parts.Name ??= OpenAiChatFormat.StringOf(custom["name"]);
            if (OpenAiChatFormat.StringOf(custom["input"]) is { } input)
            {
                parts.Arguments.Append(input);
            }
        }
        else if (call["function"] is JsonObject function)
        {
            parts.Name ??= OpenAiChatFormat.StringOf(function["name"]);
            if (OpenAiChatFormat.StringOf(function["arguments"]) is { } fragment)
            {
                parts.Arguments.Append(fragment);
            }
        }
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
