using Lore.Sqlite;

namespace Lore.Cli.Infrastructure;

/// <summary>Opens the store a <c>--store</c> value names.</summary>
internal static class StoreLocator
{
    /// <summary>Opens (creating when absent) the store; <paramref name="mustExist"/> refuses to create a new one for read-only commands.</summary>
    public static async Task<ILoreStore> OpenAsync(string store, bool mustExist, CancellationToken cancellationToken)
    {
        if (string.IsNullOrWhiteSpace(store))
        {
            throw new CliException("--store is empty: give a SQLite file path.");
        }

        if (store.StartsWith("postgres://", StringComparison.OrdinalIgnoreCase) || store.StartsWith("postgresql://", StringComparison.OrdinalIgnoreCase))
        {
            throw new CliException("PostgreSQL stores are not supported by this build yet; use a SQLite file path.");
        }

        var path = Path.GetFullPath(store);
        if (mustExist && !File.Exists(path))
        {
            throw new CliException($"no store at {path} (run 'lore ingest' or 'lore demo --store {store}' first, or pass --store).");
        }

        var directory = Path.GetDirectoryName(path);
        if (directory is not null && !Directory.Exists(directory))
        {
            throw new CliException($"the folder {directory} for --store does not exist.");
        }

        return await SqliteLoreStore.OpenAsync(path, cancellationToken);
    }
}
