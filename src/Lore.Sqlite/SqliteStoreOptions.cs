namespace Lore.Sqlite;

/// <summary>
/// The embedded store's trade-offs between durability and speed. The defaults never lose data that
/// <see cref="ILoreStore.AppendAsync"/> has acknowledged, even on power loss.
/// </summary>
public sealed record SqliteStoreOptions
{
    /// <summary>
    /// True (the default): every commit is flushed to the disk before it is acknowledged (<c>PRAGMA synchronous=FULL</c>),
    /// so acknowledged data survives a crash of the process or of the machine. False uses <c>synchronous=NORMAL</c>,
    /// which in WAL mode never corrupts the file but may lose the last commits on a power loss, in exchange for
    /// cheaper small transactions. Capture writes large batches, so the default costs little.
    /// </summary>
    public bool FlushEveryCommit { get; init; } = true;

    /// <summary>How long an operation waits for another process holding the file's write lock before it fails.</summary>
    public TimeSpan BusyTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock that stamps what the store times itself (rollout <c>UpdatedAt</c>, migrations); tests pass a fake one.</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
