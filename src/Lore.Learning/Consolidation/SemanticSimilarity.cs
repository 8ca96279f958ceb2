using Microsoft.Extensions.AI;

namespace Lore.Learning.Consolidation;

/// <summary>
/// Embedding cosine between lesson texts for one consolidation pass: each distinct text is embedded once, the texts of
/// a group in one batch, and only groups a new proposal falls into are embedded at all.
/// </summary>
internal sealed class SemanticSimilarity(IEmbeddingGenerator<string, Embedding<float>> generator)
{
    private readonly Dictionary<string, float[]> _vectors = new(StringComparer.Ordinal);

    /// <summary>The item whose text is closest to <paramref name="text"/> by cosine, with that cosine (null for none).</summary>
    public async Task<(T? Closest, double Similarity)> ClosestAsync<T>(string text, IReadOnlyList<T> items, Func<T, string> textOf, CancellationToken cancellationToken)
        where T : class
    {
        var missing = items.Select(textOf).Append(text).Where(t => !_vectors.ContainsKey(t)).Distinct(StringComparer.Ordinal).ToArray();
        if (missing.Length > 0)
        {
            var embeddings = await generator.GenerateAsync(missing, cancellationToken: cancellationToken).ConfigureAwait(false);
            if (embeddings.Count != missing.Length)
            {
                throw new InvalidOperationException($"The embedding generator returned {embeddings.Count} embeddings for {missing.Length} lesson texts.");
            }

            for (var i = 0; i < missing.Length; i++)
            {
                _vectors[missing[i]] = Normalized(embeddings[i].Vector.Span);
            }
        }

        var query = _vectors[text];
        T? closest = null;
        var best = double.NegativeInfinity;
        foreach (var item in items)
        {
            var other = _vectors[textOf(item)];
            if (other.Length != query.Length)
            {
                throw new InvalidOperationException($"The embedding generator returned vectors of different lengths ({query.Length} and {other.Length}).");
            }

            double dot = 0;
            for (var i = 0; i < query.Length; i++)
            {
                dot += query[i] * other[i];
            }

            if (dot > best)
            {
                (closest, best) = (item, dot);
            }
        }

        return (closest, closest is null ? 0 : best);
    }

    private static float[] Normalized(ReadOnlySpan<float> vector)
    {
        double sum = 0;
        foreach (var x in vector)
        {
            sum += x * x;
        }

        var norm = Math.Sqrt(sum);
        var result = vector.ToArray();
        if (norm > 0 && double.IsFinite(norm))
        {
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = (float)(result[i] / norm);
            }
        }

        return result;
    }
}
