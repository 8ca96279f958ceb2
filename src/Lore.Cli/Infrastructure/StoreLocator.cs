using Lore.PostgreSql;
using Lore.Sqlite;

namespace Lore.Cli.Infrastructure;

/// <summary>
/// Opens the store a <c>--store</c> value names: a SQLite file path, or a PostgreSQL database as a
/// <c>postgres://user:password@host:port/db?sslmode=...</c> URI or an Npgsql connection string (<c>Host=...;Database=...</c>).
/// </summary>
/// <remarks>
/// When <c>--store</c> is left at its default (<see cref="DefaultStore"/>), the <c>LORE_STORE</c> environment variable,
/// if set, names the store instead, so that a host's configuration (for example a PostgreSQL URI with its password)
/// need not be repeated, or shown in the process list, on every command. Passing <c>--store lore.db</c> explicitly is
/// indistinguishable from the default and also yields to <c>LORE_STORE</c>.
/// </remarks>
internal static class StoreLocator
{
    /// <summary>The value every command's <c>--store</c> defaults to.</summary>
    public const string DefaultStore = "lore.db";

    /// <summary>The environment variable that names the store when <c>--store</c> is not given.</summary>
    public const string EnvironmentVariable = "LORE_STORE";

    /// <summary>Opens (creating when absent) the store; <paramref name="mustExist"/> refuses to create a new one for read-only commands.</summary>
    public static async Task<ILoreStore> OpenAsync(string store, bool mustExist, CancellationToken cancellationToken)
    {
        store = Resolve(store);
        if (string.IsNullOrWhiteSpace(store))
        {
            throw new CliException("--store is empty: give a SQLite file path or a postgres:// URI.");
        }

        if (PostgresConnectionString.IsPostgres(store))
        {
            return await OpenPostgresAsync(store, mustExist, cancellationToken);
        }

        var path = Path.GetFullPath(store);
        if (Directory.Exists(path))
        {
            throw new CliException($"{path} is a folder, not a store: a Lore store is a file (for example --store {Path.Combine(path, "lore.db")}).");
        }

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

    /// <summary>The store to open: <paramref name="store"/>, or <c>LORE_STORE</c> when <paramref name="store"/> is the default.</summary>
    public static string Resolve(string store)
        => store == DefaultStore && Environment.GetEnvironmentVariable(EnvironmentVariable) is { Length: > 0 } configured ? configured.Trim() : store;

    private static async Task<ILoreStore> OpenPostgresAsync(string store, bool mustExist, CancellationToken cancellationToken)
    {
        try
        {
            if (mustExist && !await PostgresLoreStore.ExistsAsync(store, new PostgresStoreOptions(), cancellationToken))
            {
                var location = PostgresConnectionString.Describe(PostgresConnectionString.Parse(store));
                throw new CliException($"no Lore store in {location} yet (run 'lore ingest' or 'lore demo' with this --store first).");
            }

            return await PostgresLoreStore.OpenAsync(store, cancellationToken);
        }
        catch (FormatException e)
        {
            throw new CliException($"--store: {e.Message}");
        }
        catch (IOException e)
        {
            throw new CliException(e.Message);
        }
    }
}
