using Lore.Retrieval;
using System.Numerics.Tensors;

namespace Lore.Tests.Retrieval.Oracle;

/// <summary>
/// An inverted index from small integer keys (BM25 term ids, hashed embedding dimensions) to per-document weights,
/// with one query-time operation: "add q times this key's weight to every document's accumulator". Rare keys keep a
/// posting list (compressed sparse rows, documents ascending, document and weight side by side) and cost one
/// scattered add per posting; keys found in a large share of the documents are stored as one dense column each and
/// added with a SIMD multiply-add over contiguous memory. Keys resolve through a flat table, not a hash map.
/// </summary>
internal sealed class PostingIndex
{
    /// <summary>Keys present in at least 1/this of the documents (and at least 32) become dense columns.</summary>
    public const int DenseShareDivisor = 12;

    /// <summary>At most this many floats in dense columns (64 MB); the most frequent keys win.</summary>
    public const long MaxDenseFloats = 16L * 1024 * 1024;

    /// <summary>0: key absent; s &gt; 0: posting list s - 1; s &lt; 0: dense column ~s.</summary>
    private readonly int[] _slots;
    private readonly int[] _start;
    private readonly Posting[] _postings;
    private readonly float[] _dense;

    private PostingIndex(int documentCount, int keyCount, int[] slots, int[] start, Posting[] postings, float[] dense, int denseColumns)
    {
        DocumentCount = documentCount;
        KeyCount = keyCount;
        _slots = slots;
        _start = start;
        _postings = postings;
        _dense = dense;
        DenseColumns = denseColumns;
    }

    public int DocumentCount { get; }

    public int KeyCount { get; }

    public int DenseColumns { get; }

    public int SparsePostings => _postings.Length;

    /// <summary>
    /// Builds the index. <paramref name="documents"/>[d] lists document d's distinct keys, each in
    /// [0, <paramref name="keySpace"/>), and their weights.
    /// </summary>
    public static PostingIndex Build(IReadOnlyList<(int[] Keys, float[] Weights)> documents, int keySpace)
    {
        var n = documents.Count;
        var df = new int[keySpace];
        foreach (var (keys, _) in documents)
        {
            foreach (var key in keys)
            {
                df[key]++;
            }
        }

        var denseThreshold = Math.Max(32, n / DenseShareDivisor);
        var maxColumns = n == 0 ? 0 : (int)Math.Min(int.MaxValue, MaxDenseFloats / n);
        var denseKeys = Enumerable.Range(0, keySpace)
            .Where(k => df[k] >= denseThreshold)
            .OrderByDescending(k => df[k]).ThenBy(k => k)
            .Take(maxColumns)
            .ToHashSet();

        var slots = new int[keySpace];
        var start = new List<int>();
        var total = 0;
        var denseCount = 0;
        var keyCount = 0;
        for (var key = 0; key < keySpace; key++)
        {
            if (df[key] == 0)
            {
                continue;
            }

            keyCount++;
            if (denseKeys.Contains(key))
            {
                slots[key] = ~denseCount++;
            }
            else
            {
                start.Add(total);
                slots[key] = start.Count;
                total += df[key];
            }
        }

        start.Add(total);
        var startArray = start.ToArray();
        var next = startArray[..^1];
        var postings = new Posting[total];
        var dense = new float[checked(denseCount * n)];
        for (var d = 0; d < n; d++)
        {
            var (keys, values) = documents[d];
            for (var k = 0; k < keys.Length; k++)
            {
                var slot = slots[keys[k]];
                if (slot > 0)
                {
                    postings[next[slot - 1]++] = new Posting(d, values[k]);
                }
                else
                {
                    dense[(~slot * n) + d] += values[k];
                }
            }
        }

        return new PostingIndex(n, keyCount, slots, startArray, postings, dense, denseCount);
    }

    /// <summary>
    /// Adds, for every key, its query weight times the key's weight to each document's accumulator. Keys are resolved
    /// and their list heads prefetched before any list is walked, so the cache misses of one key overlap with the
    /// next key's. Dense columns are applied block by block so a block of accumulators stays in the L1 cache while
    /// the columns stream past it.
    /// </summary>
    public void AccumulateMany(ReadOnlySpan<int> keys, ReadOnlySpan<float> queryWeights, Span<float> accumulators)
    {
        const int MaxStack = 512;
        Span<int> resolved = keys.Length <= MaxStack ? stackalloc int[keys.Length] : new int[keys.Length];
        var slots = _slots;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            resolved[i] = (uint)key < (uint)slots.Length ? slots[key] : 0;
        }

        var denseCount = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            var slot = resolved[i];
            if (slot < 0)
            {
                denseCount++;
            }
        }

        var acc = accumulators[..DocumentCount];
        for (var i = 0; i < keys.Length; i++)
        {
            if (resolved[i] > 0)
            {
                Scatter(resolved[i] - 1, queryWeights[i], acc);
            }
        }

        if (denseCount == 0)
        {
            return;
        }

        const int Block = 2048;
        for (var from = 0; from < DocumentCount; from += Block)
        {
            var length = Math.Min(Block, DocumentCount - from);
            var block = acc.Slice(from, length);
            for (var i = 0; i < keys.Length; i++)
            {
                if (resolved[i] < 0)
                {
                    var column = _dense.AsSpan((~resolved[i] * DocumentCount) + from, length);
                    TensorPrimitives.FusedMultiplyAdd(column, queryWeights[i], block, block);
                }
            }
        }
    }

    private void Scatter(int list, float queryWeight, Span<float> acc)
    {
        var from = _start[list];
        foreach (var posting in _postings.AsSpan(from, _start[list + 1] - from))
        {
            acc[posting.Document] += queryWeight * posting.Weight;
        }
    }
}

/// <summary>One document's weight for a key, side by side so that reading a posting costs one memory access.</summary>
internal readonly record struct Posting(int Document, float Weight);
