namespace Lore;

/// <summary>
/// Opens a store when the host starts, for stores whose opening needs I/O (PostgreSQL creates or migrates its
/// schema). A store package's <c>Use...</c> extension registers one in the container; <c>AddLore</c>'s hosted
/// service then opens it asynchronously before the runtime, so a database that cannot be reached fails the host's
/// start with its message instead of blocking a thread when a service is first resolved.
/// </summary>
public interface ILoreStoreOpener
{
    /// <summary>Opens the store; the runtime that gets it disposes it when it closes.</summary>
    Task<ILoreStore> OpenAsync(CancellationToken cancellationToken);
}
