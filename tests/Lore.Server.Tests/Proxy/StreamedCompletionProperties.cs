using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Lore.Server.Proxy;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// The streamed answer's one-pass reader against the DOM reading it replaced: for any stream of server-sent events
/// (choices of other indexes, tool-call fragments in any order, fields of the wrong type, malformed data, comments,
/// CRLF line ends) split into network reads anywhere, the rebuilt message, model, usage, finish reason, end marker and
/// count of malformed events are the DOM's.
/// </summary>
public sealed class StreamedCompletionProperties
{
    private static readonly Gen<string> Text = Gen.String[Gen.OneOf(Gen.Char.AlphaNumeric, Gen.OneOf(Gen.Const(' '), Gen.Const('é'), Gen.Const('漢'), Gen.Const('"'), Gen.Const('\\'), Gen.Const('\n'), Gen.Const('{'), Gen.Const('ß'))), 0, 10];

    /// <summary>Marks a field left out (absent and null are different: a dropped field tests the reader's defaults).</summary>
    private static readonly JsonNode Absent = JsonValue.Create("absent");

    /// <summary>A value of the expected kind most of the time, otherwise absent, null, a number or an object.</summary>
    private static Gen<JsonNode?> Mostly(Gen<JsonNode?> expected) => Gen.Frequency(
        (6, expected),
        (1, Gen.Const((JsonNode?)Absent)),
        (1, Gen.Const((JsonNode?)null)),
        (1, Gen.Int[-1, 3].Select(i => (JsonNode?)JsonValue.Create(i))),
        (1, Gen.Const((JsonNode?)new JsonObject { ["x"] = 1 })));

    private static readonly Gen<JsonNode?> String = Mostly(Text.Select(t => (JsonNode?)JsonValue.Create(t)));

    private static readonly Gen<JsonNode?> Index = Gen.Frequency(
        (1, Gen.Const((JsonNode?)Absent)),
        (1, Gen.Const((JsonNode?)null)),
        (4, Gen.Int[0, 2].Select(i => (JsonNode?)JsonValue.Create(i))),
        (1, Gen.Const((JsonNode?)JsonValue.Create(1.5))),
        (1, Gen.Const((JsonNode?)JsonValue.Create("0"))),
        (1, Gen.Const((JsonNode?)JsonValue.Create(5_000_000_000L))));

    private static readonly Gen<JsonNode?> CallBody =
        from name in String
        from fragment in String
        select (JsonNode?)Fields(("name", name), ("fragment", fragment));

    private static readonly Gen<JsonNode?> ToolCall =
        from index in Index
        from id in String
        from custom in Gen.Bool
        from body in Mostly(CallBody)
        from indexLast in Gen.Bool
        select (JsonNode?)Rename(Fields(indexLast
            ? [("id", id), (custom ? "custom" : "function", body), ("index", index)]
            : [("index", index), ("id", id), (custom ? "custom" : "function", body)]), custom ? "input" : "arguments");

    private static readonly Gen<JsonNode?> Delta =
        from content in String
        from calls in Mostly(ToolCall.Array[0, 3].Select(c => (JsonNode?)new JsonArray(c)))
        select (JsonNode?)Fields(("content", content), ("tool_calls", calls));

    private static readonly Gen<JsonNode?> Choice =
        from index in Index
        from finish in String
        from delta in Mostly(Delta)
        from indexLast in Gen.Bool
        select (JsonNode?)Fields(indexLast
            ? [("finish_reason", finish), ("delta", delta), ("index", index)]
            : [("index", index), ("finish_reason", finish), ("delta", delta)]);

    private static readonly Gen<JsonNode?> Usage =
        from prompt in Gen.Long[0, 1_000_000]
        from completion in Gen.Long[0, 1_000_000]
        from cached in Gen.Long[0, 1000].Nullable()
        select (JsonNode?)new JsonObject
        {
            ["prompt_tokens"] = prompt,
            ["completion_tokens"] = completion,
            ["total_tokens"] = prompt + completion,
            ["prompt_tokens_details"] = cached is { } c ? new JsonObject { ["cached_tokens"] = c } : null,
        };

    private static readonly Gen<string> Chunk =
        from model in String
        from usage in Mostly(Usage)
        from choices in Mostly(Choice.Array[0, 3].Select(c => (JsonNode?)new JsonArray(c)))
        select Fields(("id", JsonValue.Create("chatcmpl-1")), ("model", model), ("choices", choices), ("usage", usage)).ToJsonString();

    /// <summary>One event's line: a chunk most of the time, else the end marker, malformed data, a comment or another field.</summary>
    private static readonly Gen<string> Line = Gen.Frequency(
        (12, from chunk in Chunk from space in Gen.Bool select (space ? "data: " : "data:") + chunk),
        (1, Gen.Const("data: [DONE]")),
        (1, Gen.OneOf(Gen.Const("data: {\"choices\":[{\"delta\":{\"content\":\"cut"), Gen.Const("data: [1,2]"), Gen.Const("data: null"), Gen.Const("data: "),
            Gen.Const("data: {\"model\":\"m\"} trailing"), Gen.Const("data: \"text\""))),
        (1, Gen.OneOf(Gen.Const(": keep-alive"), Gen.Const("event: message"), Gen.Const("id: 7"), Gen.Const(""))));

    private static readonly Gen<(byte[] Stream, int[] Cuts)> Stream =
        from lines in Line.Array[0, 12]
        from crlf in Gen.Bool
        from endWithNewline in Gen.Bool
        let text = string.Concat(lines.Select(l => l + (crlf ? "\r\n\r\n" : "\n\n")))
        let bytes = Encoding.UTF8.GetBytes(endWithNewline || text.Length < 2 ? text : text.TrimEnd('\r', '\n'))
        from cuts in Gen.Int[0, Math.Max(0, bytes.Length)].Array[0, 8]
        select (bytes, cuts);

    [Fact]
    public void The_one_pass_reader_rebuilds_what_the_DOM_rebuilt_from_any_stream_split_anywhere()
    {
        Stream.Sample(sample =>
        {
            var reader = new StreamedCompletion();
            var oracle = new DomStreamedCompletionOracle();
            var start = 0;
            foreach (var cut in sample.Cuts.Append(sample.Stream.Length).Order())
            {
                reader.Feed(sample.Stream.AsSpan(start, cut - start));
                oracle.Feed(sample.Stream.AsSpan(start, cut - start));
                start = cut;
            }

            reader.Complete();
            oracle.Complete();
            var stream = Encoding.UTF8.GetString(sample.Stream);
            Assert.True(oracle.Model == reader.Model, $"model: {oracle.Model} vs {reader.Model}\n{stream}");
            Assert.True(oracle.FinishReason == reader.FinishReason, $"finish: {oracle.FinishReason} vs {reader.FinishReason}\n{stream}");
            Assert.True(oracle.Done == reader.Done, stream);
            Assert.True(oracle.MalformedEvents == reader.MalformedEvents, $"malformed: {oracle.MalformedEvents} vs {reader.MalformedEvents}\n{stream}");
            Assert.True(Describe(oracle.Usage) == Describe(reader.Usage), $"usage: {Describe(oracle.Usage)} vs {Describe(reader.Usage)}\n{stream}");
            Assert.True(Describe(oracle.ToMessage()) == Describe(reader.ToMessage()), $"{Describe(oracle.ToMessage())}\nvs\n{Describe(reader.ToMessage())}\n{stream}");
        }, iter: 2000);
    }

    [Fact]
    public void A_tool_call_streamed_in_fragments_is_rebuilt_whole()
    {
        var reader = new StreamedCompletion();
        reader.Feed("""
            data: {"model":"gpt-x","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_1","type":"function","function":{"name":"lookup","arguments":""}}]}}]}

            data: {"choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"function":{"arguments":"{\"order\":"}}]}}]}

            data: {"choices":[{"index":1,"delta":{"content":"another choice"}},{"delta":{"tool_calls":[{"function":{"arguments":"42}"},"index":0}]},"index":0}]}

            data: {"choices":[{"index":0,"delta":{},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":9,"completion_tokens":4,"total_tokens":13}}

            data: [DONE]

            """u8);

        var message = reader.ToMessage()!;
        var call = Assert.IsType<FunctionCallContent>(Assert.Single(message.Contents));
        Assert.Equal(("call_1", "lookup"), (call.CallId, call.Name));
        Assert.Equal("42", call.Arguments!["order"]!.ToString());
        Assert.Equal(("gpt-x", "tool_calls", true, 0), (reader.Model, reader.FinishReason, reader.Done, reader.MalformedEvents));
        Assert.Equal((9L, 4L, 13L), (reader.Usage!.InputTokenCount, reader.Usage.OutputTokenCount, reader.Usage.TotalTokenCount));
    }

    private static JsonObject Fields(params (string Name, JsonNode? Value)[] fields)
    {
        var json = new JsonObject();
        foreach (var (name, value) in fields)
        {
            if (!ReferenceEquals(value, Absent))
            {
                json[name] = value?.DeepClone();
            }
        }

        return json;
    }

    /// <summary>A call body's fragment under the name its kind uses (<c>arguments</c> of a function, <c>input</c> of a custom tool).</summary>
    private static JsonObject Rename(JsonObject call, string fragmentName)
    {
        foreach (var kind in (string[])["function", "custom"])
        {
            if (call[kind] is JsonObject body && body.Remove("fragment", out var fragment))
            {
                body[fragmentName] = fragment;
            }
        }

        return call;
    }

    private static string Describe(UsageDetails? usage)
        => usage is null ? "none" : $"{usage.InputTokenCount}/{usage.OutputTokenCount}/{usage.TotalTokenCount}/{usage.CachedInputTokenCount}/{usage.ReasoningTokenCount}";

    private static string Describe(ChatMessage? message)
        => message is null ? "none" : message.Role + ": " + string.Join(" | ", message.Contents.Select(c => c switch
        {
            TextContent t => "text " + t.Text,
            FunctionCallContent f => $"call {f.CallId} {f.Name} " + string.Join(",", (f.Arguments ?? new Dictionary<string, object?>()).Select(a => $"{a.Key}={a.Value}")),
            _ => c.GetType().Name,
        }));
}
