namespace Lore.PostgreSql;

/// <summary>Where in the database Lore keeps its tables, and the clock it stamps times with.</summary>
public sealed record PostgresStoreOptions
{
    /// <summary>
    /// The schema holding Lore's tables (created when absent). Every host and worker sharing one Lore state must use
    /// the same database and schema; a second schema in the same database is a separate, independent store.
    /// </summary>
    public string Schema { get; init; } = "lore";

    /// <summary>
    /// The clock that stamps what the store times itself (rollout <c>UpdatedAt</c>, lease expiry, migrations); tests
    /// pass a fake one. Hosts sharing a store should keep their clocks in sync (NTP), as leases compare their times.
    /// </summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>
    /// A batch of at least this many rows (steps, episodes) is written with binary COPY; smaller ones with one
    /// multi-row INSERT, whose single round trip is cheaper than setting up a COPY.
    /// </summary>
    public int CopyThreshold { get; init; } = 48;

    /// <summary>How long schema changes the store makes while running (creating or dropping a month's partitions) wait for a lock before giving up.</summary>
    public TimeSpan PartitionLockTimeout { get; init; } = TimeSpan.FromSeconds(10);
}
