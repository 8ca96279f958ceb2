using System.Globalization;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Migrations;

/// <summary>One versioned change of the schema; its SQL lives in an embedded <c>.sql</c> file beside this class.</summary>
/// <param name="Version">The schema version it brings the file to.</param>
/// <param name="Name">Its name, recorded with the version.</param>
/// <param name="ScriptFile">The embedded SQL script.</param>
/// <param name="Then">Work SQL cannot do (hashing, for example), run in the same transaction right after the script.</param>
internal sealed record Migration(int Version, string Name, string ScriptFile, Action<SqliteConnection, SqliteTransaction>? Then = null)
{
    public string LoadSql()
    {
        var resource = "Lore.Sqlite.Migrations." + ScriptFile;
        using var stream = typeof(Migration).Assembly.GetManifestResourceStream(resource)
            ?? throw new InvalidOperationException($"Migration script '{resource}' is not embedded in {typeof(Migration).Assembly.GetName().Name}.");
        using var reader = new StreamReader(stream);
        return reader.ReadToEnd();
    }
}

/// <summary>
/// Brings a database file up to the schema this build knows: applies the missing migrations in order, in one
/// transaction, and records each in <c>schema_migrations</c>. A file written by a newer Lore is refused rather than
/// guessed at.
/// </summary>
internal static class SchemaMigrator
{
    /// <summary>Every migration, in the order it must be applied. Append only: never edit or reorder a shipped one.</summary>
    public static IReadOnlyList<Migration> All { get; } =
    [
        new(1, "initial", "0001_initial.sql"),
        new(2, "control-plane", "0002_control_plane.sql"),
        new(3, "episode-leases", "0003_episode_leases.sql"),
        new(4, "api-keys", "0004_api_keys.sql"),
        new(5, "sources-and-tenant-isolation", "0005_sources_and_tenant_isolation.sql", AuditTenantChains.Backfill),
        new(6, "learning-lock-owner", "0006_learning_lock_owner.sql"),
        new(7, "rollout-outcomes", "0007_rollout_outcomes.sql"),
        new(8, "crash-recovery", "0008_crash_recovery.sql"),
        new(9, "failure-modes", "0009_failure_modes.sql"),
        new(10, "outcome-failure-mode", "0010_outcome_failure_mode.sql"),
        new(11, "one-episode-id-index", "0011_one_episode_id_index.sql"),
    ];

    public static int LatestVersion => All[^1].Version;

    /// <summary>Written into the file header so that a Lore store is recognisable and another application's file is not mistaken for one ("Lore").</summary>
    public const long ApplicationId = 0x4C6F7265;

    /// <summary>
    /// Throws <see cref="InvalidDataException"/> when the file holds another application's database (tables but no Lore
    /// schema, or another application id), using reads only, so the file is left exactly as it was.
    /// </summary>
    public static void RefuseForeign(SqliteConnection connection, string location)
    {
        var applicationId = Convert.ToInt64(Scalar(connection, null, "PRAGMA application_id;"), CultureInfo.InvariantCulture);
        if (applicationId != 0 && applicationId != ApplicationId)
        {
            throw new InvalidDataException(
                $"'{location}' is a SQLite database of another application (application_id 0x{applicationId:X8}), not a Lore store; it was left as it is.");
        }

        var hasMigrationTable = Convert.ToInt64(Scalar(connection, null,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';"), CultureInfo.InvariantCulture) > 0;
        var otherTables = Convert.ToInt64(Scalar(connection, null,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations';"), CultureInfo.InvariantCulture);
        if (!hasMigrationTable && otherTables > 0)
        {
            throw new InvalidDataException(
                $"'{location}' is a SQLite database with {otherTables} table(s) of another application and no Lore schema; Lore will not add its tables to it, and left it as it is.");
        }
    }

    /// <summary>
    /// Applies what is missing, up to <paramref name="upToVersion"/> (null: the latest; tests pass an older version to
    /// build a file as an older Lore left it); returns the versions applied now (empty when the file was up to date).
    /// </summary>
    public static IReadOnlyList<int> Migrate(SqliteConnection connection, string location, TimeProvider clock, int? upToVersion = null)
    {
        // Foreign keys are off while migrating, so that a migration can rebuild a table others reference (SQLite's
        // documented way to change a constraint); they are checked before the transaction commits, and turned on again.
        var foreignKeys = Convert.ToInt64(Pragma(connection, "PRAGMA foreign_keys;"), CultureInfo.InvariantCulture) == 1;
        Pragma(connection, "PRAGMA foreign_keys = OFF;");
        try
        {
            return MigrateWithoutForeignKeys(connection, location, clock, upToVersion);
        }
        finally
        {
            if (foreignKeys)
            {
                Pragma(connection, "PRAGMA foreign_keys = ON;");
            }
        }
    }

    private static object? Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static IReadOnlyList<int> MigrateWithoutForeignKeys(SqliteConnection connection, string location, TimeProvider clock, int? upToVersion)
    {
        using var transaction = connection.BeginTransaction(deferred: false);
        var hasMigrationTable = Convert.ToInt64(Scalar(connection, transaction,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations';"), CultureInfo.InvariantCulture) > 0;
        var otherTables = Convert.ToInt64(Scalar(connection, transaction,
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations';"), CultureInfo.InvariantCulture);
        if (!hasMigrationTable && otherTables > 0)
        {
            throw new InvalidDataException(
                $"'{location}' is a SQLite database with {otherTables} table(s) of another application and no Lore schema; Lore will not add its tables to it.");
        }

        Execute(connection, transaction, """
            CREATE TABLE IF NOT EXISTS schema_migrations (
                version    INTEGER PRIMARY KEY,
                name       TEXT NOT NULL,
                applied_at TEXT NOT NULL
            );
            """);

        var applicationId = Convert.ToInt64(Scalar(connection, transaction, "PRAGMA application_id;"), CultureInfo.InvariantCulture);
        if (applicationId != 0 && applicationId != ApplicationId)
        {
            throw new InvalidDataException(
                $"'{location}' is a SQLite database of another application (application_id 0x{applicationId:X8}), not a Lore store.");
        }

        var applied = new Dictionary<int, string>();
        using (var read = connection.CreateCommand())
        {
            read.Transaction = transaction;
            read.CommandText = "SELECT version, name FROM schema_migrations ORDER BY version;";
            using var rows = read.ExecuteReader();
            while (rows.Read())
            {
                applied[rows.GetInt32(0)] = rows.GetString(1);
            }
        }

        var newest = applied.Count == 0 ? 0 : applied.Keys.Max();
        if (newest > LatestVersion)
        {
            throw new NotSupportedException(
                $"'{location}' has Lore schema version {newest} ('{applied[newest]}'), newer than this build knows " +
                $"(up to {LatestVersion}); open it with a newer version of Lore.");
        }

        foreach (var (version, name) in applied)
        {
            var known = All.FirstOrDefault(m => m.Version == version);
            if (known is not null && known.Name != name)
            {
                throw new InvalidDataException(
                    $"'{location}' records schema version {version} as '{name}', but this build's version {version} is '{known.Name}'; the file was not written by this line of Lore.");
            }
        }

        var appliedNow = new List<int>();
        foreach (var migration in All.Where(m => !applied.ContainsKey(m.Version) && m.Version <= (upToVersion ?? LatestVersion)))
        {
            Execute(connection, transaction, migration.LoadSql());
            migration.Then?.Invoke(connection, transaction);
            using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($version, $name, $at);";
            record.Parameters.AddWithValue("$version", migration.Version);
            record.Parameters.AddWithValue("$name", migration.Name);
            record.Parameters.AddWithValue("$at", SqliteText.FromTime(clock.GetUtcNow()));
            record.ExecuteNonQuery();
            appliedNow.Add(migration.Version);
        }

        if (appliedNow.Count > 0)
        {
            using var check = connection.CreateCommand();
            check.Transaction = transaction;
            check.CommandText = "PRAGMA foreign_key_check;";
            using var violations = check.ExecuteReader();
            if (violations.Read())
            {
                throw new InvalidDataException(
                    $"'{location}': after migrating to schema {appliedNow[^1]}, table '{violations.GetString(0)}' has a row referencing a missing row of '{violations.GetString(2)}'; nothing was changed.");
            }
        }

        if (applicationId == 0)
        {
            Execute(connection, transaction, $"PRAGMA application_id = {ApplicationId};");
        }

        transaction.Commit();
        return appliedNow;
    }

    private static void Execute(SqliteConnection connection, SqliteTransaction transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        command.ExecuteNonQuery();
    }

    private static object? Scalar(SqliteConnection connection, SqliteTransaction? transaction, string sql)
    {
        using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
