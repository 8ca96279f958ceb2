using Lore.Sqlite.Migrations;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// Schema 11 (one index on episode ids) on a file schema 10 left: the episodes table is rebuilt around UNIQUE (id,
/// tenant) without losing a row, an end, a staged import, a lease or the sequence high-water mark; ids stay unique per
/// tenant, and a look-up by id alone is still answered by an index.
/// </summary>
public sealed class SqliteEpisodeIdIndexMigrationTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static List<string> Rows(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
        {
            rows.Add(string.Join('|', Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : reader.GetValue(i).ToString())));
        }

        return rows;
    }

    /// <summary>
    /// A schema-10 file: acme's ep-1 (ended, a step, an outcome, a processed lease) and ep-2 (open), globex's ep-1, ep-4
    /// erased, and ep-9 staged by an import still running.
    /// </summary>
    private static void WriteSchema10File(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Foreign Keys=True");
        connection.Open();
        Assert.Equal(Enumerable.Range(1, 10), SchemaMigrator.Migrate(connection, path, TimeProvider.System, upToVersion: 10));
        foreach (var (id, tenant, ended, import) in new[] { ("ep-1", "acme", true, null), ("ep-2", "acme", false, null), ("ep-1", "globex", true, null), ("ep-4", "acme", true, null), ("ep-9", "acme", true, "imp-1") })
        {
            RawSql.Execute(connection, """
                INSERT INTO episodes (id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source, end_reason, import_id)
                VALUES ($id, $tenant, 'alice', 'refund', '{}', $at, $ended, NULL, '[]', 'capture', NULL, '', NULL, $import);
                """, ("$id", id), ("$tenant", tenant), ("$at", SqliteText.FromTime(T0)), ("$ended", ended ? SqliteText.FromTime(T0.AddMinutes(1)) : null), ("$import", import));
        }

        RawSql.Execute(connection, "INSERT INTO imports (id, owner_host, owner_pid, started_at, heartbeat_at) VALUES ('imp-1', 'elsewhere', 1, $at, 0);", ("$at", SqliteText.FromTimeUtc(T0)));
        var step = new Step { Index = 0, Kind = StepKind.ToolCall, At = T0, ToolName = "find_order" };
        RawSql.Execute(connection, "INSERT INTO steps (episode_sequence, idx, kind, tool_name, tool_failed, payload) VALUES (1, 0, 'toolCall', 'find_order', 0, $payload);", ("$payload", SqliteText.Json(step)));
        RawSql.Execute(connection, "INSERT INTO outcomes (episode_sequence, score, source, actor, comment, at) VALUES (1, 1.0, 'environment', NULL, NULL, $at);", ("$at", SqliteText.FromTime(T0)));
        RawSql.Execute(connection, "INSERT INTO episode_leases (episode_sequence, tenant, worker, token, expires_at, attempts, processed_at) VALUES (1, 'acme', 'w1', 't1', 0, 1, $at);", ("$at", SqliteText.FromTimeUtc(T0)));
        RawSql.Execute(connection, "DELETE FROM episodes WHERE id = 'ep-4';");
    }

    [Fact]
    public async Task A_schema_10_file_migrates_keeping_its_episodes_staged_rows_leases_and_sequences()
    {
        var path = _directory.File("v10.db");
        WriteSchema10File(path);
        var before = Rows(path, "SELECT * FROM episodes ORDER BY sequence;");

        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            var ep1 = await store.GetEpisodeAsync("acme", "ep-1", Ct);
            Assert.Single(ep1!.Steps);
            Assert.True(ep1.Succeeded);
            Assert.NotNull(await store.GetEpisodeAsync("globex", "ep-1", Ct));
            Assert.Null((await store.GetEpisodeAsync("acme", "ep-2", Ct))!.EndedAt);
            Assert.Null(await store.GetEpisodeAsync("acme", "ep-9", Ct));

            // The processed lease survived: ep-1 is never leased again; ep-2 would be once it ends.
            Assert.Empty(await store.LeaseEpisodesAsync("acme", "w2", 10, TimeSpan.FromMinutes(1), Ct));

            // The erased ep-4 had sequence 4 and the staged ep-9 holds 5: a new episode gets 6.
            await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-6").Tenant("acme").Build())], Ct);
            Assert.Equal(6, (await store.GetEpisodeAsync("acme", "ep-6", Ct))!.Sequence);
        }

        Assert.Equal(before, Rows(path, "SELECT * FROM episodes WHERE sequence <= 5 ORDER BY sequence;"));
        Assert.Equal(["11|one-episode-id-index"], Rows(path, "SELECT version, name FROM schema_migrations WHERE version = 11;"));
        Assert.Empty(Rows(path, "SELECT name FROM sqlite_master WHERE name IN ('episodes_v11', 'episodes_v11_high_water', 'ix_episodes_id');"));
        Assert.Equal(["ix_episodes_open", "ix_episodes_staged", "ix_episodes_tenant_sequence"],
            Rows(path, "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'episodes' AND sql IS NOT NULL ORDER BY name;"));
    }

    [Fact]
    public async Task After_the_migration_ids_stay_unique_per_tenant_and_a_lookup_by_id_alone_uses_an_index()
    {
        var path = _directory.File("v11.db");
        WriteSchema10File(path);
        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            var twice = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-2").Tenant("acme").Build())], Ct));
            Assert.Contains("'ep-2' is already stored", twice.Message, StringComparison.Ordinal);
            var staged = await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-9").Tenant("acme").Build())], Ct));
            Assert.Contains("staged by import imp-1", staged.Message, StringComparison.Ordinal);

            await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-2").Tenant("initech").Build())], Ct);
            Assert.NotNull(await store.GetEpisodeAsync("initech", "ep-2", Ct));
        }

        var plan = string.Join('\n', Rows(path, "EXPLAIN QUERY PLAN SELECT sequence, ended_at FROM episodes WHERE id = 'ep-1';"));
        Assert.Contains("USING INDEX sqlite_autoindex_episodes_1 (id=?)", plan, StringComparison.Ordinal);
        var perTenant = string.Join('\n', Rows(path, "EXPLAIN QUERY PLAN SELECT sequence, ended_at FROM episodes WHERE id = 'ep-1' AND tenant = 'acme';"));
        Assert.Contains("USING INDEX sqlite_autoindex_episodes_1 (id=? AND tenant=?)", perTenant, StringComparison.Ordinal);
    }
}
