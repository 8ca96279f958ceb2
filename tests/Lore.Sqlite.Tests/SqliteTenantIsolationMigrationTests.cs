using Lore.Sqlite.Migrations;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// Schema 5 (sources and tenant isolation) on a file an older Lore left: the episodes table is rebuilt without losing
/// a row, a lease, or the high-water mark that keeps erased episodes' sequences from being reused; every episode is a
/// trusted one (empty source); and the existing audit log gains a verifiable chain per tenant.
/// </summary>
public sealed class SqliteTenantIsolationMigrationTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static object? Query(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    /// <summary>A schema-4 file: three episodes (one with a step, an outcome and a processed lease), a fourth erased, a key, and an audit log of two tenants.</summary>
    private static List<AuditEntry> WriteSchema4File(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False;Foreign Keys=True");
        connection.Open();
        Assert.Equal([1, 2, 3, 4], SchemaMigrator.Migrate(connection, path, TimeProvider.System, upToVersion: 4));
        foreach (var (id, tenant) in new[] { ("ep-1", "acme"), ("ep-2", "acme"), ("ep-3", "globex"), ("ep-4", "acme") })
        {
            RawSql.Execute(connection, """
                INSERT INTO episodes (id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm)
                VALUES ($id, $tenant, 'alice', 'refund', '{}', $at, $at, NULL, '[]', 'capture', NULL);
                """, ("$id", id), ("$tenant", tenant), ("$at", SqliteText.FromTime(T0)));
        }

        var step = new Step { Index = 0, Kind = StepKind.ToolCall, At = T0, ToolName = "find_order" };
        RawSql.Execute(connection, "INSERT INTO steps (episode_sequence, idx, kind, tool_name, tool_failed, payload) VALUES (1, 0, 'toolCall', 'find_order', 0, $payload);", ("$payload", SqliteText.Json(step)));
        RawSql.Execute(connection, "INSERT INTO outcomes (episode_sequence, score, source, actor, comment, at) VALUES (1, 1.0, 'environment', NULL, NULL, $at);", ("$at", SqliteText.FromTime(T0)));
        RawSql.Execute(connection, "INSERT INTO episode_leases (episode_sequence, tenant, worker, token, expires_at, attempts, processed_at) VALUES (1, 'acme', 'w1', 't1', 0, 1, $at);", ("$at", SqliteText.FromTimeUtc(T0)));
        RawSql.Execute(connection, "DELETE FROM episodes WHERE id = 'ep-4';");
        RawSql.Execute(connection, """
            INSERT INTO api_keys (id, tenant, role, name, secret_hash, created_at, created_by, revoked_at)
            VALUES ('k0000000001', 'acme', 'agent', 'checkout', $hash, $at, 'cli:alice', NULL);
            """, ("$hash", ApiKey.HashSecret("s3cret")), ("$at", SqliteText.FromTimeUtc(T0)));

        var audit = new List<AuditEntry>();
        foreach (var (tenant, n) in new[] { ("acme", 0), ("globex", 1), ("globex", 2), ("acme", 3), ("acme", 4) })
        {
            var entry = AuditEntry.Chain(audit.LastOrDefault(), new AuditDraft { Tenant = tenant, Actor = "learning", Action = AuditActions.LessonAdmitted, Subject = $"les-{n}", At = T0.AddMinutes(n) });
            RawSql.Execute(connection, """
                INSERT INTO audit_log (sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash)
                VALUES ($sequence, $at, $tenant, $actor, $action, $subject, $reason, $details, $previous, $hash);
                """,
                ("$sequence", entry.Sequence), ("$at", entry.At.UtcTicks), ("$tenant", entry.Tenant), ("$actor", entry.Actor), ("$action", entry.Action),
                ("$subject", entry.Subject), ("$reason", entry.Reason), ("$details", entry.DetailsJson), ("$previous", entry.PreviousHash), ("$hash", entry.Hash));
            audit.Add(entry);
        }

        return audit;
    }

    private static void AssertChain(IReadOnlyList<AuditEntry> entries)
    {
        var previous = AuditChain.Genesis;
        for (var i = 0; i < entries.Count; i++)
        {
            Assert.Equal(i + 1, entries[i].Sequence);
            Assert.Equal(previous, entries[i].PreviousHash);
            Assert.Equal(AuditChain.ComputeHash(entries[i]), entries[i].Hash);
            previous = entries[i].Hash;
        }
    }

    private static async Task<List<AuditEntry>> TenantAuditAsync(ILoreStore store, string tenant)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    [Fact]
    public async Task A_schema_4_file_migrates_keeping_its_episodes_leases_sequences_keys_and_audit_log()
    {
        var path = _directory.File("old.db");
        var audit = WriteSchema4File(path);

        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            var ep1 = await store.GetEpisodeAsync("acme", "ep-1", Ct);
            Assert.Equal(("alice", "", "unit:alice"), (ep1!.UnitKey, ep1.Source, ep1.EvidenceSource));
            Assert.Single(ep1.Steps);
            Assert.True(ep1.Succeeded);
            Assert.Equal(["ep-1", "ep-2"], (await ReadAll(store, "acme")).Select(e => e.Id));
            Assert.Equal(["ep-3"], (await ReadAll(store, "globex")).Select(e => e.Id));

            // The processed lease survived the rebuild: ep-1 is never leased again; ep-2 is.
            var leased = await store.LeaseEpisodesAsync("acme", "w2", 10, TimeSpan.FromMinutes(1), Ct);
            Assert.Equal(["ep-2"], leased.Select(l => l.EpisodeId));

            // The erased ep-4 had sequence 4: a new episode gets 5, never a sequence an erased one had.
            await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-5").Tenant("acme").Build())], Ct);
            Assert.Equal(5, (await store.GetEpisodeAsync("acme", "ep-5", Ct))!.Sequence);

            // Ids are now unique per tenant: globex may use acme's id.
            await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-1").Tenant("globex").Build())], Ct);
            Assert.NotNull(await store.GetEpisodeAsync("globex", "ep-1", Ct));

            Assert.False((await store.GetApiKeyAsync("k0000000001", Ct))!.TrustUnits);

            var acme = await TenantAuditAsync(store, "acme");
            var globex = await TenantAuditAsync(store, "globex");
            AssertChain(acme);
            AssertChain(globex);
            Assert.Equal(["les-0", "les-3", "les-4"], acme.Select(e => e.Subject));
            Assert.Equal(["les-1", "les-2"], globex.Select(e => e.Subject));

            // New entries continue both chains.
            var next = await store.AppendAuditAsync(new AuditDraft { Tenant = "globex", Actor = "cli:bob", Action = AuditActions.Frozen, Subject = "rollout" }, Ct);
            Assert.Equal(audit.Count + 1, next.Sequence);
            var globexAfter = await TenantAuditAsync(store, "globex");
            AssertChain(globexAfter);
            Assert.Equal(3, globexAfter[^1].Sequence);
        }

        Assert.Equal(0L, Query(path, "SELECT COUNT(*) FROM sqlite_master WHERE name IN ('episodes_v5', 'episodes_v5_high_water');"));
    }

    [Fact]
    public async Task The_tenant_chain_refuses_a_row_that_does_not_extend_its_tenants_head_through_SQL()
    {
        var path = _directory.File("chain.db");
        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            await store.AppendAuditAsync(new AuditDraft { Tenant = "acme", Actor = "a", Action = AuditActions.Frozen, Subject = "s", At = T0 }, Ct);
            await store.AppendAuditAsync(new AuditDraft { Tenant = "acme", Actor = "a", Action = AuditActions.Unfrozen, Subject = "s", At = T0 }, Ct);
        }

        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        var delete = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, "DELETE FROM audit_tenant_chain WHERE tenant_sequence = 2;"));
        Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
        var update = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, "UPDATE audit_tenant_chain SET hash = 'x';"));
        Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
    }

    private static async Task<List<Episode>> ReadAll(ILoreStore store, string tenant)
    {
        var list = new List<Episode>();
        await foreach (var e in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, Ct))
        {
            list.Add(e);
        }

        return list;
    }
}
