using System.Threading.Channels;
using Lore.Retrieval;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lore.Benchmarks.Serving;

/// <summary>
/// The proxy bench's <c>yarp-log</c> arm: a bare YARP <c>MapForwarder</c> that also keeps every call, as any proxy that
/// records calls durably must, and nothing more. Each call's request and response bytes go, unparsed, to one row of a
/// SQLite table in WAL mode with <c>synchronous=FULL</c>, written by one background writer that batches the calls of
/// a 2 ms window into one transaction, as Lore's capture writer does. Lore against this arm is what Lore's own work
/// costs beyond the durable write that the target's "capture on" requires. Given a lesson index (the <c>yarp-floor</c>
/// arm) it also splices the lessons into each request (<see cref="LessonSplice"/>): the least work "injection and
/// capture on" can mean.
/// </summary>
internal sealed class RecordingYarp : IAsyncDisposable
{
    private const int MaxBatch = 256;
    private static readonly TimeSpan Window = TimeSpan.FromMilliseconds(2);

    private readonly Channel<Item> _calls =
        Channel.CreateBounded<Item>(new BoundedChannelOptions(10_000) { SingleReader = true, FullMode = BoundedChannelFullMode.Wait });

    private readonly SqliteConnection _connection;
    private readonly LessonIndex? _lessons;
    private readonly Task _writer;
    private long _spliced;

    private RecordingYarp(WebApplication app, SqliteConnection connection, LessonIndex? lessons)
    {
        App = app;
        _connection = connection;
        _lessons = lessons;
        _writer = Task.Run(WriteAsync);
    }

    public WebApplication App { get; }

    /// <summary>Calls written so far.</summary>
    public long Written { get; private set; }

    /// <summary>Requests forwarded with the lessons' message spliced in.</summary>
    public long Spliced => Interlocked.Read(ref _spliced);

    public static async Task<RecordingYarp> StartAsync(Uri upstream, string path, LessonIndex? lessons = null)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        connection.Open();
        using (var setup = connection.CreateCommand())
        {
            setup.CommandText = """
                PRAGMA journal_mode = WAL;
                PRAGMA synchronous = FULL;
                CREATE TABLE IF NOT EXISTS calls (id INTEGER PRIMARY KEY, at TEXT NOT NULL, request BLOB NOT NULL, response BLOB NOT NULL);
                """;
            setup.ExecuteNonQuery();
        }

        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddHttpForwarder();
        var app = builder.Build();
        var recording = new RecordingYarp(app, connection, lessons);
        app.Use(recording.RecordAsync);
        app.MapForwarder("/v1/{**rest}", upstream.GetLeftPart(UriPartial.Authority));
        await app.StartAsync();
        return recording;
    }

    /// <summary>Completes when every call recorded before it is in the store; throws if the writer has failed.</summary>
    public async Task FlushAsync()
    {
        var flushed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await _calls.Writer.WriteAsync(new Item(default, null, null, flushed));

        // A writer that failed never completes the marker: its exception ends the phase instead of a wait forever.
        await await Task.WhenAny(flushed.Task, _writer);
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync();
        await App.DisposeAsync();
        _calls.Writer.TryComplete();
        await _writer;
        _connection.Dispose();
    }

    /// <summary>Reads the request body (YARP then forwards the copy, lessons spliced in), and copies the response as it is relayed.</summary>
    private async Task RecordAsync(HttpContext context, RequestDelegate next)
    {
        using var request = new MemoryStream();
        await context.Request.Body.CopyToAsync(request, context.RequestAborted);
        var requestBytes = request.ToArray();
        if (_lessons is not null)
        {
            var spliced = LessonSplice.Apply(_lessons, requestBytes);
            if (spliced != requestBytes)
            {
                Interlocked.Increment(ref _spliced);
                requestBytes = spliced;
                context.Request.ContentLength = requestBytes.Length;
            }
        }

        context.Request.Body = new MemoryStream(requestBytes, writable: false);
        var caller = context.Response.Body;
        var copy = new TeeStream(caller);
        context.Response.Body = copy;
        try
        {
            await next(context);
        }
        finally
        {
            context.Response.Body = caller;
        }

        await context.Response.CompleteAsync();
        await _calls.Writer.WriteAsync(new Item(DateTimeOffset.UtcNow, requestBytes, copy.Copied, null));
    }

    private async Task WriteAsync()
    {
        using var insert = _connection.CreateCommand();
        insert.CommandText = "INSERT INTO calls (at, request, response) VALUES ($at, $request, $response);";
        var at = insert.Parameters.Add("$at", SqliteType.Text);
        var requestBytes = insert.Parameters.Add("$request", SqliteType.Blob);
        var responseBytes = insert.Parameters.Add("$response", SqliteType.Blob);
        insert.Prepare();

        var batch = new List<Item>(MaxBatch);
        var flushes = new List<TaskCompletionSource>();
        var reader = _calls.Reader;
        while (await reader.WaitToReadAsync())
        {
            Drain(reader, batch, flushes);
            if (flushes.Count == 0 && batch.Count is > 0 and < MaxBatch)
            {
                await Task.Delay(Window);
                Drain(reader, batch, flushes);
            }

            if (batch.Count > 0)
            {
                using var transaction = _connection.BeginTransaction();
                insert.Transaction = transaction;
                foreach (var call in batch)
                {
                    at.Value = call.At.ToString("O");
                    requestBytes.Value = call.Request;
                    responseBytes.Value = call.Response;
                    insert.ExecuteNonQuery();
                }

                transaction.Commit();
                Written += batch.Count;
                batch.Clear();
            }

            foreach (var flush in flushes)
            {
                flush.TrySetResult();
            }

            flushes.Clear();
        }
    }

    private static void Drain(ChannelReader<Item> reader, List<Item> batch, List<TaskCompletionSource> flushes)
    {
        while (batch.Count < MaxBatch && reader.TryRead(out var item))
        {
            if (item.Flush is { } flush)
            {
                flushes.Add(flush);
            }
            else
            {
                batch.Add(item);
            }
        }
    }

    /// <summary>A call to store (when it ended, its request and response bytes), or a flush marker to complete once everything before it is stored.</summary>
    private readonly record struct Item(DateTimeOffset At, byte[]? Request, byte[]? Response, TaskCompletionSource? Flush);

    /// <summary>The caller's response stream, with a copy of every byte written through it.</summary>
    private sealed class TeeStream(Stream caller) : Stream
    {
        private readonly MemoryStream _copy = new();

        public byte[] Copied => _copy.ToArray();

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            await caller.WriteAsync(buffer, cancellationToken);
            _copy.Write(buffer.Span);
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
            => WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override void Write(byte[] buffer, int offset, int count)
        {
            caller.Write(buffer, offset, count);
            _copy.Write(buffer, offset, count);
        }

        public override Task FlushAsync(CancellationToken cancellationToken) => caller.FlushAsync(cancellationToken);

        public override void Flush() => caller.Flush();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();
    }
}
