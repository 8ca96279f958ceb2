namespace Lore;

/// <summary>
/// Implemented by stores that several processes share, so that learning passes over one tenant never interleave
/// their read-modify-write of learned state (read the lessons, merge new evidence, save them, publish a snapshot):
/// two workers doing it at once would each save the lessons they read and one batch's evidence would be lost.
/// A holder that dies releases the lock too (PostgreSQL: its session ends; SQLite: the lock's lease lapses).
/// </summary>
public interface ILearningLock
{
    /// <summary>Waits until the caller holds the tenant's learning lock; disposing the result releases it.</summary>
    Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default);
}
