using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Learning runs and cursors: what learning did, and how far it has read.
public sealed partial class SqliteLoreStore
{
    private const string UpsertRunSql = """
        INSERT INTO learning_runs (id, tenant, finished_at, json) VALUES ($id, $tenant, $finished_at, $json)
        ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, finished_at = excluded.finished_at, json = excluded.json;
        """;

    private const string ListRunsSql = """
        SELECT json FROM learning_runs WHERE tenant = $tenant
        ORDER BY finished_at DESC, rowid DESC
        LIMIT $limit;
        """;

    private const string GetCursorSql = "SELECT value FROM cursors WHERE name = $name;";

    private const string SetCursorSql = """
        INSERT INTO cursors (name, value) VALUES ($name, $value)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value;
        """;

    /// <summary>Stores the run, replacing an earlier version with the same id.</summary>
    public Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentException.ThrowIfNullOrWhiteSpace(run.Id, nameof(run));
        return WriteAsync(transaction => UpsertRun(transaction, run), cancellationToken);
    }

    private void UpsertRun(SqliteTransaction transaction, LearningRun run)
    {
        var json = SqliteText.Json(run);
        {
            using var upsert = WriteCommand(transaction, UpsertRunSql);
            upsert.Parameters.AddWithValue("$id", run.Id);
            upsert.Parameters.AddWithValue("$tenant", run.Tenant);
            upsert.Parameters.AddWithValue("$finished_at", SqliteText.FromTimeUtc(run.FinishedAt));
            upsert.Parameters.AddWithValue("$json", json);
            upsert.ExecuteNonQuery();
        }
    }

    /// <summary>At most <paramref name="limit"/> runs of the tenant, most recently finished first.</summary>
    public async Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, ListRunsSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$limit", limit);
        var runs = new List<LearningRun>();
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            runs.Add(SqliteText.FromJson<LearningRun>(reader.GetString(0), $"A learning run of tenant '{tenant}'"));
        }

        return runs;
    }

    /// <summary>The cursor's value, or 0 when it was never set.</summary>
    public async Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetCursorSql);
        command.Parameters.AddWithValue("$name", name);
        return command.ExecuteScalar() is long value ? value : 0;
    }

    /// <inheritdoc />
    public Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        return WriteAsync(transaction =>
        {
            using var upsert = WriteCommand(transaction, SetCursorSql);
            upsert.Parameters.AddWithValue("$name", name);
            upsert.Parameters.AddWithValue("$value", value);
            upsert.ExecuteNonQuery();
        }, cancellationToken);
    }
}
