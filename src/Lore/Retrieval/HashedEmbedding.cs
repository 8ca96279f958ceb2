namespace Lore.Retrieval;

/// <summary>A sparse vector: sorted, distinct dimension indices and their values.</summary>
internal sealed class SparseVector
{
    public static SparseVector Empty { get; } = new([], []);

    public SparseVector(int[] indices, float[] values)
    {
        Indices = indices;
        Values = values;
    }

    public int[] Indices { get; }

    public float[] Values { get; }

    public int Count => Indices.Length;

    public double Norm()
    {
        double sum = 0;
        foreach (var v in Values)
        {
            sum += (double)v * v;
        }

        return Math.Sqrt(sum);
    }

    /// <summary>The dot product (the cosine similarity when both vectors are unit-norm).</summary>
    public double Dot(SparseVector other)
    {
        double sum = 0;
        int i = 0, j = 0;
        var a = Indices;
        var b = other.Indices;
        while (i < a.Length && j < b.Length)
        {
            if (a[i] == b[j])
            {
                sum += (double)Values[i++] * other.Values[j++];
            }
            else if (a[i] < b[j])
            {
                i++;
            }
            else
            {
                j++;
            }
        }

        return sum;
    }
}

/// <summary>
/// Collects weighted hashed features, then sorts, merges and L2-normalises them. Reused across calls so that
/// embedding a query allocates nothing.
/// </summary>
internal sealed class FeatureBuffer
{
    private int[] _dims = new int[256];
    private float[] _weights = new float[256];

    public int Count { get; private set; }

    public ReadOnlySpan<int> Dimensions => _dims.AsSpan(0, Count);

    public ReadOnlySpan<float> Weights => _weights.AsSpan(0, Count);

    public void Clear() => Count = 0;

    public void Add(int dimension, float weight)
    {
        if (Count == _dims.Length)
        {
            Array.Resize(ref _dims, Count * 2);
            Array.Resize(ref _weights, Count * 2);
        }

        _dims[Count] = dimension;
        _weights[Count++] = weight;
    }

    private int[] _table = new int[1024];

    /// <summary>
    /// Sums duplicate dimensions through a small open-addressing table (no sort: the query path does not need the
    /// order) and scales to unit L2 norm.
    /// </summary>
    public void NormalizeUnordered()
    {
        if (Count == 0)
        {
            return;
        }

        var capacity = (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)(Count * 2));
        if (_table.Length < capacity)
        {
            _table = new int[capacity];
        }

        var table = _table.AsSpan(0, capacity);
        table.Clear();
        var mask = capacity - 1;
        var w = 0;
        for (var r = 0; r < Count; r++)
        {
            var dim = _dims[r];
            var h = (int)(((uint)dim * 0x9E3779B1u) >> 8) & mask;
            while (table[h] != 0 && _dims[table[h] - 1] != dim)
            {
                h = (h + 1) & mask;
            }

            if (table[h] == 0)
            {
                _dims[w] = dim;
                _weights[w] = _weights[r];
                table[h] = ++w;
            }
            else
            {
                _weights[table[h] - 1] += _weights[r];
            }
        }

        Count = w;
        double sum = 0;
        for (var i = 0; i < Count; i++)
        {
            sum += (double)_weights[i] * _weights[i];
        }

        var scale = (float)(1 / Math.Sqrt(sum));
        for (var i = 0; i < Count; i++)
        {
            _weights[i] *= scale;
        }
    }

    /// <summary>Sorts by dimension, sums duplicates and scales to unit L2 norm (an empty buffer stays empty).</summary>
    public void Normalize()
    {
        var norm = Merge();
        if (norm == 0)
        {
            return;
        }

        var scale = (float)(1 / norm);
        for (var i = 0; i < Count; i++)
        {
            _weights[i] *= scale;
        }
    }

    /// <summary>Sorts by dimension and sums duplicates; returns the L2 norm.</summary>
    public double Merge()
    {
        if (Count == 0)
        {
            return 0;
        }

        Array.Sort(_dims, _weights, 0, Count);
        var w = 0;
        for (var r = 1; r < Count; r++)
        {
            if (_dims[r] == _dims[w])
            {
                _weights[w] += _weights[r];
            }
            else
            {
                w++;
                _dims[w] = _dims[r];
                _weights[w] = _weights[r];
            }
        }

        Count = w + 1;
        double sum = 0;
        for (var i = 0; i < Count; i++)
        {
            sum += (double)_weights[i] * _weights[i];
        }

        return Math.Sqrt(sum);
    }

    public SparseVector ToVector() => Count == 0 ? SparseVector.Empty : new SparseVector(Dimensions.ToArray(), Weights.ToArray());
}

/// <summary>
/// Lore's built-in embedding: word unigrams, word bigrams and character 4-grams of the normalised tokens, hashed
/// with 64-bit FNV-1a into a fixed number of dimensions and L2-normalised. It needs no model and no network, is the
/// same on every machine and in every process (unlike <see cref="string.GetHashCode()"/>), and catches what plain
/// BM25 misses: word order (bigrams) and morphology ("refunded" and "refunding" share four 4-grams). 4-grams rather
/// than trigrams: they carry the same morphology with one feature fewer per word, and each is shared by far fewer
/// lessons, which is what the inverted index pays for at query time.
/// </summary>
internal static class HashedEmbedding
{
    /// <summary>
    /// 2^16 dimensions: a query and a lesson of a few hundred features share about 0.4 features by accident, which moves
    /// their cosine by about 0.001, while the index resolves a dimension through a flat table small enough (256 KB)
    /// to stay in cache between calls.
    /// </summary>
    public const int Dimensions = 1 << 16;

    public const float UnigramWeight = 1.0f;
    public const float BigramWeight = 0.5f;
    public const float CharGramWeight = 0.3f;

    /// <summary>Length of the character n-grams.</summary>
    public const int CharGramLength = 4;

    private const ulong FnvOffset = 14695981039346656037UL;
    private const ulong FnvPrime = 1099511628211UL;

    /// <summary>Embeds a text (index build, tests). Empty or stop-word-only text gives the empty vector.</summary>
    public static SparseVector Embed(string? text)
    {
        var tokens = new TokenList();
        TextTokenizer.Tokenize(text, tokens);
        var features = new FeatureBuffer();
        AddFeatures(tokens, features);
        features.Normalize();
        return features.ToVector();
    }

    /// <summary>Adds the (unnormalised) features of the content tokens; the caller normalises once at the end.</summary>
    public static void AddFeatures(TokenList tokens, FeatureBuffer features)
    {
        var previous = -1;
        for (var i = 0; i < tokens.Count; i++)
        {
            var token = tokens[i];
            if (token.IsStopWord)
            {
                continue;
            }

            var text = tokens.Text(token);
            AddWordFeatures(text, features);
            if (previous >= 0)
            {
                AddBigram(tokens.Text(previous), text, features);
            }

            previous = i;
        }
    }

    /// <summary>The features one word contributes on its own: its unigram and its character n-grams.</summary>
    public static void AddWordFeatures(ReadOnlySpan<char> word, FeatureBuffer features)
    {
        features.Add(Dimension(Hash('w', word)), UnigramWeight);
        AddCharGrams(word, features);
    }

    /// <summary>The feature of two consecutive content words.</summary>
    public static void AddBigram(ReadOnlySpan<char> first, ReadOnlySpan<char> second, FeatureBuffer features)
        => features.Add(Dimension(Continue(Mix(Hash('b', first), ' '), second)), BigramWeight);

    /// <summary>The n-grams of "#token#", so word starts and ends are features of their own; a padded token shorter than n is one n-gram.</summary>
    private static void AddCharGrams(ReadOnlySpan<char> token, FeatureBuffer features)
    {
        var padded = token.Length + 2;
        var length = Math.Min(CharGramLength, padded);
        for (var start = 0; start + length <= padded; start++)
        {
            var h = Mix(FnvOffset, 'c');
            for (var k = start; k < start + length; k++)
            {
                h = Mix(h, k == 0 || k == padded - 1 ? '#' : token[k - 1]);
            }

            features.Add(Dimension(h), CharGramWeight);
        }
    }

    private static ulong Hash(char kind, ReadOnlySpan<char> text) => Continue(Mix(FnvOffset, kind), text);

    private static ulong Continue(ulong h, ReadOnlySpan<char> text)
    {
        foreach (var c in text)
        {
            h = Mix(h, c);
        }

        return h;
    }

    /// <summary>FNV-1a over both bytes of a UTF-16 code unit.</summary>
    private static ulong Mix(ulong h, char c)
    {
        h = (h ^ (byte)c) * FnvPrime;
        return (h ^ (byte)(c >> 8)) * FnvPrime;
    }

    private static int Dimension(ulong h) => (int)((h ^ (h >> 32)) & (Dimensions - 1));
}
