namespace Lore.Server.Proxy;

/// <summary>
/// The upstream request's body: the caller's bytes with the lessons' system message spliced in at a byte offset, read
/// segment by segment from the buffers they already live in (no copy of the body, no re-serialisation), with its
/// length known so the upstream gets a <c>Content-Length</c>. YARP forwards the request's body stream, so the proxy
/// puts this one in its place.
/// </summary>
internal sealed class SplicedJsonStream : Stream
{
    private readonly ReadOnlyMemory<byte>[] _segments;
    private readonly long _length;
    private int _segment;
    private int _offset;
    private long _position;

    public SplicedJsonStream(params ReadOnlyMemory<byte>[] segments)
    {
        _segments = segments;
        foreach (var segment in segments)
        {
            _length += segment.Length;
        }
    }

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => _length;

    public override long Position { get => _position; set => throw new NotSupportedException(); }

    public override int Read(Span<byte> buffer)
    {
        var written = 0;
        while (written < buffer.Length && _segment < _segments.Length)
        {
            var rest = _segments[_segment].Span[_offset..];
            var count = Math.Min(rest.Length, buffer.Length - written);
            rest[..count].CopyTo(buffer[written..]);
            written += count;
            _offset += count;
            if (_offset == _segments[_segment].Length)
            {
                _segment++;
                _offset = 0;
            }
        }

        _position += written;
        return written;
    }

    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    public override ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        => cancellationToken.IsCancellationRequested ? ValueTask.FromCanceled<int>(cancellationToken) : ValueTask.FromResult(Read(buffer.Span));

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        => ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();
}
