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
