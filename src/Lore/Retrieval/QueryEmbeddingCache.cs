using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Lore.Retrieval;

/// <summary>
/// The most recent query embeddings by text, and the background worker that computes new ones. A model call never
/// waits on the model beyond its budget: it asks for its query text, gets the vector when it is cached (or arrives
/// within the budget) and otherwise is served by the lexical side of the hybrid while the vector is computed off the
/// call path. Texts asked for while the worker is busy are embedded together in one batch, each text once however
/// many calls ask for it. An episode starts its task's embedding when it begins, so its later calls find it ready.
/// </summary>
internal sealed partial class QueryEmbeddingCache : IAsyncDisposable
{
    /// <summary>Texts embedded in one generator call at most.</summary>
    internal const int MaxBatch = 32;

    /// <summary>Texts waiting for the worker at most; beyond it a call is served lexically without queueing its text.</summary>
    internal const int MaxQueued = 1_024;

    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly int _capacity;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Text, ReadOnlyMemory<float> Vector)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Text, ReadOnlyMemory<float> Vector)> _recent = new();
    private readonly Dictionary<string, TaskCompletionSource<bool>> _pending = new(StringComparer.Ordinal);
    private readonly Queue<string> _queued = new();
    private readonly CancellationTokenSource _stopping = new();
    private Task _worker = Task.CompletedTask;
    private bool _working;
    private long _embedded;
    private long _batches;
    private long _failures;

    public QueryEmbeddingCache(IEmbeddingGenerator<string, Embedding<float>> generator, int capacity, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        ArgumentNullException.ThrowIfNull(logger);
        _generator = generator;
        _capacity = capacity;
        _logger = logger;
    }

    /// <summary>Query texts embedded by the generator so far.</summary>
    public long Embedded => Interlocked.Read(ref _embedded);

    /// <summary>Generator calls the background worker made (each embeds a batch of texts).</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Background generator calls that failed (their calls were served lexically).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    /// <summary>The cached vector of a text, if any (a cache hit moves it to the front).</summary>
    public bool TryGet(string text, out ReadOnlyMemory<float> vector)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(text, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                vector = node.Value.Vector;
                return true;
            }
        }

        vector = default;
        return false;
    }

    /// <summary>
    /// Embeds the text now, waiting as long as the generator takes (for explicit retrieval outside a model call, where
    /// the caller asked for the full hybrid). Generator failures reach the caller.
    /// </summary>
    public ValueTask<ReadOnlyMemory<float>> GetAsync(string text, CancellationToken cancellationToken)
        => TryGet(text, out var vector) ? ValueTask.FromResult(vector) : EmbedNowAsync(text, cancellationToken);

    /// <summary>
    /// The text's vector if it is cached or arrives within <paramref name="wait"/>; otherwise null, with the text
    /// queued for the background worker so a later call finds it. Never throws for the generator's sake: a failing or
    /// hanging generator costs the call at most its wait.
    /// </summary>
    public ValueTask<ReadOnlyMemory<float>?> GetWithinAsync(string text, TimeSpan wait, CancellationToken cancellationToken)
    {
        if (TryGet(text, out var vector))
        {
            return ValueTask.FromResult<ReadOnlyMemory<float>?>(vector);
        }

        var ready = Prefetch(text);
        if (wait <= TimeSpan.Zero || ready is null)
        {
            return ValueTask.FromResult<ReadOnlyMemory<float>?>(null);
        }

        return WaitAsync(text, ready, wait, cancellationToken);
    }

    /// <summary>
    /// Starts embedding the text in the background unless it is cached or already on its way; returns a task that
    /// completes true when the vector is cached (false when the generator failed), or null when nothing was started
    /// because the text is cached or the queue is full.
    /// </summary>
    public Task<bool>? Prefetch(string text)
    {
        lock (_lock)
        {
            if (_entries.ContainsKey(text) || _stopping.IsCancellationRequested)
            {
                return null;
            }

            if (_pending.TryGetValue(text, out var pending))
            {
                return pending.Task;
            }

            if (_queued.Count >= MaxQueued)
            {
                return null;
            }

            var started = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
            _pending[text] = started;
            _queued.Enqueue(text);
            if (!_working)
            {
                _working = true;

                // The generator may run on the calling thread (MiniLM does): the worker keeps it off the caller's.
                _worker = Task.Run(DrainAsync);
            }

            return started.Task;
        }
    }

    /// <summary>Stops the worker: queued texts are dropped, a running batch is cancelled and awaited.</summary>
    public async ValueTask DisposeAsync()
    {
        Task worker;
        lock (_lock)
        {
            if (_stopping.IsCancellationRequested)
            {
                return;
            }

            _stopping.Cancel();
            worker = _worker;
        }

        try
        {
            // A generator that ignores cancellation must not hold the host's shutdown.
            await worker.WaitAsync(TimeSpan.FromSeconds(5)).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
        }

        lock (_lock)
        {
            foreach (var pending in _pending.Values)
            {
                pending.TrySetResult(false);
            }

            _pending.Clear();
            _queued.Clear();
        }

    }

    private async ValueTask<ReadOnlyMemory<float>?> WaitAsync(string text, Task<bool> ready, TimeSpan wait, CancellationToken cancellationToken)
    {
        // Real time on purpose: the budget bounds the call's latency, which a test's fake clock must not stretch.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var delay = Task.Delay(wait, timeout.Token);
        var first = await Task.WhenAny(ready, delay).ConfigureAwait(false);
        await timeout.CancelAsync().ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return first == ready && ready.Result && TryGet(text, out var vector) ? vector : null;
    }

    private async ValueTask<ReadOnlyMemory<float>> EmbedNowAsync(string text, CancellationToken cancellationToken)
    {
        var vector = await _generator.GenerateVectorAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _embedded);
        lock (_lock)
        {
            Add(text, vector);
        }

        return vector;
    }

    /// <summary>Embeds queued texts a batch at a time until the queue is empty.</summary>
    private async Task DrainAsync()
    {
        var batch = new List<string>(MaxBatch);
        while (true)
        {
            batch.Clear();
            lock (_lock)
            {
                while (batch.Count < MaxBatch && _queued.TryDequeue(out var text))
                {
                    batch.Add(text);
                }

                if (batch.Count == 0 || _stopping.IsCancellationRequested)
                {
                    _working = false;
                    return;
                }
            }

            GeneratedEmbeddings<Embedding<float>>? embeddings = null;
            try
            {
                embeddings = await _generator.GenerateAsync(batch, cancellationToken: _stopping.Token).ConfigureAwait(false);
                if (embeddings.Count != batch.Count)
                {
                    throw new InvalidOperationException($"The embedding generator returned {embeddings.Count} vectors for {batch.Count} texts.");
                }

                Interlocked.Increment(ref _batches);
                Interlocked.Add(ref _embedded, batch.Count);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                embeddings = null;
                if (!_stopping.IsCancellationRequested)
                {
                    Interlocked.Increment(ref _failures);
                    LogEmbeddingFailed(_logger, batch.Count, e);
                }
            }

            lock (_lock)
            {
                for (var i = 0; i < batch.Count; i++)
                {
                    if (embeddings is not null)
                    {
                        Add(batch[i], embeddings[i].Vector);
                    }

                    // A failed text leaves the pending set, so a later call asks the generator again.
                    if (_pending.Remove(batch[i], out var pending))
                    {
                        pending.TrySetResult(embeddings is not null);
                    }
                }
            }
        }
    }

    /// <summary>Caches a vector, dropping the least recently used beyond capacity (call under the lock).</summary>
    private void Add(string text, ReadOnlyMemory<float> vector)
    {
        if (_entries.ContainsKey(text))
        {
            return;
        }

        _entries[text] = _recent.AddFirst((text, vector));
        if (_recent.Count > _capacity)
        {
            _entries.Remove(_recent.Last!.Value.Text);
            _recent.RemoveLast();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Embedding {Count} query texts in the background failed; their calls were served by lexical retrieval and a later call will try again.")]
    private static partial void LogEmbeddingFailed(ILogger logger, int count, Exception exception);
}
