using System.Text;
using System.Text.Json;
using Lore.Retrieval;

namespace Lore.Benchmarks.Serving;

/// <summary>
/// The least a proxy that injects lessons must do to a request, for the proxy bench's <c>yarp-floor</c> arm: one
/// forward-only read of the body for the first and latest user texts and the offered tools' names, one retrieval over
/// the snapshot's index, and the lessons' system message written in front of the caller's messages. No DOM, no
/// validation, no episode: Lore against this arm is what its own work costs beyond what the target itself requires.
/// </summary>
internal static class LessonSplice
{
    private static readonly byte[] Opening = Encoding.UTF8.GetBytes("{\"role\":\"system\",\"content\":");

    /// <summary>The body with the lessons' message spliced in; the body itself when the request names no user text or none apply.</summary>
    public static byte[] Apply(LessonIndex index, byte[] body)
    {
        var (insertAt, first, latest, tools) = Read(body);
        if (insertAt < 0 || latest is null)
        {
            return body;
        }

        var result = index.Retrieve(new RetrievalQuery { Task = first ?? latest, Turn = latest, Tenant = "bench", AvailableTools = tools });
        if (result.Section is not { } section)
        {
            return body;
        }

        var content = JsonSerializer.SerializeToUtf8Bytes(section);
        var empty = body.AsSpan(insertAt).TrimStart(" \t\r\n"u8) is [(byte)']', ..];
        var spliced = new byte[body.Length + Opening.Length + content.Length + (empty ? 1 : 2)];
        var at = 0;
        body.AsSpan(0, insertAt).CopyTo(spliced);
        at += insertAt;
        Opening.CopyTo(spliced.AsSpan(at));
        at += Opening.Length;
        content.CopyTo(spliced.AsSpan(at));
        at += content.Length;
        spliced[at++] = (byte)'}';
        if (!empty)
        {
            spliced[at++] = (byte)',';
        }

        body.AsSpan(insertAt).CopyTo(spliced.AsSpan(at));
        return spliced;
    }

    /// <summary>Where the messages array's first element goes, the first and latest user texts, and the tools' names.</summary>
    private static (int InsertAt, string? First, string? Latest, List<string> Tools) Read(byte[] body)
    {
        var reader = new Utf8JsonReader(body);
        var insertAt = -1;
        string? first = null;
        string? latest = null;
        var tools = new List<string>();
        if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
        {
            return (-1, null, null, tools);
        }

        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("messages"u8) && reader.Read() && reader.TokenType == JsonTokenType.StartArray)
            {
                insertAt = (int)reader.TokenStartIndex + 1;
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    var (role, content) = ReadMessage(ref reader);
                    if (role == "user" && content is not null)
                    {
                        first ??= content;
                        latest = content;
                    }
                }
            }
            else if (reader.ValueTextEquals("tools"u8) && reader.Read() && reader.TokenType == JsonTokenType.StartArray)
            {
                while (reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                {
                    while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                    {
                        if (reader.ValueTextEquals("function"u8) && reader.Read() && reader.TokenType == JsonTokenType.StartObject)
                        {
                            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                            {
                                var isName = reader.ValueTextEquals("name"u8);
                                reader.Read();
                                if (isName && reader.TokenType == JsonTokenType.String)
                                {
                                    tools.Add(reader.GetString()!);
                                }
                                else
                                {
                                    reader.Skip();
                                }
                            }
                        }
                        else
                        {
                            reader.Read();
                            reader.Skip();
                        }
                    }
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (insertAt, first, latest, tools);
    }

    private static (string? Role, string? Content) ReadMessage(ref Utf8JsonReader reader)
    {
        string? role = null;
        string? content = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isRole = reader.ValueTextEquals("role"u8);
            var isContent = reader.ValueTextEquals("content"u8);
            reader.Read();
            if ((isRole || isContent) && reader.TokenType == JsonTokenType.String)
            {
                (isRole ? ref role : ref content) = reader.GetString();
            }
            else
            {
                reader.Skip();
            }
        }

        return (role, content);
    }
}
