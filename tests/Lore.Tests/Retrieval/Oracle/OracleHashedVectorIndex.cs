using Lore.Retrieval;
namespace Lore.Tests.Retrieval.Oracle;

/// <summary>
/// Cosine similarity of a query with every lesson under the built-in <see cref="HashedEmbedding"/>, computed exactly
/// but without touching each n-gram of each frequent word. A lesson's raw feature vector is the sum of its words'
/// features (unigram and character n-grams) plus its bigrams, so it splits exactly into
/// <c>Σ tf(word) · φ(word)</c> over the snapshot's frequent words and a remainder. For a frequent word the query
/// needs only one number, <c>⟨q, φ(word)⟩</c>, and then one pass over the lessons holding that word, instead of a
/// pass per n-gram (a word has about six); the remainder goes through an ordinary inverted index. The frequent
/// words are exactly where the posting mass is, so this is where the time goes.
/// </summary>
internal sealed class HashedVectorIndex
{
    private readonly PostingIndex _rest;
    private readonly PostingIndex _frequentWordFeatures;
    private readonly PostingIndex _frequentWordLessons;

    private HashedVectorIndex(PostingIndex rest, PostingIndex frequentWordFeatures, PostingIndex frequentWordLessons, int frequentWords)
    {
        _rest = rest;
        _frequentWordFeatures = frequentWordFeatures;
        _frequentWordLessons = frequentWordLessons;
        FrequentWords = frequentWords;
    }

    public int DocumentCount => _rest.DocumentCount;

    /// <summary>How many words are frequent enough to be scored as whole words.</summary>
    public int FrequentWords { get; }

    /// <summary>A word in at least this many documents (and this share of them) is scored as a whole word.</summary>
    internal static int FrequentThreshold(int documents) => Math.Max(16, documents / 16);

    public static HashedVectorIndex Build(IReadOnlyList<string> documents)
    {
        var n = documents.Count;
        var tokens = new TokenList();
        var df = new Dictionary<string, int>(StringComparer.Ordinal);
        var dfLookup = df.GetAlternateLookup<ReadOnlySpan<char>>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var seenLookup = seen.GetAlternateLookup<ReadOnlySpan<char>>();
        foreach (var document in documents)
        {
            tokens.Clear();
            TextTokenizer.Tokenize(document, tokens);
            seen.Clear();
            for (var i = 0; i < tokens.Count; i++)
            {
                if (!tokens[i].IsStopWord && seenLookup.Add(tokens.Text(i)))
                {
                    dfLookup[tokens.Text(i)] = dfLookup.TryGetValue(tokens.Text(i), out var count) ? count + 1 : 1;
                }
            }
        }

        var threshold = FrequentThreshold(n);
        var frequent = df.Where(p => p.Value >= threshold).Select(p => p.Key).Order(StringComparer.Ordinal).ToArray();
        var frequentIds = frequent.Select((w, i) => (w, i)).ToDictionary(p => p.w, p => p.i, StringComparer.Ordinal);
        var frequentLookup = frequentIds.GetAlternateLookup<ReadOnlySpan<char>>();

        var restRows = new (int[] Keys, float[] Weights)[n];
        var wordRows = new (int[] Keys, float[] Weights)[n];
        var full = new FeatureBuffer();
        var rest = new FeatureBuffer();
        var counts = new Dictionary<int, int>();
        for (var d = 0; d < n; d++)
        {
            tokens.Clear();
            TextTokenizer.Tokenize(documents[d], tokens);
            full.Clear();
            rest.Clear();
            counts.Clear();
            var previous = -1;
            for (var i = 0; i < tokens.Count; i++)
            {
                if (tokens[i].IsStopWord)
                {
                    continue;
                }

                var word = tokens.Text(i);
                HashedEmbedding.AddWordFeatures(word, full);
                if (frequentLookup.TryGetValue(word, out var id))
                {
                    counts[id] = counts.GetValueOrDefault(id) + 1;
                }
                else
                {
                    HashedEmbedding.AddWordFeatures(word, rest);
                }

                if (previous >= 0)
                {
                    HashedEmbedding.AddBigram(tokens.Text(previous), word, full);
                    HashedEmbedding.AddBigram(tokens.Text(previous), word, rest);
                }

                previous = i;
            }

            var norm = full.Merge();
            var scale = norm > 0 ? (float)(1 / norm) : 0f;
            rest.Merge();
            var restKeys = rest.Dimensions.ToArray();
            var restWeights = rest.Weights.ToArray();
            for (var k = 0; k < restWeights.Length; k++)
            {
                restWeights[k] *= scale;
            }

            restRows[d] = (restKeys, restWeights);
            wordRows[d] = ([.. counts.Keys], [.. counts.Values.Select(tf => tf * scale)]);
        }

        var featureRows = new (int[] Keys, float[] Weights)[frequent.Length];
        for (var w = 0; w < frequent.Length; w++)
        {
            var features = new FeatureBuffer();
            HashedEmbedding.AddWordFeatures(frequent[w], features);
            features.Merge();
            featureRows[w] = (features.Dimensions.ToArray(), features.Weights.ToArray());
        }

        return new HashedVectorIndex(
            PostingIndex.Build(restRows, HashedEmbedding.Dimensions),
            PostingIndex.Build(featureRows, HashedEmbedding.Dimensions),
            PostingIndex.Build(wordRows, frequent.Length),
            frequent.Length);
    }

    /// <summary>
    /// Adds the cosine of the unit-norm query (<paramref name="dimensions"/>, <paramref name="weights"/>) with each
    /// lesson to <paramref name="accumulators"/>. <paramref name="wordScratch"/> needs <see cref="FrequentWords"/> slots.
    /// </summary>
    public void Accumulate(ReadOnlySpan<int> dimensions, ReadOnlySpan<float> weights, Span<float> accumulators, Span<float> wordScratch, Span<int> wordIds)
    {
        _rest.AccumulateMany(dimensions, weights, accumulators);
        if (FrequentWords == 0)
        {
            return;
        }

        var perWord = wordScratch[..FrequentWords];
        perWord.Clear();
        _frequentWordFeatures.AccumulateMany(dimensions, weights, perWord);
        var count = 0;
        for (var w = 0; w < perWord.Length; w++)
        {
            if (perWord[w] != 0)
            {
                wordIds[count] = w;
                perWord[count++] = perWord[w];
            }
        }

        _frequentWordLessons.AccumulateMany(wordIds[..count], perWord[..count], accumulators);
    }
}
