using Lore.Retrieval;
namespace Lore.Tests.Retrieval.Oracle;

/// <summary>
/// BM25 over a fixed set of documents. Each posting stores its document's full BM25 term contribution (idf times the
/// saturated, length-normalised term frequency), so scoring a query is one add per posting of its terms (or one
/// SIMD pass for a term most documents share) and nothing for documents that share no term with the query.
/// </summary>
internal sealed class LexicalIndex
{
    public const float K1 = 1.2f;
    public const float B = 0.75f;

    private readonly Dictionary<string, int> _terms;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _lookup;
    private readonly float[] _idf;

    private LexicalIndex(Dictionary<string, int> terms, float[] idf, PostingIndex postings)
    {
        _terms = terms;
        _lookup = terms.GetAlternateLookup<ReadOnlySpan<char>>();
        _idf = idf;
        Postings = postings;
    }

    public int DocumentCount => Postings.DocumentCount;

    public int TermCount => _terms.Count;

    /// <summary>Term id to per-document BM25 contributions.</summary>
    public PostingIndex Postings { get; }

    /// <summary>Builds the index; each document is its list of (non-stop-word) tokens.</summary>
    public static LexicalIndex Build(IReadOnlyList<IReadOnlyList<string>> documents)
    {
        var terms = new Dictionary<string, int>(StringComparer.Ordinal);
        var frequencies = new Dictionary<int, int>[documents.Count];
        var df = new List<int>();
        long totalLength = 0;
        for (var d = 0; d < documents.Count; d++)
        {
            var counts = frequencies[d] = [];
            foreach (var token in documents[d])
            {
                if (!terms.TryGetValue(token, out var id))
                {
                    id = terms.Count;
                    terms.Add(token, id);
                    df.Add(0);
                }

                if (counts.TryGetValue(id, out var tf))
                {
                    counts[id] = tf + 1;
                }
                else
                {
                    counts[id] = 1;
                    df[id]++;
                }
            }

            totalLength += documents[d].Count;
        }

        var n = documents.Count;
        var averageLength = n == 0 ? 1.0 : Math.Max(1.0, (double)totalLength / n);
        var idf = new float[terms.Count];
        for (var t = 0; t < idf.Length; t++)
        {
            idf[t] = (float)Math.Log(1 + ((n - df[t] + 0.5) / (df[t] + 0.5)));
        }

        var rows = new (int[] Keys, float[] Weights)[n];
        for (var d = 0; d < n; d++)
        {
            var norm = K1 * (1 - B + (B * documents[d].Count / averageLength));
            var keys = new int[frequencies[d].Count];
            var weights = new float[keys.Length];
            var k = 0;
            foreach (var (term, tf) in frequencies[d])
            {
                keys[k] = term;
                weights[k++] = (float)(idf[term] * tf * (K1 + 1) / (tf + norm));
            }

            rows[d] = (keys, weights);
        }

        return new LexicalIndex(terms, idf, PostingIndex.Build(rows, terms.Count));
    }

    /// <summary>The id of a term, or -1 when no document contains it.</summary>
    public int TermId(ReadOnlySpan<char> term) => _lookup.TryGetValue(term, out var id) ? id : -1;

    public float Idf(int term) => _idf[term];
}
