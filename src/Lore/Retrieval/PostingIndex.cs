using System.Numerics.Tensors;

namespace Lore.Retrieval;

/// <summary>
/// An inverted index from small integer keys (BM25 term ids, hashed embedding dimensions) to per-document weights,
/// with one query-time operation: "add q times this key's weight to every document's accumulator". Rare keys keep
/// a posting list (compressed sparse rows, documents ascending) and cost one scattered add per posting; keys found
/// in a large share of the documents are stored as one dense column each and added with a SIMD multiply-add over
/// contiguous memory. Keys are resolved through a flat table (one memory access), not a hash map.
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
    private readonly int[] _docs;
    private readonly float[] _weights;
    private readonly float[] _dense;

    private PostingIndex(int documentCount, int keyCount, int[] slots, int[] start, int[] docs, float[] weights, float[] dense, int denseColumns)
    {
        DocumentCount = documentCount;
        KeyCount = keyCount;
        _slots = slots;
        _start = start;
        _docs = docs;
        _weights = weights;
        _dense = dense;
        DenseColumns = denseColumns;
    }

    public int DocumentCount { get; }

    public int KeyCount { get; }

    public int DenseColumns { get; }

    public int SparsePostings => _docs.Length;

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
        var docs = new int[total];
        var weights = new float[total];
        var dense = new float[checked(denseCount * n)];
        for (var d = 0; d < n; d++)
        {
            var (keys, values) = documents[d];
            for (var k = 0; k < keys.Length; k++)
            {
                var slot = slots[keys[k]];
                if (slot > 0)
                {
                    var at = next[slot - 1]++;
                    docs[at] = d;
                    weights[at] = values[k];
                }
                else
                {
                    dense[(~slot * n) + d] += values[k];
                }
            }
        }

        return new PostingIndex(n, keyCount, slots, startArray, docs, weights, dense, denseCount);
    }

    /// <summary>How many documents have the key (0 when none); dense keys report every document.</summary>
    public int DocumentFrequency(int key)
    {
        var slot = (uint)key < (uint)_slots.Length ? _slots[key] : 0;
        return slot switch
        {
            0 => 0,
            > 0 => _start[slot] - _start[slot - 1],
            _ => DocumentCount,
        };
    }

    /// <summary>
    /// Adds, for every key, its query weight times the key's weight to each document's accumulator. Dense columns are
    /// applied block by block so the block of accumulators stays in the L1 cache while the columns stream past it.
    /// </summary>
    public void AccumulateMany(ReadOnlySpan<int> keys, ReadOnlySpan<float> queryWeights, Span<float> accumulators)
    {
        const int MaxStackColumns = 256;
        Span<int> columns = keys.Length <= MaxStackColumns ? stackalloc int[keys.Length] : new int[keys.Length];
        Span<float> columnWeights = keys.Length <= MaxStackColumns ? stackalloc float[keys.Length] : new float[keys.Length];
        var denseCount = 0;
        var acc = accumulators[..DocumentCount];
        var slots = _slots;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            var slot = (uint)key < (uint)slots.Length ? slots[key] : 0;
            if (slot > 0)
            {
                Scatter(slot - 1, queryWeights[i], acc);
            }
            else if (slot < 0)
            {
                columns[denseCount] = ~slot;
                columnWeights[denseCount++] = queryWeights[i];
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
            for (var c = 0; c < denseCount; c++)
            {
                var column = _dense.AsSpan((columns[c] * DocumentCount) + from, length);
                TensorPrimitives.FusedMultiplyAdd(column, columnWeights[c], block, block);
            }
        }
    }

    private void Scatter(int list, float queryWeight, Span<float> acc)
    {
        var from = _start[list];
        var docs = _docs.AsSpan(from, _start[list + 1] - from);
        var weights = _weights.AsSpan(from, docs.Length);
        for (var k = 0; k < docs.Length; k++)
        {
            acc[docs[k]] += queryWeight * weights[k];
        }
    }
}
