using System.Collections.Concurrent;
using Lore.PostgreSql.Episodes;
using Lore.PostgreSql.Migrations;
using Lore.Testing;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>What only a shared server has to get right: migrations raced by hosts, COPY imports, leases across processes, killed connections, append-only audit.</summary>
public sealed class PostgresStoreTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Episode Ended(string id, int minute, int steps = 2)
    {
        var builder = new EpisodeBuilder(id).StartedAt(new DateTimeOffset(2026, 3, 1, 9, 0, 0, TimeSpan.Zero).AddMinutes(minute));
        for (var s = 0; s < steps; s++)
        {
            builder.Tool($"tool_{s}", result: $"result {id}.{s}");
        }

        return builder.Succeeded().Build();
    }

    private static async Task<long> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    private static async Task ExecuteAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(Ct);
    }

    [Fact]
    public async Task Hosts_starting_together_on_a_fresh_database_migrate_it_once_and_all_open()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            var opening = Enumerable.Range(0, 6).Select(_ => Task.Run(() => PostgresLoreStore.OpenAsync(database, Ct), Ct)).ToList();
            var stores = await Task.WhenAll(opening);

            Assert.Equal(SchemaMigrator.All.Count, await ScalarAsync(database, "SELECT count(*) FROM lore.schema_migrations;"));
            await stores[0].SetCursorAsync("c", 7, Ct);
            Assert.Equal(7, await stores[5].GetCursorAsync("c", Ct));
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    [Fact]
    public async Task A_schema_written_by_a_newer_lore_is_refused_naming_its_version()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await ExecuteAsync(database, "INSERT INTO lore.schema_migrations (version, name, applied_at) VALUES (99, 'from-the-future', '');");

            var error = await Assert.ThrowsAsync<NotSupportedException>(() => PostgresLoreStore.OpenAsync(database, Ct));

            Assert.Contains("99", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await ExecuteAsync(database, "DELETE FROM lore.schema_migrations WHERE version = 99;");
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task A_schema_holding_another_applications_tables_is_refused_and_left_untouched()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            await ExecuteAsync(database, "CREATE SCHEMA billing; CREATE TABLE billing.invoices (id int);");

            var error = await Assert.ThrowsAsync<InvalidDataException>(() => PostgresLoreStore.OpenAsync(database, new PostgresStoreOptions { Schema = "billing" }, Ct));

            Assert.Contains("billing", error.Message, StringComparison.Ordinal);
            Assert.Equal(1, await ScalarAsync(database, "SELECT count(*) FROM pg_tables WHERE schemaname = 'billing';"));
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    [Fact]
    public async Task Steps_read_back_exactly_in_any_script_and_size_and_an_unreadable_one_is_named()
    {
        // Steps are parsed from the UTF-8 the server sends, into a reused buffer: text outside ASCII and payloads
        // larger than the buffer must come back as they were written.
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var episodes = new[]
            {
                new EpisodeBuilder("ep-scripts").ModelCall("Zoë asks: 東京の天気は? Ответ — «да» 🚀", "It's 12 °C; \"quoted\" and \\ escaped").Tool("lookup", result: "naïve café ✓").Build(),
                new EpisodeBuilder("ep-large").ModelCall(new string('x', 70_000) + "é", "short").Tool("big", result: string.Concat(Enumerable.Repeat("ünïcödé ", 5_000))).Build(),
                new EpisodeBuilder("ep-small").Tool("a", result: "1").Build(),
            };
            await store.AppendAsync([.. episodes.Select(e => new EpisodeStarted(e))], Ct);

            var read = new List<Episode>();
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery(), Ct))
            {
                read.Add(episode);
            }

            Assert.Equal(episodes.Select(e => Canonical(e)), read.Select(e => Canonical(e)));

            var sequence = await ScalarAsync(database, "SELECT sequence FROM lore.episodes WHERE id = 'ep-large';");
            await ExecuteAsync(database, $"UPDATE lore.steps SET payload = '{{\"index\": 0, \"kind\": ' WHERE episode_sequence = {sequence} AND idx = 1;");
            var error = await Assert.ThrowsAsync<InvalidDataException>(async () =>
            {
                await foreach (var _ in store.ReadEpisodesAsync(new EpisodeQuery(), Ct))
                {
                }
            });
            Assert.Contains($"A step of the episode with sequence {sequence} has unreadable JSON", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Steps_read_back_in_append_order_when_the_server_returns_them_out_of_order_and_a_gapped_page_reads_only_its_own()
    {
        // The server returns a page's steps in no particular order (nothing is sorted there); with index and bitmap scans off, a
        // step rewritten in place comes back after the others. A page whose sequences have gaps (another tenant's
        // episode, an unended one) must read only its own episodes' steps and outcomes.
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            var heapOrder = new NpgsqlConnectionStringBuilder(database) { Options = "-c enable_indexscan=off -c enable_indexonlyscan=off -c enable_bitmapscan=off" }.ConnectionString;
            await using var store = await PostgresLoreStore.OpenAsync(heapOrder, Ct);
            var first = Ended("ep-first", 0, steps: 6);
            var unended = Ended("ep-unended", 2, steps: 3) with { EndedAt = null, Outcomes = [] };
            var last = Ended("ep-last", 3, steps: 4);
            await store.AppendAsync(
            [
                new EpisodeStarted(first),
                new EpisodeStarted(new EpisodeBuilder("ep-other").Tenant("other").Tool("other_tool", result: "other's").Succeeded().Build()),
                new EpisodeStarted(unended),
                new EpisodeStarted(last),
            ], Ct);

            var sequence = await ScalarAsync(database, "SELECT sequence FROM lore.episodes WHERE id = 'ep-first';");
            await ExecuteAsync(database, $"UPDATE lore.steps SET payload = payload WHERE episode_sequence = {sequence} AND idx IN (0, 2);");
            Assert.Equal(2, await ScalarAsync(database, $"""
                SELECT count(*) FROM (SELECT idx, row_number() OVER () AS arrival FROM lore.steps WHERE episode_sequence = {sequence}) s
                WHERE idx IN (0, 2) AND arrival > 4;
                """));

            var read = new List<Episode>();
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { EndedOnly = true }, Ct))
            {
                read.Add(episode);
            }

            Assert.Equal([Canonical(first), Canonical(last)], read.Select(e => Canonical(e)));
            Assert.Equal(Canonical(first), Canonical((await store.GetEpisodeAsync("ep-first", Ct))!));
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task A_bulk_import_leaves_the_registry_with_statistics_so_the_next_read_is_planned_for_its_size()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            const string AnalyzedSince = """
                SELECT count(*) FROM pg_stat_user_tables s, lore.import_clock c
                WHERE s.schemaname = 'lore' AND s.relname = 'episode_registry' AND s.last_analyze >= c.at;
                """;
            await ExecuteAsync(database, "CREATE TABLE lore.import_clock AS SELECT clock_timestamp() AS at;");
            await using (var small = await store.BeginImportAsync(Ct))
            {
                await small.AddAsync(Ended("ep-small", 0, steps: 1), Ct);
                await small.CommitAsync(Ct);
            }

            Assert.Equal(0, await ScalarAsync(database, AnalyzedSince));

            await using (var bulk = await store.BeginImportAsync(Ct))
            {
                foreach (var i in Enumerable.Range(1, PostgresEpisodeImport.AnalyzeAfter))
                {
                    await bulk.AddAsync(Ended($"ep-{i:D5}", i, steps: 1), Ct);
                }

                Assert.Equal(PostgresEpisodeImport.AnalyzeAfter, await bulk.CommitAsync(Ct));
            }

            Assert.Equal(1, await ScalarAsync(database, AnalyzedSince));
            Assert.Equal(PostgresEpisodeImport.AnalyzeAfter + 1, await ScalarAsync(database, "SELECT reltuples::bigint FROM pg_class WHERE oid = 'lore.episode_registry'::regclass;"));
        }
        finally
        {
            await ExecuteAsync(database, "DROP TABLE IF EXISTS lore.import_clock;");
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task A_large_import_written_by_copy_reads_back_exactly_and_one_bad_episode_after_many_flushes_imports_nothing()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var episodes = Enumerable.Range(0, 400).Select(i => Ended($"ep-{i:D4}", i, steps: 25)).ToArray();

            await using (var failing = await store.BeginImportAsync(Ct))
            {
                foreach (var episode in episodes)
                {
                    await failing.AddAsync(episode, Ct);
                }

                // More than two flushes of rows went to the server by COPY before the bad record.
                await Assert.ThrowsAsync<StoreConflictException>(() => failing.AddAsync(episodes[123], Ct));
                await Assert.ThrowsAsync<InvalidOperationException>(() => failing.CommitAsync(Ct));
            }

            Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
            Assert.Equal(0, await ScalarAsync(database, "SELECT count(*) FROM lore.steps;"));

            await using (var import = await store.BeginImportAsync(Ct))
            {
                foreach (var episode in episodes)
                {
                    await import.AddAsync(episode, Ct);
                }

                Assert.Equal(episodes.Length, await import.CommitAsync(Ct));
            }

            Assert.Equal(episodes.Length * 25, await ScalarAsync(database, "SELECT count(*) FROM lore.steps;"));
            var read = new List<Episode>();
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery(), Ct))
            {
                read.Add(episode);
            }

            Assert.Equal(episodes.Select(e => Canonical(e)), read.Select(e => Canonical(e)));
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Reading_pages_two_at_a_time_returns_every_selected_episode_in_order_and_stops_cleanly_when_the_reader_stops()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var episodes = Enumerable.Range(0, 700).Select(i => Ended($"ep-{i:D4}", i, steps: 3)).ToArray();
            await using (var import = await store.BeginImportAsync(Ct))
            {
                foreach (var episode in episodes)
                {
                    await import.AddAsync(episode, Ct);
                }

                await import.CommitAsync(Ct);
            }

            async Task<List<string>> ReadAsync(EpisodeQuery query, int? stopAfter = null)
            {
                var read = new List<string>();
                await foreach (var episode in store.ReadEpisodesAsync(query, Ct))
                {
                    Assert.Equal(3, episode.Steps.Count);
                    read.Add(episode.Id);
                    if (read.Count == stopAfter)
                    {
                        break;
                    }
                }

                return read;
            }

            var ids = episodes.Select(e => e.Id).ToList();

            // Three pages (256, 256, 188), a limit that ends inside the second page, and one that is a page and one.
            Assert.Equal(ids, await ReadAsync(new EpisodeQuery()));
            Assert.Equal(ids[..300], await ReadAsync(new EpisodeQuery { Limit = 300 }));
            Assert.Equal(ids[..257], await ReadAsync(new EpisodeQuery { Limit = 257 }));
            Assert.Equal(ids[^513..], await ReadAsync(new EpisodeQuery { Limit = 513, NewestFirst = true }));
            Assert.Equal(ids[..512], await ReadAsync(new EpisodeQuery { Limit = 512 }));

            // A reader that stops while the next page is being read leaves nothing behind: the store reads on as before.
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(ids[..(250 + i)], await ReadAsync(new EpisodeQuery(), stopAfter: 250 + i));
            }

            Assert.Equal(ids, await ReadAsync(new EpisodeQuery()));
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Workers_on_separate_stores_lease_each_episode_once_while_new_episodes_keep_arriving()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            // Separate store instances have separate connection pools, like separate worker processes.
            var stores = await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => PostgresLoreStore.OpenAsync(database, Ct)));
            const int total = 120;
            var granted = new ConcurrentBag<string>();
            var processed = new ConcurrentBag<string>();
            using var arrived = new CancellationTokenSource();

            var producer = Task.Run(async () =>
            {
                for (var i = 0; i < total; i += 10)
                {
                    await stores[0].AppendAsync([.. Enumerable.Range(i, 10).SelectMany(n => CaptureRecords(Ended($"ep-{n:D3}", n, steps: 1)))], Ct);
                }

                await arrived.CancelAsync();
            }, Ct);

            async Task WorkAsync(PostgresLoreStore store, string worker)
            {
                while (true)
                {
                    var done = arrived.IsCancellationRequested;
                    var leases = await store.LeaseEpisodesAsync(Tenants.Default, worker, 4, TimeSpan.FromMinutes(10), Ct);
                    foreach (var lease in leases)
                    {
                        granted.Add(lease.EpisodeId);
                    }

                    if (leases.Count == 0)
                    {
                        if (done)
                        {
                            return;
                        }

                        await Task.Yield();
                        continue;
                    }

                    await store.CompleteLeasesAsync(leases, Ct);
                    foreach (var lease in leases)
                    {
                        processed.Add(lease.EpisodeId);
                    }
                }
            }

            await Task.WhenAll(stores.SelectMany((store, s) => Enumerable.Range(0, 2).Select(w => Task.Run(() => WorkAsync(store, $"worker-{s}-{w}"), Ct))).Append(producer));

            var expected = Enumerable.Range(0, total).Select(n => $"ep-{n:D3}").ToList();
            Assert.Equal(expected, granted.Order(StringComparer.Ordinal));
            Assert.Equal(expected, processed.Order(StringComparer.Ordinal));
            foreach (var store in stores)
            {
                await store.DisposeAsync();
            }
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Connections_killed_while_capture_writes_lose_no_acknowledged_batch_and_leave_no_half_batch()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            var victim = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "lore-victim" }.ConnectionString;
            await using var store = await PostgresLoreStore.OpenAsync(victim, Ct);
            var acknowledged = new ConcurrentBag<int>();
            var failed = new ConcurrentBag<int>();
            var progress = new SemaphoreSlim(0);
            const int batches = 60;

            var writer = Task.Run(async () =>
            {
                for (var b = 0; b < batches; b++)
                {
                    // Each batch starts an episode and records all its steps and its end: all of it, or none of it.
                    var episode = Ended($"batch-{b:D2}", b, steps: 40);
                    try
                    {
                        await store.AppendAsync(CaptureRecords(episode), Ct);
                        acknowledged.Add(b);
                    }
                    catch (Exception e) when (e is NpgsqlException or IOException or InvalidOperationException)
                    {
                        failed.Add(b);
                    }

                    progress.Release();
                }
            }, Ct);

            var killer = Task.Run(async () =>
            {
                for (var b = 0; b < batches; b++)
                {
                    await progress.WaitAsync(Ct);
                    if (b % 3 == 0)
                    {
                        await ExecuteAsync(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lore-victim';");
                    }
                }
            }, Ct);

            await Task.WhenAll(writer, killer);

            Assert.NotEmpty(failed);
            Assert.NotEmpty(acknowledged);

            // Read back on fresh connections: the victim's pool may still hold a connection the last kill ended while idle.
            await using var check = await PostgresLoreStore.OpenAsync(database, Ct);
            foreach (var b in acknowledged)
            {
                var stored = await check.GetEpisodeAsync($"batch-{b:D2}", Ct);
                Assert.NotNull(stored);
                Assert.Equal(40, stored.Steps.Count);
                Assert.NotNull(stored.EndedAt);
            }

            foreach (var b in failed)
            {
                // A batch whose commit reached the server before the kill may be stored even though its caller saw an error; never half of it.
                var stored = await check.GetEpisodeAsync($"batch-{b:D2}", Ct);
                Assert.True(stored is null || (stored.Steps.Count == 40 && stored.EndedAt is not null), $"batch {b} is stored in part");
            }
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Reads_that_serve_agents_survive_pooled_connections_the_server_ended_while_idle()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            var victim = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "lore-idle-victim", MaxPoolSize = 4 }.ConnectionString;
            await using var store = await PostgresLoreStore.OpenAsync(victim, Ct);
            await store.AppendAsync(CaptureRecords(Ended("served", 0)), Ct);
            var key = new ApiKey { Id = "kidle", Tenant = Tenants.Default, Role = ApiKeyRole.Agent, SecretHash = ApiKey.HashSecret("s"), CreatedAt = DateTimeOffset.UnixEpoch };
            await store.SaveApiKeyAsync(key, Ct);

            // Fill the pool with idle connections, then end every one of them on the server (a restart or failover looks the same).
            await Task.WhenAll(Enumerable.Range(0, 4).Select(_ => store.GetEpisodeAsync("served", Ct)));
            await ExecuteAsync(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lore-idle-victim';");

            Assert.NotNull(await store.GetApiKeyAsync("kidle", Ct));
            Assert.Equal(0, (await store.GetRolloutAsync(Tenants.Default, Ct)).Version);
            Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
            var episode = await store.GetEpisodeAsync("served", Ct);
            Assert.NotNull(episode);
            Assert.Equal(2, episode.Steps.Count);
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task An_import_whose_connection_is_killed_writes_nothing_and_the_store_carries_on()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            var victim = new NpgsqlConnectionStringBuilder(database) { ApplicationName = "lore-import-victim" }.ConnectionString;
            await using var store = await PostgresLoreStore.OpenAsync(victim, Ct);
            await store.AppendAsync(CaptureRecords(Ended("before", 0)), Ct);
            var import = await store.BeginImportAsync(Ct);
            for (var i = 0; i < 200; i++)
            {
                await import.AddAsync(Ended($"imp-{i:D3}", i, steps: 30), Ct);
            }

            await ExecuteAsync(database, "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lore-import-victim' AND state LIKE 'idle in transaction%';");

            await Assert.ThrowsAnyAsync<Exception>(() => import.CommitAsync(Ct));
            await import.DisposeAsync();

            Assert.Equal(1, await store.CountEpisodesAsync(Tenants.Default, Ct));
            Assert.NotNull(await store.GetEpisodeAsync("before", Ct));
            await store.AppendAsync(CaptureRecords(Ended("after", 1)), Ct);
            Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Theory]
    [InlineData("UPDATE lore.audit_log SET reason = 'edited';")]
    [InlineData("DELETE FROM lore.audit_log;")]
    [InlineData("TRUNCATE lore.audit_log;")]
    [InlineData("INSERT INTO lore.audit_log (sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash) VALUES (5, 0, 'default', 'x', 'y', 'z', '', '{}', 'forged', 'forged');")]
    public async Task The_audit_log_refuses_edits_deletions_and_forged_entries_from_any_sql_client(string sql)
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var entry = await store.AppendAuditAsync(new AuditDraft { Tenant = Tenants.Default, Actor = "cli:alice", Action = AuditActions.Frozen, Subject = "rollout", Reason = "incident" }, Ct);

            await Assert.ThrowsAsync<PostgresException>(() => ExecuteAsync(database, sql));

            var read = new List<AuditEntry>();
            await foreach (var e in store.ReadAuditAsync(0, Ct))
            {
                read.Add(e);
            }

            Assert.Equal(entry.Hash, Assert.Single(read).Hash);
            Assert.Equal("incident", read[0].Reason);
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Fact]
    public async Task Every_rollout_change_is_announced_on_lore_changes_when_it_commits()
    {
        var database = await TestDatabases.RentMigratedAsync();
        try
        {
            await using var store = await PostgresLoreStore.OpenAsync(database, Ct);
            var snapshot = Snapshot.Create(null, "acme", [], new RetrievalSettings(), "test", "first", DateTimeOffset.UtcNow);
            await store.SaveSnapshotAsync(snapshot, Ct);
            await using var listener = new NpgsqlConnection(database);
            await listener.OpenAsync(Ct);
            var heard = new ConcurrentQueue<string>();
            listener.Notification += (_, e) => heard.Enqueue($"{e.Channel} {e.Payload}");
            await using (var listen = new NpgsqlCommand($"LISTEN {PostgresLoreStore.ChangeChannel};", listener))
            {
                await listen.ExecuteNonQueryAsync(Ct);
            }

            await store.SetActiveSnapshotAsync("acme", snapshot.Id, Ct);
            var rollout = await store.GetRolloutAsync("acme", Ct);
            await store.SaveRolloutAsync(rollout with { Frozen = true, FrozenReason = "incident" }, rollout.Version, Ct);
            await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveRolloutAsync(rollout, rollout.Version, Ct));

            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (heard.Count < 2)
            {
                await listener.WaitAsync(timeout.Token);
            }

            Assert.All(heard, n => Assert.Equal("""lore_changes {"kind" : "rollout", "tenant" : "acme"}""", n));
            Assert.Equal(2, heard.Count);
        }
        finally
        {
            await TestDatabases.ReturnAsync(database);
        }
    }

    [Theory]
    [InlineData("postgres://alice:p%40ss@db.example.com:6543/lore?sslmode=require&application_name=host-1", "db.example.com", 6543, "lore", "alice", "p@ss")]
    [InlineData("postgresql://bob@localhost/lore_prod", "localhost", 5432, "lore_prod", "bob", null)]
    [InlineData("Host=10.0.0.5;Port=5433;Database=lore;Username=carol;Password=secret", "10.0.0.5", 5433, "lore", "carol", "secret")]
    public void Uris_and_connection_strings_name_the_same_settings_and_descriptions_never_show_the_password(string value, string host, int port, string database, string user, string? password)
    {
        var builder = PostgresConnectionString.Parse(value);

        Assert.True(PostgresConnectionString.IsPostgres(value));
        Assert.Equal((host, port, database, user, password), (builder.Host, builder.Port, builder.Database, builder.Username, builder.Password));
        var described = PostgresConnectionString.Describe(builder);
        Assert.Contains(host, described, StringComparison.Ordinal);
        Assert.DoesNotContain(password ?? "\0", described, StringComparison.Ordinal);
        Assert.False(PostgresConnectionString.IsPostgres("lore.db"));
        Assert.False(PostgresConnectionString.IsPostgres("/var/lib/lore/host=1.db"));
    }

    [Fact]
    public void A_malformed_uri_is_refused_naming_what_is_wrong()
    {
        Assert.Contains("sslmode", Assert.Throws<FormatException>(() => PostgresConnectionString.Parse("postgres://a@h/db?sslmode=sometimes")).Message, StringComparison.Ordinal);
        Assert.Contains("port", Assert.Throws<FormatException>(() => PostgresConnectionString.Parse("postgres://a@h:99999/db")).Message, StringComparison.Ordinal);
        Assert.Contains("frobnicate", Assert.Throws<FormatException>(() => PostgresConnectionString.Parse("postgres://a@h/db?frobnicate=1")).Message, StringComparison.Ordinal);
    }

    private static string Canonical(Episode episode) => System.Text.Json.JsonSerializer.Serialize(episode with { Sequence = 0 }, LoreJson.Options);

    private static List<CaptureRecord> CaptureRecords(Episode episode)
    {
        var records = new List<CaptureRecord> { new EpisodeStarted(episode with { Steps = [], Outcomes = [], EndedAt = null, InjectedLessonIds = [] }) };
        records.AddRange(episode.Steps.Select(s => new StepRecorded(episode.Id, s)));
        records.AddRange(episode.Outcomes.Select(o => new OutcomeRecorded(episode.Id, o)));
        records.Add(new EpisodeEnded(episode.Id, episode.EndedAt!.Value, episode.InjectedLessonIds));
        return records;
    }
}
