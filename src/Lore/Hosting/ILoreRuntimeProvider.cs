namespace Lore;

/// <summary>
/// One <see cref="LoreRuntime"/> per tenant, opened on first use and shared by every caller of that tenant: how a
/// multi-tenant host keeps each tenant's lessons out of another's context. An app hosting Lore's server
/// (<c>AddLoreServer</c>) resolves it from its container to use the same runtimes the server's endpoints use.
/// </summary>
public interface ILoreRuntimeProvider
{
    /// <summary>The tenant's runtime, opening it (and loading its rollout) the first time.</summary>
    Task<LoreRuntime> GetRuntimeAsync(string tenant, CancellationToken cancellationToken = default);
}
