using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;

namespace Lore;

/// <summary>Adds Lore to a <see cref="ChatClientBuilder"/> pipeline.</summary>
public static class LoreChatClientBuilderExtensions
{
    /// <summary>
    /// Injects lessons and captures trajectories. Place it before <c>UseFunctionInvocation</c> so that the whole
    /// tool loop is one call to Lore. The runtime is resolved from the service provider when not given.
    /// </summary>
    public static ChatClientBuilder UseLore(this ChatClientBuilder builder, LoreRuntime? runtime = null, Action<LoreChatClient>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Use((inner, services) =>
        {
            var lore = runtime
                ?? services.GetService<LoreRuntime>()
                ?? throw new InvalidOperationException(
                    "UseLore() was given no LoreRuntime and none is registered in the service provider: pass one, or call services.AddLore(...).");
            var client = new LoreChatClient(inner, lore);
            configure?.Invoke(client);
            return client;
        });
    }
}
