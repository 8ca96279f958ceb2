using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using CsCheck;
using Lore.Server.Proxy;
using Xunit;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// The proxy's one-pass body reader against the DOM it replaced: for any request, the spliced upstream body is the
/// request with the lessons' message inserted after the leading system messages (everything else byte for byte), the
/// fields read are the DOM's, and a body the DOM reader refuses is refused naming the same field.
/// </summary>
public sealed class ChatRequestBodyProperties
{
    private static readonly Gen<string> Text = Gen.String[Gen.OneOf(Gen.Char.AlphaNumeric, Gen.OneOf(Gen.Const(' '), Gen.Const('é'), Gen.Const('漢'), Gen.Const('"'), Gen.Const('\\'), Gen.Const('\n'), Gen.Const('<'))), 0, 12];

    private static readonly Gen<string> Role = Gen.OneOf(Gen.Const("system"), Gen.Const("developer"), Gen.Const("user"), Gen.Const("assistant"), Gen.Const("tool"), Gen.Const("SYSTEM"));

    private static readonly Gen<JsonNode> Message =
        from role in Role
        from content in Gen.OneOf(Text.Select(t => (JsonNode?)JsonValue.Create(t)), Gen.Const((JsonNode?)null), Text.Array[0, 3].Select(parts => (JsonNode?)new JsonArray([.. parts.Select(p => (JsonNode)new JsonObject { ["type"] = "text", ["text"] = p })])))
        from extra in Gen.Bool
        select (JsonNode)new JsonObject
        {
            ["role"] = role,
            ["content"] = content,
            ["name"] = extra ? "x" : null,
        };

    private static readonly Gen<JsonObject> Request =
        from messages in Message.Array[1, 6]
        from tools in Gen.OneOf(Gen.Const((string[]?)null), Text.Where(t => t.Length > 0).Array[0, 4])
        from custom in Gen.Bool
        from user in Gen.OneOf(Gen.Const((string?)null), Text)
        from stream in Gen.OneOf(Gen.Const((bool?)null), Gen.Bool.Select(b => (bool?)b))
        select Build(messages, tools, custom, user, stream);

    [Fact]
    public void The_spliced_body_is_the_request_with_the_lessons_message_after_the_leading_system_messages()
    {
        Gen.Select(Request, Text.Where(t => t.Length > 0), Gen.Bool).Sample((request, lessons, indented) =>
        {
            var text = request.ToJsonString(new JsonSerializerOptions { WriteIndented = indented });
            using var body = ChatRequestBody.Parse(Encoding.UTF8.GetBytes(text));
            var escaped = JsonEncodedText.Encode(lessons).EncodedUtf8Bytes.ToArray();
            var spliced = JsonNode.Parse(Read(body.WithLessonsMessage(escaped)))!;

            var expected = (JsonObject)request.DeepClone();
            var messages = (JsonArray)expected["messages"]!;
            var position = 0;
            while (position < body.Messages.Count && body.Messages[position].Role == Microsoft.Extensions.AI.ChatRole.System)
            {
                position++;
            }

            messages.Insert(position, new JsonObject { ["role"] = "system", ["content"] = lessons });
            Assert.True(JsonNode.DeepEquals(expected, spliced), $"{text}\n=>\n{spliced.ToJsonString()}");
        });
    }

    [Fact]
    public void Without_lessons_the_body_goes_upstream_byte_for_byte()
    {
        Gen.Select(Request, Gen.Bool).Sample((request, indented) =>
        {
            var bytes = Encoding.UTF8.GetBytes(request.ToJsonString(new JsonSerializerOptions { WriteIndented = indented }));
            using var body = ChatRequestBody.Parse(bytes);
            Assert.Equal(bytes, Read(body.WithLessonsMessage(default)));
        });
    }

    [Fact]
    public void The_fields_read_are_the_ones_the_dom_reader_reads()
    {
        Request.Sample(request =>
        {
            using var body = ChatRequestBody.Parse(Encoding.UTF8.GetBytes(request.ToJsonString()));
            var messages = DomChatRequestOracle.ReadRequest(request);
            Assert.Equal(DomChatRequestOracle.ToolNames(request), body.ToolNames);
            Assert.Equal(OpenAiChatFormat.StringOf(request["user"]), body.User);
            Assert.Equal(OpenAiChatFormat.StringOf(request["model"]), body.Model);
            Assert.Equal(messages.Select(m => (m.Role, m.Text)), body.Messages.Select(m => (m.Role, m.Text)));
        });
    }

    private static readonly Gen<JsonNode?> ToolCall = Gen.Int[0, 6].SelectMany(kind => kind switch
    {
        0 => Gen.Const((JsonNode?)JsonValue.Create(3)),
        1 => from id in Text
             from name in Text
             from args in Gen.OneOf(Gen.Const("{\"order\":\"A-1\",\"n\":2}"), Gen.Const("not json"), Gen.Const("[1]"), Gen.Const(""), Text)
             from typed in Gen.Bool
             select (JsonNode?)new JsonObject { ["id"] = id, ["type"] = typed ? "function" : null, ["function"] = new JsonObject { ["name"] = name, ["arguments"] = args } },
        2 => from id in Text
             from name in Text
             from input in Text
             select (JsonNode?)new JsonObject { ["id"] = id, ["type"] = "custom", ["custom"] = new JsonObject { ["name"] = name, ["input"] = input } },
        3 => Gen.Const((JsonNode?)new JsonObject { ["id"] = "c9", ["type"] = "function" }),
        4 => Gen.Const((JsonNode?)new JsonObject { ["id"] = "c8", ["type"] = "mcp", ["mcp"] = new JsonObject { ["server"] = "s" } }),
        5 => Gen.Const((JsonNode?)new JsonObject { ["type"] = "custom", ["function"] = new JsonObject { ["name"] = "f" }, ["custom"] = new JsonObject { ["name"] = "c" } }),
        _ => Gen.Const((JsonNode?)new JsonObject { ["function"] = new JsonObject { ["name"] = 7, ["arguments"] = JsonValue.Create(false) }, ["id"] = 5 }),
    });

    private static readonly Gen<JsonNode> AnyMessage = Gen.Int[0, 9].SelectMany(kind => kind switch
    {
        0 => Gen.Const((JsonNode)JsonValue.Create("text")),
        1 => Gen.Const((JsonNode)new JsonObject { ["role"] = 4, ["content"] = "x" }),
        2 => Gen.Const((JsonNode)new JsonObject { ["role"] = "user", ["content"] = new JsonObject() }),
        3 => Gen.Const((JsonNode)new JsonObject { ["role"] = "user", ["content"] = new JsonArray(1, "a", new JsonObject { ["text"] = 2 }, new JsonObject { ["type"] = "text", ["text"] = "b" }, new JsonArray("c")) }),
        4 => from role in Gen.OneOf(Gen.Const("tool"), Gen.Const("function"), Gen.Const("TOOL"))
             from id in Gen.OneOf(Gen.Const((string?)null), Text.Select(t => (string?)t))
             from name in Gen.OneOf(Gen.Const((JsonNode?)null), Gen.Const((JsonNode?)"lookup"), Gen.Const((JsonNode?)JsonValue.Create(1)))
             from content in Gen.OneOf(Text.Select(t => (JsonNode?)JsonValue.Create(t)), Gen.Const((JsonNode?)null))
             select (JsonNode)new JsonObject { ["role"] = role, ["tool_call_id"] = id, ["name"] = name?.DeepClone(), ["content"] = content?.DeepClone() },
        5 => from role in Gen.OneOf(Gen.Const("assistant"), Gen.Const("Assistant"), Gen.Const("user"))
             from content in Gen.OneOf(Text.Select(t => (JsonNode?)JsonValue.Create(t)), Gen.Const((JsonNode?)null))
             from calls in ToolCall.Array[0, 3]
             from callsFirst in Gen.Bool
             select callsFirst
                 ? (JsonNode)new JsonObject { ["tool_calls"] = new JsonArray([.. calls.Select(c => c?.DeepClone())]), ["content"] = content?.DeepClone(), ["role"] = role }
                 : new JsonObject { ["role"] = role, ["content"] = content?.DeepClone(), ["tool_calls"] = new JsonArray([.. calls.Select(c => c?.DeepClone())]) },
        6 => Gen.Const((JsonNode)new JsonObject { ["role"] = "assistant", ["tool_calls"] = "none", ["content"] = "" }),
        7 => Gen.Const((JsonNode)new JsonObject { ["content"] = 5, ["role"] = "developer" }),
        _ => Message,
    });

    [Fact]
    public void Messages_read_from_the_bytes_are_the_dom_readers_messages_or_its_refusal()
    {
        AnyMessage.Array[1, 4].Sample(messages =>
        {
            // Generated constants are shared instances: each request gets its own copies.
            var request = new JsonObject { ["model"] = "m", ["messages"] = new JsonArray([.. messages.Select(m => m.DeepClone())]) };
            var text = request.ToJsonString();
            List<Microsoft.Extensions.AI.ChatMessage> expected;
            try
            {
                expected = DomChatRequestOracle.ReadRequest(JsonNode.Parse(text));
            }
            catch (ChatRequestException refusal)
            {
                var actual = Assert.Throws<ChatRequestException>(() => ChatRequestBody.Parse(Encoding.UTF8.GetBytes(text)).Dispose());
                Assert.Equal((refusal.Field, refusal.Message), (actual.Field, actual.Message));
                return;
            }

            using var body = ChatRequestBody.Parse(Encoding.UTF8.GetBytes(text));
            Assert.Equal(expected.Select(Describe), body.Messages.Select(Describe));
        });
    }

    [Fact]
    public void An_answer_read_from_the_bytes_is_the_dom_readers_answer()
    {
        var usage = Gen.OneOf(
            Gen.Const((JsonNode?)null),
            Gen.Const((JsonNode?)JsonValue.Create("n/a")),
            from prompt in Gen.Int[0, 5000]
            from completion in Gen.OneOf(Gen.Const((JsonNode?)JsonValue.Create(1.5)), Gen.Const((JsonNode?)JsonValue.Create(12)), Gen.Const((JsonNode?)null))
            from cached in Gen.Int[0, 100]
            select (JsonNode?)new JsonObject
            {
                ["prompt_tokens"] = prompt,
                ["completion_tokens"] = completion,
                ["total_tokens"] = prompt + 12,
                ["prompt_tokens_details"] = new JsonObject { ["cached_tokens"] = cached },
                ["completion_tokens_details"] = new JsonObject { ["reasoning_tokens"] = 3, ["other"] = new JsonArray(1) },
            });
        var answer =
            from message in Gen.OneOf(AnyMessage.Where(m => m is JsonObject).Select(m => (JsonNode?)m), Gen.Const((JsonNode?)null))
            from model in Gen.OneOf(Gen.Const((JsonNode?)null), Gen.Const((JsonNode?)"gpt-x"), Gen.Const((JsonNode?)JsonValue.Create(2)))
            from u in usage
            from choices in Gen.Int[0, 2]
            select new JsonObject
            {
                ["id"] = "chatcmpl-1",
                ["model"] = model?.DeepClone(),
                ["choices"] = choices == 0 ? new JsonArray() : new JsonArray([.. Enumerable.Range(0, choices).Select(i => (JsonNode)new JsonObject { ["index"] = i, ["message"] = message?.DeepClone(), ["finish_reason"] = "stop" })]),
                ["usage"] = u?.DeepClone(),
            };
        Gen.Select(answer, Gen.Bool).Sample((completion, broken) =>
        {
            var bytes = Encoding.UTF8.GetBytes(completion.ToJsonString() + (broken ? "}" : ""));
            var expected = DomChatRequestOracle.ReadCompletion(bytes);
            var actual = ChatMessageReader.ReadCompletion(bytes);
            Assert.Equal(expected.Message is null ? null : Describe(expected.Message), actual.Message is null ? null : Describe(actual.Message));
            Assert.Equal(expected.Model, actual.Model);
            Assert.Equal(Describe(expected.Usage), Describe(actual.Usage));
        });
    }

    [Fact]
    public void The_lessons_message_is_escaped_exactly_as_JsonEncodedText_escapes_it()
    {
        Gen.OneOf(Text, Gen.String[Gen.Char[' ', '\uD7FF'], 0, 300], Gen.String).Sample(value =>
        {
            byte[]? expected;
            try
            {
                expected = JsonEncodedText.Encode(value).EncodedUtf8Bytes.ToArray();
            }
            catch (ArgumentException)
            {
                expected = null; // invalid UTF-16 (a lone surrogate)
            }

            if (expected is null)
            {
                Assert.ThrowsAny<ArgumentException>(() => EscapedJsonString.Of(value).Dispose());
                return;
            }

            using var escaped = EscapedJsonString.Of(value);
            Assert.Equal(expected, escaped.Content.ToArray());
        });
    }

    [Theory]
    [InlineData("")]
    [InlineData("{")]
    [InlineData("[1,2]")]
    [InlineData("\"text\"")]
    [InlineData("""{"model":"m"}""")]
    [InlineData("""{"model":"m","messages":[]}""")]
    [InlineData("""{"model":"m","messages":{}}""")]
    [InlineData("""{"model":"m","messages":[42]}""")]
    [InlineData("""{"model":"m","messages":[{"content":"hi"}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":42}]}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"user":7}""")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}]} trailing""")]
    [InlineData("""{"messages":[{"role":"assistant","tool_calls":[{"type":"function"}]}]}""")]
    [InlineData("""{"stream":1,"user":2,"messages":3}""")]
    public void A_body_the_dom_reader_refuses_is_refused_naming_the_same_field(string text)
    {
        var expected = Assert.Throws<ChatRequestException>(() =>
        {
            JsonNode? node;
            try
            {
                node = JsonNode.Parse(text);
            }
            catch (JsonException e)
            {
                throw new ChatRequestException("$", e.Message);
            }

            DomChatRequestOracle.ReadRequest(node);
        });
        var actual = Assert.Throws<ChatRequestException>(() => ChatRequestBody.Parse(Encoding.UTF8.GetBytes(text)).Dispose());
        Assert.Equal(expected.Field, actual.Field);
    }

    /// <summary>Everything capture reads of a message: role, texts, tool calls (id, name, arguments as JSON) and results.</summary>
    private static string Describe(Microsoft.Extensions.AI.ChatMessage message)
        => message.Role.Value + ": " + string.Join(" | ", message.Contents.Select(c => c switch
        {
            Microsoft.Extensions.AI.TextContent t => "text " + t.Text,
            Microsoft.Extensions.AI.FunctionCallContent call => $"call {call.CallId} {call.Name} {JsonSerializer.Serialize(call.Arguments)}",
            Microsoft.Extensions.AI.FunctionResultContent result => $"result {result.CallId} {result.Result}",
            _ => c.GetType().Name,
        }));

    private static string? Describe(Microsoft.Extensions.AI.UsageDetails? usage)
        => usage is null ? null : $"{usage.InputTokenCount} {usage.OutputTokenCount} {usage.TotalTokenCount} {usage.CachedInputTokenCount} {usage.ReasoningTokenCount}";

    private static byte[] Read(Stream stream)
    {
        var copy = new MemoryStream();
        var buffer = new byte[7]; // small reads cross the segments' boundaries
        int read;
        while ((read = stream.Read(buffer)) > 0)
        {
            copy.Write(buffer, 0, read);
        }

        Assert.Equal(stream.Length, copy.Length);
        return copy.ToArray();
    }

    private static JsonObject Build(JsonNode[] messages, string[]? tools, bool custom, string? user, bool? stream)
    {
        var request = new JsonObject { ["model"] = "gpt-x", ["temperature"] = 0.5, ["messages"] = new JsonArray(messages) };
        if (tools is not null)
        {
            request["tools"] = new JsonArray([.. tools.Select((name, i) => (JsonNode)(custom && i % 2 == 1
                ? new JsonObject { ["type"] = "custom", ["custom"] = new JsonObject { ["name"] = name, ["description"] = "d" } }
                : new JsonObject { ["type"] = "function", ["function"] = new JsonObject { ["description"] = "d", ["name"] = name, ["parameters"] = new JsonObject { ["type"] = "object" } } }))]);
        }

        if (user is not null)
        {
            request["user"] = user;
        }

        if (stream is not null)
        {
            request["stream"] = stream;
        }

        return request;
    }
}
