using System.Buffers;
using System.Text.Json;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;

namespace Lore.Server.Proxy;

/// <summary>
/// A chat-completions request body as the proxy needs it, read without a DOM of the whole body: one
/// <see cref="Utf8JsonReader"/> pass over the bytes (in a pooled buffer) validates the JSON, reads the top-level fields
/// the proxy relies on (<c>model</c>, <c>user</c>, <c>stream</c>, the names of <c>tools</c>) and remembers where each
/// entry of <c>messages</c> starts, so the lessons' system message can be spliced in by byte offset while the rest of
/// the body (tool schemas, sampling parameters, anything newer than this code) travels upstream byte for byte. Only the
/// <c>messages</c> array is read into messages, which capture records anyway.
/// </summary>
internal sealed class ChatRequestBody : IDisposable
{
    // A system message around its escaped content: {"role":"system","content":"..."} before the first other message
    // (a comma follows it), or after the last one when every message is a system message (a comma precedes it).
    private static readonly ReadOnlyMemory<byte> MessageStart = "{\"role\":\"system\",\"content\":\""u8.ToArray();
    private static readonly ReadOnlyMemory<byte> MessageEnd = "\"},"u8.ToArray();
    private static readonly ReadOnlyMemory<byte> MessageStartAfterLast = ",{\"role\":\"system\",\"content\":\""u8.ToArray();
    private static readonly ReadOnlyMemory<byte> MessageEndLast = "\"}"u8.ToArray();

    private byte[]? _buffer;
    private readonly int _length;
    private readonly List<int> _messageStarts = new(8);
    private int _messagesStart = -1;
    private int _messagesEnd = -1;

    private ChatRequestBody(byte[] buffer, int length)
    {
        _buffer = buffer;
        _length = length;
    }

    /// <summary>The body as it arrived.</summary>
    public ReadOnlyMemory<byte> Json => (_buffer ?? throw new ObjectDisposedException(nameof(ChatRequestBody))).AsMemory(0, _length);

    public string? Model { get; private set; }

    /// <summary>The <c>user</c> field (a string), or null when absent or null.</summary>
    public string? User { get; private set; }

    /// <summary>The names of the function and custom tools offered, or null when the request offers none.</summary>
    public string[]? ToolNames { get; private set; }

    /// <summary>The messages, read by <see cref="ChatMessageReader.ReadMessages"/> (the same checks and shapes capture uses).</summary>
    public List<ChatMessage> Messages { get; private set; } = [];

    /// <summary>Reads and checks the request's body; a body that is not a chat-completions request throws <see cref="ChatRequestException"/>.</summary>
    public static async Task<ChatRequestBody> ReadAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        // The declared length sizes the first buffer only up to 1 MiB: a header is not a promise, and the server's
        // body-size limit is enforced as the bytes arrive.
        var capacity = request.ContentLength is { } declared and > 0 and <= 1024 * 1024 ? (int)declared : 16 * 1024;
        var buffer = ArrayPool<byte>.Shared.Rent(capacity);
        var length = 0;
        try
        {
            while (true)
            {
                if (length == buffer.Length)
                {
                    var larger = ArrayPool<byte>.Shared.Rent(buffer.Length * 2);
                    buffer.AsSpan(0, length).CopyTo(larger);
                    ArrayPool<byte>.Shared.Return(buffer);
                    buffer = larger;
                }

                var read = await request.Body.ReadAsync(buffer.AsMemory(length), cancellationToken).ConfigureAwait(false);
                if (read == 0)
                {
                    break;
                }

                length += read;
            }

            var body = new ChatRequestBody(buffer, length);
            body.Read();
            return body;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>Reads a body already in memory (the bytes are copied into a pooled buffer).</summary>
    public static ChatRequestBody Parse(ReadOnlySpan<byte> json)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(Math.Max(json.Length, 1));
        json.CopyTo(buffer);
        try
        {
            var body = new ChatRequestBody(buffer, json.Length);
            body.Read();
            return body;
        }
        catch
        {
            ArrayPool<byte>.Shared.Return(buffer);
            throw;
        }
    }

    /// <summary>
    /// The upstream's body: these bytes with a system message whose content is <paramref name="escapedContent"/> (a
    /// JSON-escaped string, without quotes) spliced in after the leading system messages; the bytes unchanged when it is empty.
    /// </summary>
    public SplicedJsonStream WithLessonsMessage(ReadOnlyMemory<byte> escapedContent)
    {
        var json = Json;
        if (escapedContent.IsEmpty)
        {
            return new SplicedJsonStream(json);
        }

        var (offset, afterLast) = LessonsPosition();
        return new SplicedJsonStream(
            json[..offset],
            afterLast ? MessageStartAfterLast : MessageStart,
            escapedContent,
            afterLast ? MessageEndLast : MessageEnd,
            json[offset..]);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } buffer)
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>
    /// Where a message inserted after the leading system (and developer) messages goes: the byte offset of the first
    /// other message, or of the closing bracket when every message is a system message (then the insert needs a
    /// leading comma).
    /// </summary>
    private (int Offset, bool AfterLast) LessonsPosition()
    {
        var position = 0;
        while (position < Messages.Count && Messages[position].Role == ChatRole.System)
        {
            position++;
        }

        return position < _messageStarts.Count ? (_messageStarts[position], false) : (_messagesEnd - 1, true);
    }

    private void Read()
    {
        var json = _buffer.AsSpan(0, _length);
        var isObject = false;
        JsonTokenType? stream = null;
        JsonTokenType? user = null;
        JsonTokenType? messages = null;
        try
        {
            var reader = new Utf8JsonReader(json);
            reader.Read();
            if (reader.TokenType == JsonTokenType.StartObject)
            {
                isObject = true;
                while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
                {
                    if (reader.ValueTextEquals("model"u8))
                    {
                        reader.Read();
                        Model = reader.TokenType == JsonTokenType.String ? ChatMessageReader.Intern(ref reader) : null;
                    }
                    else if (reader.ValueTextEquals("user"u8))
                    {
                        reader.Read();
                        user = reader.TokenType;
                        User = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
                    }
                    else if (reader.ValueTextEquals("stream"u8))
                    {
                        reader.Read();
                        stream = reader.TokenType;
                    }
                    else if (reader.ValueTextEquals("messages"u8))
                    {
                        reader.Read();
                        messages = reader.TokenType;
                        if (reader.TokenType == JsonTokenType.StartArray)
                        {
                            ReadMessageStarts(ref reader);
                        }
                    }
                    else if (reader.ValueTextEquals("tools"u8))
                    {
                        reader.Read();
                        ToolNames = reader.TokenType == JsonTokenType.StartArray ? ReadToolNames(ref reader) : null;
                    }

                    reader.Skip();
                }
            }
            else
            {
                reader.Skip();
            }

            // Anything after the one JSON value (other than whitespace) is refused here.
            while (reader.Read())
            {
            }
        }
        catch (JsonException e)
        {
            throw new ChatRequestException("$", $"the body is not valid JSON: {e.Message}");
        }

        // The same checks, in the same order, as the DOM reader it replaced (the tests keep it as their oracle).
        if (!isObject)
        {
            throw new ChatRequestException("$", "the request body must be a JSON object (an OpenAI chat-completions request).");
        }

        if (stream is { } s && s is not (JsonTokenType.True or JsonTokenType.False or JsonTokenType.Null))
        {
            throw new ChatRequestException("stream", "'stream' must be true or false.");
        }

        if (user is { } u && u is not (JsonTokenType.String or JsonTokenType.Null))
        {
            throw new ChatRequestException("user", "'user' must be a string.");
        }

        if (messages != JsonTokenType.StartArray || _messageStarts.Count == 0)
        {
            throw new ChatRequestException("messages", "'messages' must be a non-empty array of chat messages.");
        }

        // Only the messages become objects (capture records them), read straight from their bytes.
        Messages = ChatMessageReader.ReadMessages(json[_messagesStart.._messagesEnd], _messageStarts.Count);
    }

    /// <summary>At the <c>[</c> of <c>messages</c>: notes where each entry starts and where the array ends, leaving the reader on its <c>]</c>.</summary>
    private void ReadMessageStarts(ref Utf8JsonReader reader)
    {
        _messageStarts.Clear();
        _messagesStart = checked((int)reader.TokenStartIndex);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            _messageStarts.Add(checked((int)reader.TokenStartIndex));
            reader.Skip();
        }

        _messagesEnd = checked((int)reader.TokenStartIndex) + 1;
    }

    /// <summary>At the <c>[</c> of <c>tools</c>: the name of each function (<c>function.name</c>) or custom (<c>custom.name</c>) tool; null for an empty array.</summary>
    private static string[]? ReadToolNames(ref Utf8JsonReader reader)
    {
        var names = new List<string>();
        var entries = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            entries++;
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                reader.Skip();
                continue;
            }

            string? function = null;
            string? custom = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isFunction = reader.ValueTextEquals("function"u8);
                var isCustom = !isFunction && reader.ValueTextEquals("custom"u8);
                reader.Read();
                if ((isFunction || isCustom) && reader.TokenType == JsonTokenType.StartObject)
                {
                    var name = ReadName(ref reader);
                    if (isFunction)
                    {
                        function = name;
                    }
                    else
                    {
                        custom = name;
                    }
                }
                else
                {
                    reader.Skip();
                }
            }

            if ((function ?? custom) is { } named)
            {
                names.Add(named);
            }
        }

        return entries == 0 ? null : [.. names];
    }

    /// <summary>At the <c>{</c> of a tool's definition: its string <c>name</c>, leaving the reader on the closing <c>}</c>.</summary>
    private static string? ReadName(ref Utf8JsonReader reader)
    {
        string? name = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isName = reader.ValueTextEquals("name"u8);
            reader.Read();
            if (isName && reader.TokenType == JsonTokenType.String)
            {
                name = ChatMessageReader.Intern(ref reader);
            }
            else
            {
                reader.Skip();
            }
        }

        return name;
    }
}
