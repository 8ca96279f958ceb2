using System.Buffers;
using System.Net;
using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Lore.Server.Proxy;

/// <summary>
/// One call's trip upstream through YARP's <see cref="IHttpForwarder"/>: the request transform sends the spliced body
/// to the upstream's <c>chat/completions</c> with the upstream's key (never the caller's headers or key), and the
/// response transform relays status, headers and bytes as they come (buffered and SSE alike) while a copy of the bytes
/// is kept for capture, which reads it after the answer has gone out. A durable call's buffered answer is held back
/// instead (<see cref="HeldBody"/>) until its step is stored.
/// </summary>
internal sealed class UpstreamExchange(Uri target, SplicedJsonStream body, string? authorization, bool durable) : HttpTransformer, IDisposable
{
    /// <summary>Response headers that describe one hop, not the content: never relayed.</summary>
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Trailer", "TE",
        "Content-Length", "Content-Encoding", "Server", "Date", "Alt-Svc",
    };

    private ResponseCopyStream? _copy;
    private Stream? _callerBody;

    /// <summary>The upstream's status, or null when it never answered.</summary>
    public int? Status { get; private set; }

    /// <summary>True when the answer is a successful SSE stream (its copy is in <see cref="Completion"/>).</summary>
    public bool Streamed => Completion is not null;

    /// <summary>The streamed answer rebuilt from the copies of the relayed events.</summary>
    public StreamedCompletion? Completion { get; private set; }

    /// <summary>A durable call's buffered successful answer, not yet sent to the caller.</summary>
    public byte[]? HeldBody { get; private set; }

    /// <summary>What the response headers promised about the record (<c>X-Lore-Recorded</c>), once the upstream answered.</summary>
    public string? Recorded { get; private set; }

    /// <summary>A copy of the buffered (not streamed) answer relayed to the caller, complete when the relay succeeded.</summary>
    public ReadOnlySpan<byte> CopiedBody => _copy is null ? default : _copy.Copied;

    public override ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        // Nothing of the caller's request but its (spliced) body goes upstream: not its key, not its X-Lore headers.
        proxyRequest.RequestUri = target;
        if (proxyRequest.Content is { } content)
        {
            // YARP streams the request's body (set to the spliced body by Begin); its headers are ours to give.
            content.Headers.TryAddWithoutValidation("Content-Type", "application/json");
            content.Headers.ContentLength = body.Length;
        }

        if (authorization is not null)
        {
            proxyRequest.Headers.TryAddWithoutValidation("Authorization", authorization);
        }

        return ValueTask.CompletedTask;
    }

    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is null)
        {
            return ValueTask.FromResult(false);
        }

        Status = (int)proxyResponse.StatusCode;
        var response = httpContext.Response;
        CopyHeaders(proxyResponse, response);
        var success = proxyResponse.IsSuccessStatusCode;
        if (success && proxyResponse.Content.Headers.ContentType?.MediaType == "text/event-stream")
        {
            Completion = new StreamedCompletion();
            Recorded = durable ? "before-end" : "queued";
            response.Headers[ChatCompletionsProxy.RecordedHeader] = Recorded;
            Tap(response, null);
            return ValueTask.FromResult(true);
        }

        if (durable && success)
        {
            return HoldAsync(proxyResponse, cancellationToken);
        }

        Recorded = "queued";
        response.Headers[ChatCompletionsProxy.RecordedHeader] = Recorded;
        var length = proxyResponse.Content.Headers.ContentLength;
        if (length is not null)
        {
            response.ContentLength = length;
        }

        Tap(response, length);
        return ValueTask.FromResult(true);
    }

    /// <summary>Puts the spliced body in the place of the caller's (already read) request body, for YARP to forward.</summary>
    public void Begin(HttpContext context)
    {
        context.Request.Body = body;
        context.Request.ContentLength = body.Length;
    }

    /// <summary>Puts the caller's own response stream back (the copy is no longer needed for what is written next).</summary>
    public void Untap(HttpContext context)
    {
        if (_callerBody is not null)
        {
            context.Response.Body = _callerBody;
            _callerBody = null;
        }
    }

    public void Dispose()
    {
        _copy?.Release();
        body.Dispose();
    }

    private async ValueTask<bool> HoldAsync(HttpResponseMessage proxyResponse, CancellationToken cancellationToken)
    {
        HeldBody = await proxyResponse.Content.ReadAsByteArrayAsync(cancellationToken).ConfigureAwait(false);
        return false;
    }

    private void Tap(HttpResponse response, long? length)
    {
        _callerBody = response.Body;
        _copy = new ResponseCopyStream(_callerBody, Completion, length is > 0 and <= 1024 * 1024 ? (int)length : 16 * 1024);
        response.Body = _copy;
    }

    private static void CopyHeaders(HttpResponseMessage from, HttpResponse to)
    {
        foreach (var (name, values) in from.Headers.NonValidated)
        {
            if (!HopHeaders.Contains(name))
            {
                to.Headers[name] = Values(values);
            }
        }

        foreach (var (name, values) in from.Content.Headers.NonValidated)
        {
            if (!HopHeaders.Contains(name))
            {
                to.Headers[name] = Values(values);
            }
        }
    }

    private static Microsoft.Extensions.Primitives.StringValues Values(System.Net.Http.Headers.HeaderStringValues values)
    {
        if (values.Count == 1)
        {
            return values.ToString();
        }

        var array = new string[values.Count];
        var i = 0;
        foreach (var value in values)
        {
            array[i++] = value;
        }

        return array;
    }

    /// <summary>
    /// The caller's response stream with a tap: every write goes to the caller first, then its bytes are fed to the
    /// stream's rebuilt answer (SSE) or appended to a pooled copy (a buffered answer, parsed once it has gone out).
    /// </summary>
    private sealed class ResponseCopyStream(Stream caller, StreamedCompletion? completion, int capacity) : Stream
    {
        private byte[]? _copy;
        private int _length;

        public ReadOnlySpan<byte> Copied => _copy is null ? default : _copy.AsSpan(0, _length);

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await caller.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
            Keep(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            caller.Write(buffer);
            Keep(buffer);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => caller.FlushAsync(cancellationToken);

        public override void Flush() => caller.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public void Release()
        {
            if (Interlocked.Exchange(ref _copy, null) is { } copy)
            {
                ArrayPool<byte>.Shared.Return(copy);
            }
        }

        private void Keep(ReadOnlySpan<byte> bytes)
        {
            if (completion is not null)
            {
                completion.Feed(bytes);
                return;
            }

            _copy ??= ArrayPool<byte>.Shared.Rent(Math.Max(capacity, bytes.Length));
            if (_length + bytes.Length > _copy.Length)
            {
                var larger = ArrayPool<byte>.Shared.Rent(Math.Max(_copy.Length * 2, _length + bytes.Length));
                _copy.AsSpan(0, _length).CopyTo(larger);
                ArrayPool<byte>.Shared.Return(_copy);
                _copy = larger;
            }

            bytes.CopyTo(_copy.AsSpan(_length));
            _length += bytes.Length;
        }
    }
}
