using Microsoft.Extensions.AI;

namespace Lore.Embeddings.MiniLM.Tests;

/// <summary>Passes every request to the real model and records each text it was asked to embed.</summary>
internal sealed class CountingEmbeddingGenerator(IEmbeddingGenerator<string, Embedding<float>> inner) : DelegatingEmbeddingGenerator<string, Embedding<float>>(inner)
{
    private readonly Lock _lock = new();
    private readonly List<string> _texts = [];

    public IReadOnlyList<string> Texts
    {
        get
        {
            lock (_lock)
            {
                return [.. _texts];
            }
        }
    }

    public override Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = values.ToList();
        lock (_lock)
        {
            _texts.AddRange(list);
        }

        return base.GenerateAsync(list, options, cancellationToken);
    }

    // The shared model outlives this wrapper.
    protected override void Dispose(bool disposing)
    {
    }
}
