using System.Collections.Concurrent;
using Lore.Testing;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>
/// Databases on the test run's shared throwaway server. A test rents one holding an empty, migrated Lore schema and
/// returns it when done; a returned database is wiped back to exactly that state (every session ended, every month
/// partition dropped, every table emptied, every sequence restarted) and handed to the next test. Copying a
/// template (CREATE DATABASE) costs far more than the wipe on a busy two-core machine, and the contract alone runs
/// over a hundred tests one after the other.
/// </summary>
internal static class TestDatabases
{
    private const string TemplateName = "lore_migrated_template";

    private static readonly Lazy<Task<string>> Template = new(CreateTemplateAsync);

    private static readonly ConcurrentBag<string> Returned = [];

    // Databases out on rent: a database returned twice, or returned while another test holds it, would be wiped (every
    // session on it ended) under the test that rented it next, so a return of a database not out on rent is refused.
    private static readonly ConcurrentDictionary<string, byte> Rented = new(StringComparer.Ordinal);

    public static Task<PostgresServer> ServerAsync() => PostgresServer.SharedAsync();

    /// <summary>A database holding an empty, migrated Lore schema (default schema name); returns its connection string.</summary>
    public static async Task<string> RentMigratedAsync()
    {
        if (!Returned.TryTake(out var database))
        {
            var server = await ServerAsync();
            database = await server.CreateDatabaseAsync(await Template.Value);
        }

        if (!Rented.TryAdd(database, 0))
        {
            throw new InvalidOperationException($"The test database {database} was handed out while already rented.");
        }

        return database;
    }

    /// <summary>Wipes a rented database back to the empty migrated schema and keeps it for the next test.</summary>
    public static async Task ReturnAsync(string connectionString)
    {
        if (!Rented.TryRemove(connectionString, out _))
        {
            throw new InvalidOperationException($"The test database {connectionString} is returned but is not out on rent (returned twice?).");
        }

        // Every pool, not only this connection string's: a test may have reached the database by another connection
        // string (a postgres:// URI with its own application name is its own pool), and the wipe below ends every
        // session on it, so connections left idle in such a pool would hand the next renter 57P01 on first use.
        NpgsqlConnection.ClearAllPools();

        await using (var connection = new NpgsqlConnection(connectionString))
        {
            await connection.OpenAsync();
            await using var wipe = new NpgsqlCommand(WipeSql, connection);
            await wipe.ExecuteNonQueryAsync();
        }

        Returned.Add(connectionString);
    }

    /// <summary>A new, empty database (no Lore schema yet), for tests of migration itself; drop it after.</summary>
    public static async Task<string> CreateEmptyAsync() => await (await ServerAsync()).CreateDatabaseAsync();

    public static async Task DropAsync(string connectionString) => await (await ServerAsync()).DropDatabaseAsync(connectionString);

    // Runs as the superuser: session_replication_role = replica keeps the audit log's append-only triggers (which
    // refuse TRUNCATE) from firing for this one wipe.
    private const string WipeSql = """
        SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid();
        DO $$
        DECLARE
            r record;
        BEGIN
            FOR r IN SELECT n.nspname, c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                     JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'lore' AND c.relkind = 'r' LOOP
                EXECUTE format('DROP TABLE %I.%I', r.nspname, r.relname);
            END LOOP;
            FOR r IN SELECT nspname FROM pg_namespace
                     WHERE nspname NOT IN ('lore', 'public', 'information_schema') AND nspname NOT LIKE 'pg\_%' LOOP
                EXECUTE format('DROP SCHEMA %I CASCADE', r.nspname);
            END LOOP;
            PERFORM set_config('session_replication_role', 'replica', true);
            EXECUTE (SELECT 'TRUNCATE ' || string_agg(format('%I.%I', schemaname, tablename), ', ') || ' RESTART IDENTITY'
                     FROM pg_tables WHERE schemaname = 'lore' AND tablename <> 'schema_migrations');
        END $$;
        """;

    private static async Task<string> CreateTemplateAsync()
    {
        var server = await ServerAsync();
        await server.CreateTemplateAsync(TemplateName, async connectionString =>
        {
            await using var store = await PostgresLoreStore.OpenAsync(connectionString);
        });
        return TemplateName;
    }
}
