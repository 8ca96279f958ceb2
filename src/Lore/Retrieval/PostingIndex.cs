using System.Buffers;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics.X86;

namespace Lore.Retrieval;

/// <summary>
/// An inverted index from small integer keys (BM25 term ids, hashed embedding dimensions) to per-document weights,
/// with one query-time operation: "add q times this key's weight to every document's accumulator". Rare keys keep a
/// posting list (compressed sparse rows, documents ascending, document and weight side by side) and cost one
/// scattered add per posting; keys found in a large share of the documents are stored as one dense column each and
/// added with a SIMD multiply-add over contiguous memory.
/// </summary>
/// <remarks>
/// Laid out for a query that finds the index cold in the caches (an episode's first model call, seconds after the
/// previous retrieval): a key resolves with one read of a flat offsets array indexed by the key itself (no slot table
/// in front of it), and a key space the documents fill only sparsely (the frequent words' n-grams among 2^16
/// dimensions) is guarded by a presence bitset 1/32 the size of the offsets, so absent keys cost a bit test. Every
/// posting list a query will walk is prefetched before the first is walked, so their cache misses overlap.
/// </remarks>
internal sealed class PostingIndex
{
    /// <summary>Keys present in at least 1/this of the documents (and at least 32) become dense columns.</summary>
    public const int DenseShareDivisor = 12;

    /// <summary>At most this many floats in dense columns (64 MB); the most frequent keys win.</summary>
    public const long MaxDenseFloats = 16L * 1024 * 1024;

    /// <summary>Resolutions kept on the stack; larger queries rent from the shared pool.</summary>
    private const int MaxStackKeys = 256;

    /// <summary>Cache lines of one posting list prefetched ahead of the walk (longer lists stream by themselves).</summary>
    private const int PrefetchLines = 8;

    /// <summary>
    /// Key k's postings are <c>_postings[_offsets[k] .. _offsets[k + 1] &amp; int.MaxValue)</c>; a dense key has the
    /// sign bit set on its own entry and an empty range.
    /// </summary>
    private readonly int[] _offsets;

    /// <summary>One bit per key the index holds, or null when most keys are present (the test would cost more than it saves).</summary>
    private readonly ulong[]? _present;

    /// <summary>The dense keys, ascending; column c is <c>_dense[c * DocumentCount ..]</c> and belongs to <c>_denseKeys[c]</c>.</summary>
    private readonly int[] _denseKeys;
    private readonly Posting[] _postings;
    private readonly float[] _dense;

    private PostingIndex(int documentCount, int keyCount, int[] offsets, ulong[]? present, int[] denseKeys, Posting[] postings, float[] dense)
    {
        DocumentCount = documentCount;
        KeyCount = keyCount;
        _offsets = offsets;
        _present = present;
        _denseKeys = denseKeys;
        _postings = postings;
        _dense = dense;
    }

    public int DocumentCount { get; }

    public int KeyCount { get; }

    public int DenseColumns => _denseKeys.Length;

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
            .Order()
            .ToArray();

        var offsets = new int[keySpace + 1];
        var present = new ulong[(keySpace + 63) / 64];
        var total = 0;
        var keyCount = 0;
        var nextDense = 0;
        for (var key = 0; key < keySpace; key++)
        {
            offsets[key] = total;
            if (df[key] == 0)
            {
                continue;
            }

            keyCount++;
            present[key >> 6] |= 1UL << key;
            if (nextDense < denseKeys.Length && denseKeys[nextDense] == key)
            {
                offsets[key] |= int.MinValue;
                nextDense++;
            }
            else
            {
                total += df[key];
            }
        }

        offsets[keySpace] = total;
        var next = new int[keySpace];
        for (var key = 0; key < keySpace; key++)
        {
            next[key] = offsets[key] & int.MaxValue;
        }

        var postings = new Posting[total];
        var dense = new float[checked(denseKeys.Length * n)];
        for (var d = 0; d < n; d++)
        {
            var (keys, values) = documents[d];
            for (var k = 0; k < keys.Length; k++)
            {
                var key = keys[k];
                if (offsets[key] >= 0)
                {
                    postings[next[key]++] = new Posting(d, values[k]);
                }
                else
                {
                    dense[(Array.BinarySearch(denseKeys, key) * n) + d] += values[k];
                }
            }
        }

        // The bitset pays when a query key is usually absent: in a key space at most a quarter full.
        return new PostingIndex(n, keyCount, offsets, keyCount <= keySpace / 4 ? present : null, denseKeys, postings, dense);
    }

    /// <summary>
    /// Adds, for every key, its query weight times the key's weight to each document's accumulator: the posting lists
    /// in the order of the keys, then the dense columns block by block (so a block of accumulators stays in the L1
    /// cache while the columns stream past it). Keys are resolved and their lists prefetched before any list is
    /// walked, so the cache misses of one key overlap with the next key's.
    /// </summary>
    public void AccumulateMany(ReadOnlySpan<int> keys, ReadOnlySpan<float> queryWeights, Span<float> accumulators)
    {
        int[]? rented = null;
        var resolved = keys.Length <= MaxStackKeys
            ? stackalloc Resolution[keys.Length]
            : MemoryMarshal.Cast<int, Resolution>((rented = ArrayPool<int>.Shared.Rent(keys.Length * 2)).AsSpan(0, keys.Length * 2));
        try
        {
            var denseCount = Resolve(keys, resolved);
            var acc = accumulators[..DocumentCount];
            var postings = _postings;
            for (var i = 0; i < resolved.Length; i++)
            {
                var (from, count) = resolved[i];
                if (count > 0)
                {
                    var weight = queryWeights[i];
                    foreach (var posting in postings.AsSpan(from, count))
                    {
                        acc[posting.Document] += weight * posting.Weight;
                    }
                }
            }

            if (denseCount > 0)
            {
                AccumulateDense(resolved, queryWeights, acc);
            }
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<int>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// Each key's posting range (count 0 when absent), or for a dense key its column as <c>From</c> and count -1;
    /// prefetches the head of every list. Returns how many keys are dense.
    /// </summary>
    private int Resolve(ReadOnlySpan<int> keys, Span<Resolution> resolved)
    {
        var offsets = _offsets;
        var present = _present;
        var keySpace = offsets.Length - 1;
        var denseCount = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if ((uint)key >= (uint)keySpace || (present is not null && (present[key >> 6] & (1UL << key)) == 0))
            {
                resolved[i] = default;
                continue;
            }

            var entry = offsets[key];
            if (entry < 0)
            {
                resolved[i] = new Resolution(Array.BinarySearch(_denseKeys, key), -1);
                denseCount++;
                continue;
            }

            var count = (offsets[key + 1] & int.MaxValue) - entry;
            resolved[i] = new Resolution(entry, count);
            if (count > 0 && Sse.IsSupported)
            {
                PrefetchList(entry, count);
            }
        }

        return denseCount;
    }

    private unsafe void PrefetchList(int from, int count)
    {
        ref var first = ref _postings[from];
        var lines = Math.Min(PrefetchLines, ((count * Unsafe.SizeOf<Posting>()) + 63) / 64);
        for (var line = 0; line < lines; line++)
        {
            Sse.Prefetch0((byte*)Unsafe.AsPointer(ref first) + (line * 64));
        }
    }

    private void AccumulateDense(ReadOnlySpan<Resolution> resolved, ReadOnlySpan<float> queryWeights, Span<float> acc)
    {
        const int Block = 2048;
        for (var from = 0; from < DocumentCount; from += Block)
        {
            var length = Math.Min(Block, DocumentCount - from);
            var block = acc.Slice(from, length);
            for (var i = 0; i < resolved.Length; i++)
            {
                if (resolved[i].Count < 0)
                {
                    var column = _dense.AsSpan((resolved[i].From * DocumentCount) + from, length);
                    TensorPrimitives.FusedMultiplyAdd(column, queryWeights[i], block, block);
                }
            }
        }
    }

    /// <summary>Where a query key's postings are: a range of the posting array, or (count -1) a dense column.</summary>
    private readonly record struct Resolution(int From, int Count);
}

/// <summary>One document's weight for a key, side by side so that reading a posting costs one memory access.</summary>
internal readonly record struct Posting(int Document, float Weight);
