using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lore;

/// <summary>Registers Lore with dependency injection, so <c>UseLore()</c> finds the runtime on its own.</summary>
public static class LoreServiceCollectionExtensions
{
    /// <summary>
    /// Registers one <see cref="LoreRuntime"/> for the container, opened on first use with the configured options
    /// (the logger factory and embedding generator come from the container unless set). The container disposes it, and with it the store;
    /// dispose the service provider asynchronously (<c>await provider.DisposeAsync()</c>) so capture is flushed.
    /// </summary>
    public static IServiceCollection AddLore(this IServiceCollection services, Action<LoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        services.AddSingleton(provider =>
        {
            var options = new LoreOptions
            {
                LoggerFactory = provider.GetService<ILoggerFactory>(),
                EmbeddingGenerator = provider.GetService<IEmbeddingGenerator<string, Embedding<float>>>(),
            };
            configure(options);

            // Opening reads the active snapshot from the store; run it off any synchronization context so that
            // resolving the service from a UI or legacy ASP.NET thread cannot deadlock.
            return Task.Run(() => LoreRuntime.OpenAsync(options)).GetAwaiter().GetResult();
        });
        return services;
    }
}
