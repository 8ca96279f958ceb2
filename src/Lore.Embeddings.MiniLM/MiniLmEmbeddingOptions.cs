namespace Lore.Embeddings.MiniLM;

/// <summary>
/// How <see cref="MiniLmEmbeddingGenerator"/> runs the model: batch size and input length trade throughput against the
/// latency of one call, threads against what else the host runs. Validated when the generator is created.
/// </summary>
public sealed class MiniLmEmbeddingOptions
{
    /// <summary>Most texts run through the model at once (a batch is padded to its longest text, so texts are batched by length).</summary>
    public int MaxBatchSize { get; set; } = 32;

    /// <summary>
    /// Characters of a text that are embedded; the rest is cut off. The model reads at most 256 word pieces, so longer
    /// text only costs time (about four characters a word piece in English).
    /// </summary>
    public int MaxInputCharacters { get; set; } = 1_024;

    /// <summary>Threads ONNX Runtime uses inside one batch; 0 lets it choose (one per core).</summary>
    public int IntraOpThreads { get; set; }

    /// <summary>Throws one <see cref="ArgumentException"/> naming every invalid setting.</summary>
    internal void Validate()
    {
        var errors = new List<string>();
        if (MaxBatchSize < 1)
        {
            errors.Add($"MaxBatchSize must be at least 1 (was {MaxBatchSize}).");
        }

        if (MaxInputCharacters < 1)
        {
            errors.Add($"MaxInputCharacters must be at least 1 (was {MaxInputCharacters}).");
        }

        if (IntraOpThreads < 0)
        {
            errors.Add($"IntraOpThreads must be 0 (ONNX Runtime chooses) or positive (was {IntraOpThreads}).");
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("MiniLmEmbeddingOptions is invalid: " + string.Join(" ", errors), "options");
        }
    }

    internal MiniLmEmbeddingOptions Copy() => new()
    {
        MaxBatchSize = MaxBatchSize,
        MaxInputCharacters = MaxInputCharacters,
        IntraOpThreads = IntraOpThreads,
    };
}
