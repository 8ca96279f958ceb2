using Lore.PostgreSql.Migrations;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>
/// Schema 2 (sources and tenant isolation) on a database an older Lore left: episodes keep their rows and get an empty
/// (trusted) source, keys are not trusted, episode ids become unique per tenant, and the audit log gains a chain per tenant.
/// </summary>
public sealed class TenantIsolationMigrationTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_schema_1_database_migrates_keeping_episodes_keys_and_the_audit_log_as_tenant_chains()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(database) { SearchPath = "lore" };
            await using (var dataSource = NpgsqlDataSource.Create(builder.ConnectionString))
            {
                Assert.Equal([1], await SchemaMigrator.MigrateAsync(dataSource, "lore", "test", TimeProvider.System, upToVersion: 1, Ct));
                await using var connection = await dataSource.OpenConnectionAsync(Ct);
                foreach (var table in new[] { "episodes", "steps", "outcomes" })
                {
                    await RawSql.ExecuteAsync(connection, $"CREATE TABLE {table}_y2026m03 PARTITION OF {table} FOR VALUES FROM ('2026-03-01') TO ('2026-04-01');");
                }

                await RawSql.ExecuteAsync(connection, "INSERT INTO episode_registry (id, tenant, month, ended) VALUES ('ep-1', 'acme', '2026-03-01', true), ('ep-2', 'globex', '2026-03-01', true);");
                await RawSql.ExecuteAsync(connection, """
                    INSERT INTO episodes (month, sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm)
                    SELECT month, sequence, id, tenant, 'alice', 'refund', '{}', $1, $1, NULL, '[]', 'capture', NULL FROM episode_registry;
                    """, PostgresText.FromTime(T0));
                await RawSql.ExecuteAsync(connection, "INSERT INTO outcomes (month, episode_sequence, score, source, actor, comment, at) SELECT month, sequence, 1.0, 'environment', NULL, NULL, $1 FROM episode_registry WHERE id = 'ep-1';", PostgresText.FromTime(T0));
                await RawSql.ExecuteAsync(connection, """
                    INSERT INTO api_keys (id, tenant, role, name, secret_hash, created_at, created_by, revoked_at)
                    VALUES ('k0000000001', 'acme', 'agent', 'checkout', $1, $2, 'cli:alice', NULL);
                    """, ApiKey.HashSecret("s3cret"), PostgresText.FromTimeUtc(T0));

                AuditEntry? previous = null;
                foreach (var (tenant, n) in new[] { ("acme", 0), ("globex", 1), ("acme", 2), ("acme", 3) })
                {
                    var entry = AuditEntry.Chain(previous, new AuditDraft { Tenant = tenant, Actor = "learning", Action = AuditActions.LessonAdmitted, Subject = $"les-{n}", At = T0.AddMinutes(n) });
                    await RawSql.ExecuteAsync(connection, """
                        INSERT INTO audit_log (sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash)
                        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
                        """, entry.Sequence, entry.At.UtcTicks, entry.Tenant, entry.Actor, entry.Action, entry.Subject, entry.Reason, entry.DetailsJson, entry.PreviousHash, entry.Hash);
                    previous = entry;
                }
            }

            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var ep1 = await store.GetEpisodeAsync("acme", "ep-1", Ct);
            Assert.Equal(("alice", "", true), (ep1!.UnitKey, ep1.Source, ep1.Succeeded == true));
            Assert.Equal("", (await store.GetEpisodeAsync("globex", "ep-2", Ct))!.Source);
            Assert.False((await store.GetApiKeyAsync("k0000000001", Ct))!.TrustUnits);

            // Ids are unique per tenant now: globex may use acme's id.
            await store.AppendAsync([new EpisodeStarted(new Lore.Testing.EpisodeBuilder("ep-1").Tenant("globex").StartedAt(T0).Build())], Ct);
            Assert.NotNull(await store.GetEpisodeAsync("globex", "ep-1", Ct));

            var acme = new List<AuditEntry>();
            await foreach (var entry in store.ReadTenantAuditAsync("acme", 0, Ct))
            {
                acme.Add(entry);
            }

            Assert.Equal(["les-0", "les-2", "les-3"], acme.Select(e => e.Subject));
            var hash = AuditChain.Genesis;
            for (var i = 0; i < acme.Count; i++)
            {
                Assert.Equal((i + 1L, hash), (acme[i].Sequence, acme[i].PreviousHash));
                Assert.Equal(AuditChain.ComputeHash(acme[i]), acme[i].Hash);
                hash = acme[i].Hash;
            }

            var next = await store.AppendAuditAsync(new AuditDraft { Tenant = "globex", Actor = "cli:bob", Action = AuditActions.Frozen, Subject = "rollout" }, Ct);
            Assert.Equal(5, next.Sequence);
            var globex = new List<AuditEntry>();
            await foreach (var entry in store.ReadTenantAuditAsync("globex", 0, Ct))
            {
                globex.Add(entry);
            }

            Assert.Equal([1L, 2L], globex.Select(e => e.Sequence));
            Assert.Equal(globex[0].Hash, globex[1].PreviousHash);
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }
}
