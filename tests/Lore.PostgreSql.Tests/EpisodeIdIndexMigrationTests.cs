using Lore.PostgreSql.Migrations;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>
/// Schema 8 (one index on episode ids) on a database schema 7 left: the registry's two indexes on ids become one
/// UNIQUE (id, tenant), the rows stay, ids stay unique per tenant, and a duplicate is refused under the constraint
/// name the store's capture recognises as "stored by another writer meanwhile".
/// </summary>
public sealed class EpisodeIdIndexMigrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<List<string>> RowsAsync(NpgsqlConnection connection, string sql)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(Ct);
        var rows = new List<string>();
        while (await reader.ReadAsync(Ct))
        {
            rows.Add(reader.GetString(0));
        }

        return rows;
    }

    [Fact]
    public async Task A_schema_7_database_migrates_to_one_unique_index_on_id_and_tenant_keeping_its_episodes()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(database) { SearchPath = "lore" };
            await using (var dataSource = NpgsqlDataSource.Create(builder.ConnectionString))
            {
                Assert.Equal([1, 2, 4, 5, 6, 7], await SchemaMigrator.MigrateAsync(dataSource, "lore", "test", TimeProvider.System, upToVersion: 7, Ct));
                await using var connection = await dataSource.OpenConnectionAsync(Ct);
                foreach (var table in new[] { "episodes", "steps", "outcomes" })
                {
                    await RawSql.ExecuteAsync(connection, $"CREATE TABLE {table}_y2026m03 PARTITION OF {table} FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');");
                }

                await RawSql.ExecuteAsync(connection, "INSERT INTO episode_registry (id, tenant, month, ended) VALUES ('ep-1', 'acme', '2026-03-01', true), ('ep-1', 'globex', '2026-03-01', true);");
                await RawSql.ExecuteAsync(connection, """
                    INSERT INTO episodes (month, sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm)
                    SELECT month, sequence, id, tenant, 'alice', 'refund', '{}', $1, $1, NULL, '[]', 'capture', NULL FROM episode_registry;
                    """, PostgresText.FromTime(T0));
                Assert.Equal([8], await SchemaMigrator.MigrateAsync(dataSource, "lore", "test", TimeProvider.System, upToVersion: null, Ct));

                Assert.Equal(["episode_registry_id_tenant_unique|UNIQUE (id, tenant)"], await RowsAsync(connection, """
                    SELECT conname || '|' || pg_get_constraintdef(oid) FROM pg_constraint
                    WHERE conrelid = 'episode_registry'::regclass AND contype = 'u';
                    """));
                Assert.Empty(await RowsAsync(connection, "SELECT indexname FROM pg_indexes WHERE schemaname = 'lore' AND indexname = 'ix_episode_registry_id';"));

                var duplicate = await Assert.ThrowsAsync<PostgresException>(() => RawSql.ExecuteAsync(connection, "INSERT INTO episode_registry (id, tenant, month, ended) VALUES ('ep-1', 'acme', '2026-03-01', false);"));
                Assert.Equal((PostgresErrorCodes.UniqueViolation, "episode_registry_id_tenant_unique"), (duplicate.SqlState, duplicate.ConstraintName));
            }

            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            Assert.Equal("alice", (await store.GetEpisodeAsync("acme", "ep-1", Ct))!.UnitKey);
            Assert.Equal("alice", (await store.GetEpisodeAsync("globex", "ep-1", Ct))!.UnitKey);
            var twice = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync([new EpisodeStarted(new Lore.Testing.EpisodeBuilder("ep-1").Tenant("acme").StartedAt(T0).Build())], Ct));
            Assert.Contains("ep-1", twice.Message, StringComparison.Ordinal);
            await store.AppendAsync([new EpisodeStarted(new Lore.Testing.EpisodeBuilder("ep-1").Tenant("initech").StartedAt(T0).Build())], Ct);
            Assert.NotNull(await store.GetEpisodeAsync("initech", "ep-1", Ct));
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }
}
