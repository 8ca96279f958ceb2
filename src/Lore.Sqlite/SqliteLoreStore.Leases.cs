namespace Lore.Sqlite;

// Episode leases for learning workers (migration 0003). Work in progress: filled in by the multi-host work.
public sealed partial class SqliteLoreStore
{
    public Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("Episode leases are not implemented in the SQLite store yet.");

    public Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("Episode leases are not implemented in the SQLite store yet.");
}
