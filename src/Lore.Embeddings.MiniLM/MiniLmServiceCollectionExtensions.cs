using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Embeddings.MiniLM;

/// <summary>Registers the local MiniLM model as the container's embedding generator, which Lore's retrieval and learning then use.</summary>
public static class MiniLmServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="MiniLmEmbeddingGenerator"/> as the <c>IEmbeddingGenerator&lt;string, Embedding&lt;float&gt;&gt;</c>
    /// singleton (chained after <c>AddLore(...)</c>, which takes the generator from the container). The options are
    /// validated here; the model loads on first resolve and the container disposes it.
    /// </summary>
    /// <exception cref="ArgumentException">An option is out of range (all invalid options are named).</exception>
    public static IServiceCollection UseMiniLmEmbeddings(this IServiceCollection services, Action<MiniLmEmbeddingOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new MiniLmEmbeddingOptions();
        configure?.Invoke(options);
        options.Validate();

        // Added, not tried: asking for MiniLM by name replaces a generator registered earlier (the last registration wins).
        services.AddSingleton<IEmbeddingGenerator<string, Embedding<float>>>(_ => new MiniLmEmbeddingGenerator(options));
        return services;
    }
}
