namespace Lore.PostgreSql;

// Learning runs and cursors: what learning did, and how far it has read.
public sealed partial class PostgresLoreStore
{
    private const string UpsertRunSql = """
        INSERT INTO learning_runs (id, tenant, finished_at, json) VALUES ($1, $2, $3, $4)
        ON CONFLICT (id) DO UPDATE SET tenant = excluded.tenant, finished_at = excluded.finished_at, json = excluded.json;
        """;

    private const string ListRunsSql = """
        SELECT json FROM learning_runs WHERE tenant = $1
        ORDER BY finished_at COLLATE "C" DESC, position DESC
        LIMIT $2;
        """;

    private const string GetCursorSql = "SELECT value FROM cursors WHERE name = $1;";

    private const string SetCursorSql = """
        INSERT INTO cursors (name, value) VALUES ($1, $2)
        ON CONFLICT (name) DO UPDATE SET value = excluded.value;
        """;

    /// <summary>Stores the run, replacing an earlier version with the same id.</summary>
    public async Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(run);
        ArgumentException.ThrowIfNullOrWhiteSpace(run.Id, nameof(run));
        await WriteAsync((connection, transaction) => UpsertRunAsync(connection, transaction, run, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private static async Task UpsertRunAsync(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction, LearningRun run, CancellationToken cancellationToken)
    {
        var json = PostgresText.Json(run);
        await using var upsert = Sql(connection, transaction, UpsertRunSql, run.Id, run.Tenant, PostgresText.FromTimeUtc(run.FinishedAt), json);
        await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>At most <paramref name="limit"/> runs of the tenant, most recently finished first.</summary>
    public async Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentOutOfRangeException.ThrowIfNegative(limit);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, ListRunsSql, tenant, limit);
            var runs = new List<LearningRun>();
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                runs.Add(PostgresText.FromJson<LearningRun>(reader.GetString(0), $"A learning run of tenant '{tenant}'"));
            }

            return runs;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The cursor's value, or 0 when it was never set.</summary>
    public async Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(name);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetCursorSql, name);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long value ? value : 0;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        await WriteAsync(async (connection, transaction) =>
        {
            await using var upsert = Sql(connection, transaction, SetCursorSql, name, value);
            await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }
}
