using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>Adds Lore to a <see cref="ChatClientBuilder"/> pipeline.</summary>
public static class LoreChatClientBuilderExtensions
{
    /// <summary>
    /// Injects lessons and captures trajectories. Place it before <c>UseFunctionInvocation</c> so that the whole
    /// tool loop is one call to Lore. The runtime is resolved from the service provider when not given.
    /// </summary>
    public static ChatClientBuilder UseLore(this ChatClientBuilder builder, LoreRuntime? runtime = null, Action<LoreChatClient>? configure = null)
        => throw new NotImplementedException();
}
