using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.AI;

namespace Lore.Retrieval;

/// <summary>
/// Lesson embeddings kept by the content hash of the text they embed, so a new snapshot embeds only the lessons that
/// are new or changed since the snapshots still cached, not the whole set again (a learning pass usually adds a
/// handful of lessons to thousands). Entries unused by the last few builds are dropped.
/// </summary>
internal sealed class LessonEmbeddingCache
{
    /// <summary>Texts sent to the generator in one request; the generator batches further as its model needs.</summary>
    private const int RequestSize = 256;

    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly int _keepBuilds;
    private readonly Lock _lock = new();
    private readonly Dictionary<UInt128, Entry> _entries = [];
    private long _builds;
    private long _embedded;

    /// <param name="generator">The model every vector comes from (one cache per generator).</param>
    /// <param name="keepBuilds">An entry no build used within this many builds is dropped.</param>
    public LessonEmbeddingCache(IEmbeddingGenerator<string, Embedding<float>> generator, int keepBuilds)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfLessThan(keepBuilds, 1);
        _generator = generator;
        _keepBuilds = keepBuilds;
    }

    /// <summary>Texts embedded by the generator so far (each distinct text once while it stays cached).</summary>
    public long Embedded => Interlocked.Read(ref _embedded);

    public int Count
    {
        get
        {
            lock (_lock)
            {
                return _entries.Count;
            }
        }
    }

    /// <summary>The vector of every document, in order: cached ones reused, the rest embedded in batches.</summary>
    public async Task<ReadOnlyMemory<float>[]> EmbedAsync(IReadOnlyList<string> documents, string? snapshotId, CancellationToken cancellationToken)
    {
        var build = Interlocked.Increment(ref _builds);
        var vectors = new ReadOnlyMemory<float>[documents.Count];
        var keys = new UInt128[documents.Count];
        var missing = new Dictionary<UInt128, List<int>>();
        lock (_lock)
        {
            for (var i = 0; i < documents.Count; i++)
            {
                keys[i] = Key(documents[i]);
                if (_entries.TryGetValue(keys[i], out var entry))
                {
                    entry.LastBuild = build;
                    vectors[i] = entry.Vector;
                }
                else if (missing.TryGetValue(keys[i], out var positions))
                {
                    positions.Add(i);
                }
                else
                {
                    missing[keys[i]] = [i];
                }
            }
        }

        foreach (var request in missing.Chunk(RequestSize))
        {
            var texts = request.Select(p => documents[p.Value[0]]).ToArray();
            var embeddings = await _generator.GenerateAsync(texts, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (embeddings.Count != texts.Length)
            {
                throw new InvalidOperationException(
                    $"The embedding generator returned {embeddings.Count} embeddings for {texts.Length} lessons of snapshot {snapshotId}.");
            }

            Interlocked.Add(ref _embedded, texts.Length);
            lock (_lock)
            {
                for (var j = 0; j < request.Length; j++)
                {
                    var vector = embeddings[j].Vector;
                    _entries[request[j].Key] = new Entry(vector) { LastBuild = build };
                    foreach (var position in request[j].Value)
                    {
                        vectors[position] = vector;
                    }
                }
            }
        }

        Evict(build);
        return vectors;
    }

    private void Evict(long build)
    {
        lock (_lock)
        {
            List<UInt128>? stale = null;
            foreach (var (key, entry) in _entries)
            {
                if (entry.LastBuild <= build - _keepBuilds)
                {
                    (stale ??= []).Add(key);
                }
            }

            foreach (var key in stale ?? [])
            {
                _entries.Remove(key);
            }
        }
    }

    /// <summary>The first 128 bits of the SHA-256 of the text: equal text, equal key; a collision is not a practical concern.</summary>
    private static UInt128 Key(string document)
    {
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        var bytes = Encoding.UTF8.GetBytes(document);
        SHA256.HashData(bytes, hash);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(hash);
    }

    private sealed class Entry(ReadOnlyMemory<float> vector)
    {
        public ReadOnlyMemory<float> Vector { get; } = vector;

        public long LastBuild { get; set; }
    }
}
