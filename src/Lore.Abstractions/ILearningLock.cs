namespace Lore;

/// <summary>
/// Implemented by stores that several processes share, so that learning passes over one tenant never interleave
/// their read-modify-write of learned state (read the lessons, merge new evidence, save them, publish a snapshot):
/// two workers doing it at once would each save the lessons they read and one batch's evidence would be lost.
/// A holder that dies releases the lock too (PostgreSQL: its session ends; SQLite: the lock's lease lapses without a
/// heartbeat, or at once when its holder's process is no longer running on this host).
/// </summary>
public interface ILearningLock
{
    /// <summary>Waits until the caller holds the tenant's learning lock; disposing the result releases it.</summary>
    Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default);
}

/// <summary>
/// A held learning lock that can say it was taken over from a holder that died (its process gone, or its lease
/// lapsed without a heartbeat), so the new holder can tell the operator rather than wait or proceed in silence.
/// </summary>
public interface ILearningLockHandle : IAsyncDisposable
{
    /// <summary>Whom the lock was taken from and why, or null when it was free.</summary>
    string? TakeoverNote { get; }
}
