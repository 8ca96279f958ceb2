using Npgsql;

namespace Lore.PostgreSql.Migrations;

/// <summary>One versioned change of the schema; its SQL lives in an embedded <c>.sql</c> file beside this class.</summary>
/// <param name="Version">The schema version it brings the database to.</param>
/// <param name="Name">Its name, recorded with the version.</param>
/// <param name="ScriptFile">The embedded SQL script.</param>
/// <param name="Then">Work SQL cannot do (hashing, for example), run in the same transaction right after the script.</param>
internal sealed record Migration(int Version, string Name, string ScriptFile, Func<NpgsqlConnection, NpgsqlTransaction, CancellationToken, Task>? Then = null)
{
    public string LoadSql()
    {
        var resource = "Lore.PostgreSql.Migrations." + ScriptFile;
        using var stream = typeof(Migration).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Migration script '{resource}' is not embedded in {typeof(Migration).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>
/// Brings Lore's schema in a database up to what this build knows: applies the missing migrations in order, in one
/// transaction, and records each in <c>schema_migrations</c>. The transaction first takes an advisory lock, so that
/// hosts starting together apply each migration once (the others wait, then find nothing to do); DDL is
/// transactional in PostgreSQL, so a failed migration leaves the schema as it was. A schema written by a newer Lore is
/// refused rather than guessed at.
/// </summary>
internal static class SchemaMigrator
{
    /// <summary>Every migration, in the order it must be applied. Append only: never edit or reorder a shipped one.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "initial", "0001_initial.sql"),
        new(2, "sources-and-tenant-isolation", "0002_sources_and_tenant_isolation.sql", AuditTenantChains.BackfillAsync),
        new(4, "rollout-outcomes", "0004_rollout_outcomes.sql"),
        new(5, "episode-end-reason", "0005_episode_end_reason.sql"),
        new(6, "failure-modes", "0006_failure_modes.sql"),
        new(7, "outcome-failure-mode", "0007_outcome_failure_mode.sql"),
        new(8, "one-episode-id-index", "0008_one_episode_id_index.sql"),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>
    /// Applies what is missing, up to <paramref name="upToVersion"/> (null: the latest); returns the versions applied
    /// now (empty when the schema was up to date, or another process migrated it first).
    /// </summary>
    public static async Task<IReadOnlyList<int>> MigrateAsync(NpgsqlDataSource dataSource, string schema, string location, TimeProvider clock, int? upToVersion, CancellationToken cancellationToken)
    {
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        await using (var lockCommand = new NpgsqlCommand("SELECT pg_advisory_xact_lock($1);", connection, transaction))
        {
            lockCommand.Parameters.Add(new NpgsqlParameter<long> { TypedValue = AdvisoryLocks.Key(schema, "migrate") });
            await lockCommand.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        var quoted = PostgresText.QuoteIdentifier(schema);
        var hasMigrationTable = await ScalarAsync<bool>(connection, transaction,
            "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations');", cancellationToken, schema).ConfigureAwait(false);
        if (!hasMigrationTable)
        {
            var otherTables = await ScalarAsync<long>(connection, transaction, "SELECT count(*) FROM pg_tables WHERE schemaname = $1;", cancellationToken, schema).ConfigureAwait(false);
            if (otherTables > 0)
            {
                throw new InvalidDataException(
                    $"Schema '{schema}' of {location} holds {otherTables} table(s) of another application and no Lore schema_migrations; " +
                    "Lore will not add its tables to it. Give Lore its own schema (PostgresStoreOptions.Schema) or database.");
            }
        }

        await ExecuteAsync(connection, transaction, $"""
            CREATE SCHEMA IF NOT EXISTS {quoted};
            SET LOCAL search_path TO {quoted};
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at text NOT NULL
            );
            """, cancellationToken).ConfigureAwait(false);

        var applied = new Dictionary<int, string>();
        await using (var read = new NpgsqlCommand("SELECT version, name FROM schema_migrations ORDER BY version;", connection, transaction))
        await using (var rows = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await rows.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                applied[rows.GetInt32(0)] = rows.GetString(1);
            }
        }

        var newest = applied.Count == 0 ? 0 : applied.Keys.Max();
        if (newest > LatestVersion)
        {
            throw new NotSupportedException(
                $"{location} has Lore schema version {newest} ('{applied[newest]}'), newer than this build knows " +
                $"(up to {LatestVersion}); open it with a newer version of Lore.");
        }

        foreach (var (version, name) in applied)
        {
            var known = All.FirstOrDefault(m => m.Version == version);
            if (known is not null && known.Name != name)
            {
                throw new InvalidDataException(
                    $"{location} records schema version {version} as '{name}', but this build's version {version} is '{known.Name}'; the schema was not written by this line of Lore.");
            }
        }

        var appliedNow = new List<int>();
        foreach (var migration in All.Where(m => !applied.ContainsKey(m.Version) && m.Version <= (upToVersion ?? LatestVersion)))
        {
            await ExecuteAsync(connection, transaction, migration.LoadSql(), cancellationToken).ConfigureAwait(false);
            if (migration.Then is { } then)
            {
                await then(connection, transaction, cancellationToken).ConfigureAwait(false);
            }

            await using var record = new NpgsqlCommand("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3);", connection, transaction);
            record.Parameters.Add(new NpgsqlParameter<int> { TypedValue = migration.Version });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = migration.Name });
            record.Parameters.Add(new NpgsqlParameter<string> { TypedValue = PostgresText.FromTimeUtc(clock.GetUtcNow()) });
            await record.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            appliedNow.Add(migration.Version);
        }

        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return appliedNow;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlConnection connection, NpgsqlTransaction transaction, string sql, CancellationToken cancellationToken, string parameter)
    {
        await using var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = parameter });
        return (T)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }
}
