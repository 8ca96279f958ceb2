using Lore.Embeddings.MiniLM.Tests;
using Xunit;

[assembly: AssemblyFixture(typeof(MiniLmFixture))]

namespace Lore.Embeddings.MiniLM.Tests;

/// <summary>One loaded model for the whole assembly: loading it takes seconds, using it is thread-safe.</summary>
public sealed class MiniLmFixture : IDisposable
{
    public MiniLmEmbeddingGenerator Generator { get; } = new();

    public void Dispose() => Generator.Dispose();
}
