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
/// scattered add per posting. Keys found in a large share of the documents ("common" keys) are added after all rare
/// keys with a fused multiply-add; a common key in most documents is stored as a dense column (one SIMD pass over
/// contiguous memory), one in fewer than half as a posting list of its own (half the bytes of a column or less, the
/// difference between streaming a column from memory and a few cache lines when the index is cold). Skipping a
/// column's zeros changes nothing: a fused multiply-add of zero leaves a non-negative accumulator exactly as it was.
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
    /// <summary>Keys present in at least 1/this of the documents (and at least 32) are common: added by fused multiply-add.</summary>
    public const int DenseShareDivisor = 12;

    /// <summary>At most this many documents' worth of common keys (64 MB as dense columns); the most frequent keys win.</summary>
    public const long MaxDenseFloats = 16L * 1024 * 1024;

    /// <summary>Resolutions kept on the stack; larger queries rent from the shared pool.</summary>
    private const int MaxStackKeys = 256;

    /// <summary>Cache lines of one posting list prefetched ahead of the walk (longer lists stream by themselves).</summary>
    private const int PrefetchLines = 8;

    /// <summary>Set on a common key's entry in <see cref="_offsets"/>.</summary>
    private const int CommonFlag = int.MinValue;

    /// <summary>Set (with <see cref="CommonFlag"/>) on the entry of a common key stored as a dense column.</summary>
    private const int ColumnFlag = 1 << 30;

    private const int OffsetMask = ColumnFlag - 1;

    /// <summary>
    /// Key k's postings are <c>_postings[_offsets[k] &amp; OffsetMask .. _offsets[k + 1] &amp; OffsetMask)</c>, its
    /// flags say whether it is common and whether it is a dense column (whose range is empty).
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

        var commonThreshold = Math.Max(32, n / DenseShareDivisor);
        var maxCommon = n == 0 ? 0 : (int)Math.Min(int.MaxValue, MaxDenseFloats / n);
        var common = new bool[keySpace];
        foreach (var key in Enumerable.Range(0, keySpace).Where(k => df[k] >= commonThreshold).OrderByDescending(k => df[k]).ThenBy(k => k).Take(maxCommon))
        {
            common[key] = true;
        }

        // A posting (8 bytes) per document holding the key against a float (4 bytes) per document: a column pays from half.
        var denseKeys = Enumerable.Range(0, keySpace).Where(k => common[k] && df[k] * 2L >= n).ToArray();

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
                offsets[key] |= CommonFlag | ColumnFlag;
                nextDense++;
                continue;
            }

            if (common[key])
            {
                offsets[key] |= CommonFlag;
            }

            total += df[key];
            if (total > OffsetMask)
            {
                throw new InvalidOperationException($"The index would hold more than {OffsetMask} postings; split the snapshot.");
            }
        }

        offsets[keySpace] = total;
        var next = new int[keySpace];
        for (var key = 0; key < keySpace; key++)
        {
            next[key] = offsets[key] & OffsetMask;
        }

        var postings = new Posting[total];
        var dense = new float[checked(denseKeys.Length * n)];
        for (var d = 0; d < n; d++)
        {
            var (keys, values) = documents[d];
            for (var k = 0; k < keys.Length; k++)
            {
                var key = keys[k];
                if ((offsets[key] & ColumnFlag) == 0)
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
    /// Adds, for every key, its query weight times the key's weight to each document's accumulator: the rare keys'
    /// posting lists in the order of the keys, then the common keys in the order of the keys by fused multiply-add
    /// (so every document sees the same operations in the same order whichever way a common key is stored). Keys are
    /// resolved and their lists prefetched before any list is walked, so the cache misses of one key overlap with the
    /// next key's.
    /// </summary>
    public void AccumulateMany(ReadOnlySpan<int> keys, ReadOnlySpan<float> queryWeights, Span<float> accumulators)
    {
        int[]? rented = null;
        var resolved = keys.Length <= MaxStackKeys
            ? stackalloc Resolution[keys.Length]
            : MemoryMarshal.Cast<int, Resolution>((rented = ArrayPool<int>.Shared.Rent(keys.Length * 2)).AsSpan(0, keys.Length * 2));
        try
        {
            var commonCount = Resolve(keys, resolved);
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

            if (commonCount > 0)
            {
                AccumulateCommon(resolved, queryWeights, acc);
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
    /// Each key's <see cref="Resolution"/> (count 0 when absent) and a prefetch of the head of every list it will walk.
    /// Returns how many keys are common.
    /// </summary>
    private int Resolve(ReadOnlySpan<int> keys, Span<Resolution> resolved)
    {
        var offsets = _offsets;
        var present = _present;
        var keySpace = offsets.Length - 1;
        var commonCount = 0;
        for (var i = 0; i < keys.Length; i++)
        {
            var key = keys[i];
            if ((uint)key >= (uint)keySpace || (present is not null && (present[key >> 6] & (1UL << key)) == 0))
            {
                resolved[i] = default;
                continue;
            }

            var entry = offsets[key];
            if ((entry & ColumnFlag) != 0)
            {
                resolved[i] = new Resolution(Array.BinarySearch(_denseKeys, key), Resolution.DenseColumn);
                commonCount++;
                continue;
            }

            var from = entry & OffsetMask;
            var count = (offsets[key + 1] & OffsetMask) - from;
            if (count > 0 && Sse.IsSupported)
            {
                PrefetchList(from, count);
            }

            if (entry < 0)
            {
                resolved[i] = new Resolution(from, Resolution.CommonList - count);
                commonCount++;
            }
            else
            {
                resolved[i] = new Resolution(from, count);
            }
        }

        return commonCount;
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

    /// <summary>The common keys, in the order of the keys: acc = fma(weight, q, acc) for each document holding the key.</summary>
    private void AccumulateCommon(ReadOnlySpan<Resolution> resolved, ReadOnlySpan<float> queryWeights, Span<float> acc)
    {
        for (var i = 0; i < resolved.Length; i++)
        {
            var (from, count) = resolved[i];
            var weight = queryWeights[i];
            if (count == Resolution.DenseColumn)
            {
                TensorPrimitives.FusedMultiplyAdd(_dense.AsSpan(from * DocumentCount, DocumentCount), weight, acc, acc);
            }
            else if (count <= Resolution.CommonList)
            {
                foreach (var posting in _postings.AsSpan(from, Resolution.CommonList - count))
                {
                    ref var slot = ref acc[posting.Document];
                    slot = MathF.FusedMultiplyAdd(posting.Weight, weight, slot);
                }
            }
        }
    }

    /// <summary>
    /// Where a query key's postings are: a rare key's range of the posting array (count &gt;= 0), a common key's range
    /// (count = <see cref="CommonList"/> - length), or a dense column (count = <see cref="DenseColumn"/>, From its column).
    /// </summary>
    private readonly record struct Resolution(int From, int Count)
    {
        public const int DenseColumn = -1;

        public const int CommonList = -2;
    }
}

/// <summary>One document's weight for a key, side by side so that reading a posting costs one memory access.</summary>
internal readonly record struct Posting(int Document, float Weight);
