using System.Buffers;
using System.Text.Json;

namespace Lore.Server.Proxy;

/// <summary>
/// A string's JSON-escaped UTF-8 (without the quotes) in a buffer rented from the shared pool: the lessons' system
/// message of every proxied call, written by <see cref="Utf8JsonWriter"/> (so escaped exactly as
/// <see cref="JsonEncodedText.Encode(string, System.Text.Encodings.Web.JavaScriptEncoder?)"/> escapes) without the
/// byte array and string that <see cref="JsonEncodedText"/> allocates for each call.
/// </summary>
internal sealed class EscapedJsonString : IBufferWriter<byte>, IDisposable
{
    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    private byte[]? _buffer;
    private int _written;

    private EscapedJsonString(int capacity) => _buffer = ArrayPool<byte>.Shared.Rent(capacity);

    /// <summary>The escaped content, without quotes; valid until disposed.</summary>
    public ReadOnlyMemory<byte> Content => (_buffer ?? throw new ObjectDisposedException(nameof(EscapedJsonString))).AsMemory(1, _written - 2);

    /// <summary>Escapes <paramref name="value"/> into a rented buffer; invalid UTF-16 throws as <see cref="JsonEncodedText"/> does.</summary>
    public static EscapedJsonString Of(string value)
    {
        var escaped = new EscapedJsonString(checked((value.Length * 3) + 2));
        try
        {
            var writer = t_writer;
            if (writer is null)
            {
                t_writer = writer = new Utf8JsonWriter(escaped);
            }
            else
            {
                writer.Reset(escaped);
            }

            try
            {
                writer.WriteStringValue(value);
                writer.Flush();
            }
            finally
            {
                // The thread's writer must not keep the buffer (or a half-written value) for the next caller.
                writer.Reset(NoOutput.Instance);
            }

            return escaped;
        }
        catch
        {
            escaped.Dispose();
            throw;
        }
    }

    public void Advance(int count) => _written += count;

    public Memory<byte> GetMemory(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsMemory(_written);
    }

    public Span<byte> GetSpan(int sizeHint = 0)
    {
        Ensure(sizeHint);
        return _buffer.AsSpan(_written);
    }

    public void Dispose()
    {
        if (Interlocked.Exchange(ref _buffer, null) is { } rented)
        {
            ArrayPool<byte>.Shared.Return(rented);
        }
    }

    private void Ensure(int sizeHint)
    {
        var buffer = _buffer ?? throw new ObjectDisposedException(nameof(EscapedJsonString));
        var needed = _written + Math.Max(sizeHint, 1);
        if (needed <= buffer.Length)
        {
            return;
        }

        var larger = ArrayPool<byte>.Shared.Rent(Math.Max(needed, buffer.Length * 2));
        buffer.AsSpan(0, _written).CopyTo(larger);
        ArrayPool<byte>.Shared.Return(buffer);
        _buffer = larger;
    }

    /// <summary>Where the thread's writer points between uses: nowhere.</summary>
    private sealed class NoOutput : IBufferWriter<byte>
    {
        public static readonly NoOutput Instance = new();

        public void Advance(int count) => throw new InvalidOperationException("no output is attached");

        public Memory<byte> GetMemory(int sizeHint = 0) => throw new InvalidOperationException("no output is attached");

        public Span<byte> GetSpan(int sizeHint = 0) => throw new InvalidOperationException("no output is attached");
    }
}
