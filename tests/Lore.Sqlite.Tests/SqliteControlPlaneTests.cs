using System.Text;
using System.Text.Json.Nodes;
using Lore.Sqlite.Migrations;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// What only the SQLite engine promises about the control plane: files from schema 1 migrate forward, the audit table
/// refuses edits from any SQL client, erased episodes leave no trace in the file, and two processes share one chain.
/// </summary>
public sealed class SqliteControlPlaneTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private string NewPath() => _directory.File($"{Guid.NewGuid():n}.db");

    private static SqliteConnection Connect(string path)
    {
        var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        return connection;
    }

    private static object? Query(string path, string sql)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static async Task<List<AuditEntry>> ReadAuditAsync(ILoreStore store, long after = 0)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(after, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    private static void AssertValidChain(IReadOnlyList<AuditEntry> entries)
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

    private static AuditDraft Draft(int n, string tenant = Tenants.Default) => new()
    {
        Tenant = tenant,
        Actor = "learning",
        Action = AuditActions.SnapshotCreated,
        Subject = $"snap-{n}",
        Reason = $"run {n}",
        DetailsJson = $$"""{"run":"run-{{n}}"}""",
        At = T0.AddSeconds(n),
    };

    private static Lesson NewLesson(string id, DateTimeOffset? retiredAt = null) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = $"Look up the order before refunding it ({id}).",
        Extractor = new ExtractorInfo("tool-errors", "1.0.0"),
        CreatedAt = T0,
        RetiredAt = retiredAt,
    };

    /// <summary>The lesson's JSON as schema-1 builds wrote it: without the admission fields that came with schema 2.</summary>
    private static string Schema1LessonJson(Lesson lesson)
    {
        var json = JsonNode.Parse(SqliteText.Json(lesson))!.AsObject();
        json.Remove("status");
        json.Remove("guardFindings");
        json.Remove("reviews");
        return json.ToJsonString();
    }

    /// <summary>A file as a build that knew only schema 1 left it: an episode with a step, a live and a retired lesson, an active snapshot.</summary>
    private static (Episode Episode, Snapshot Snapshot) WriteSchema1File(string path)
    {
        var episode = new EpisodeBuilder("ep-old").Tool("find_order").Tool("refund", failed: true).Failed().Build();
        var snapshot = Snapshot.Create(null, Tenants.Default, [NewLesson("les-live")], new RetrievalSettings(), "learning", "first", T0);
        var otherSnapshot = Snapshot.Create(null, "acme", [], new RetrievalSettings(), "learning", "unused", T0);

        using var connection = Connect(path);
        Assert.Equal([1], SchemaMigrator.Migrate(connection, path, TimeProvider.System, upToVersion: 1));
        RawSql.Execute(connection, """
            INSERT INTO episodes (id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm)
            VALUES ($id, $tenant, $unit, $task, '{}', $started, $ended, NULL, '[]', $origin, NULL);
            """,
            ("$id", episode.Id), ("$tenant", episode.Tenant), ("$unit", episode.UnitKey ?? ""), ("$task", episode.Task ?? ""),
            ("$started", SqliteText.FromTime(episode.StartedAt)), ("$ended", SqliteText.FromTime(episode.EndedAt!.Value)), ("$origin", episode.Origin));
        foreach (var step in episode.Steps)
        {
            RawSql.Execute(connection, "INSERT INTO steps (episode_sequence, idx, kind, tool_name, tool_failed, payload) VALUES (1, $idx, 'toolCall', $tool, $failed, $payload);",
                ("$idx", step.Index), ("$tool", step.ToolName), ("$failed", step.ToolFailed ? 1 : 0), ("$payload", SqliteText.Json(step)));
        }

        foreach (var outcome in episode.Outcomes)
        {
            RawSql.Execute(connection, "INSERT INTO outcomes (episode_sequence, score, source, actor, comment, at) VALUES (1, $score, $source, NULL, NULL, $at);",
                ("$score", outcome.Score), ("$source", outcome.Source), ("$at", SqliteText.FromTime(outcome.At)));
        }

        foreach (var lesson in new[] { NewLesson("les-live"), NewLesson("les-old", retiredAt: T0.AddDays(1)) })
        {
            RawSql.Execute(connection, "INSERT INTO lessons (id, tenant, kind, retired_at, json) VALUES ($id, 'default', 'guideline', $retired, $json);",
                ("$id", lesson.Id), ("$retired", lesson.RetiredAt is { } r ? SqliteText.FromTime(r) : null), ("$json", Schema1LessonJson(lesson)));
        }

        foreach (var s in new[] { snapshot, otherSnapshot })
        {
            RawSql.Execute(connection, """
                INSERT INTO snapshots (id, tenant, parent_id, created_at, created_by, reason, lesson_count, json)
                VALUES ($id, $tenant, NULL, $at, 'learning', $reason, $count, $json);
                """,
                ("$id", s.Id), ("$tenant", s.Tenant), ("$at", SqliteText.FromTimeUtc(s.CreatedAt)), ("$reason", s.Reason),
                ("$count", s.Lessons.Count), ("$json", SqliteText.Json(s)));
        }

        RawSql.Execute(connection, "INSERT INTO active_snapshots (tenant, snapshot_id) VALUES ('default', $id);", ("$id", snapshot.Id));
        return (episode, snapshot);
    }

    [Fact]
    public async Task A_file_written_with_schema_1_migrates_to_the_control_plane_keeping_its_data()
    {
        var path = NewPath();
        var (episode, snapshot) = WriteSchema1File(path);

        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            Assert.Equal(snapshot.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
            var rollout = await store.GetRolloutAsync(Tenants.Default, Ct);
            Assert.Equal((snapshot.Id, (string?)null, RolloutStage.None, 1L, "migration:0002"),
                (rollout.StableSnapshotId, rollout.CandidateSnapshotId, rollout.Stage, rollout.Version, rollout.UpdatedBy));
            Assert.InRange(rollout.UpdatedAt, DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddHours(1));
            Assert.Equal(0, (await store.GetRolloutAsync("acme", Ct)).Version);
            Assert.True(Assert.Single(await store.ListSnapshotsAsync(Tenants.Default, Ct)).IsActive);
            Assert.False(Assert.Single(await store.ListSnapshotsAsync("acme", Ct)).IsActive);

            Assert.Equal(["les-live"], (await store.ListLessonsAsync(new LessonQuery(), Ct)).Select(l => l.Id));
            Assert.Equal(["les-old"], (await store.ListLessonsAsync(new LessonQuery { Status = LessonStatus.Retired }, Ct)).Select(l => l.Id));
            Assert.Equal(LessonStatus.Active, (await store.GetLessonAsync("les-live", Ct))!.Status);

            var read = await store.GetEpisodeAsync(episode.Id, Ct);
            Assert.Equal(
                System.Text.Json.JsonSerializer.Serialize(episode with { Sequence = 0 }, LoreJson.Options),
                System.Text.Json.JsonSerializer.Serialize(read! with { Sequence = 0 }, LoreJson.Options));

            Assert.Equal(1, (await store.AppendAuditAsync(Draft(1), Ct)).Sequence);
            var saved = await store.SaveRolloutAsync(rollout with { UpdatedBy = "cli:alice", Frozen = true }, rollout.Version, Ct);
            Assert.Equal(2, saved.Version);
        }

        Assert.Equal(SchemaMigrator.All.Select(m => (long)m.Version), ReadMigrationVersions(path));
        Assert.Equal(0L, Query(path, "SELECT COUNT(*) FROM sqlite_master WHERE name = 'active_snapshots';"));
        Assert.Equal("retired", Query(path, "SELECT status FROM lessons WHERE id = 'les-old';"));
    }

    private static List<long> ReadMigrationVersions(string path)
    {
        using var connection = Connect(path);
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version FROM schema_migrations ORDER BY version;";
        using var reader = command.ExecuteReader();
        var versions = new List<long>();
        while (reader.Read())
        {
            versions.Add(reader.GetInt64(0));
        }

        return versions;
    }

    [Fact]
    public async Task Audit_rows_cannot_be_updated_or_deleted_through_SQL()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
        for (var n = 1; n <= 3; n++)
        {
            await store.AppendAuditAsync(Draft(n), Ct);
        }

        using (var connection = Connect(path))
        {
            var update = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, "UPDATE audit_log SET reason = 'nothing happened' WHERE sequence = 2;"));
            var delete = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, "DELETE FROM audit_log WHERE sequence = 3;"));
            var deleteAll = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, "DELETE FROM audit_log;"));

            Assert.Contains("append-only", update.Message, StringComparison.Ordinal);
            Assert.Contains("append-only", delete.Message, StringComparison.Ordinal);
            Assert.Contains("append-only", deleteAll.Message, StringComparison.Ordinal);
        }

        var entries = await ReadAuditAsync(store);
        Assert.Equal(3, entries.Count);
        Assert.Equal("run 2", entries[1].Reason);
        AssertValidChain(entries);
    }

    [Fact]
    public async Task An_audit_row_that_does_not_extend_the_head_is_refused_through_SQL()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
        var first = await store.AppendAuditAsync(Draft(1), Ct);
        var forged = AuditEntry.Chain(null, Draft(2)); // a second "first" entry: a fork
        var gap = AuditEntry.Chain(first with { Sequence = 5 }, Draft(3));

        using (var connection = Connect(path))
        {
            foreach (var entry in new[] { forged, gap })
            {
                var error = Assert.Throws<SqliteException>(() => RawSql.Execute(connection, """
                    INSERT INTO audit_log (sequence, at_ticks, tenant, actor, action, subject, reason, details_json, previous_hash, hash)
                    VALUES ($sequence, $at, $tenant, $actor, $action, $subject, $reason, $details, $previous, $hash);
                    """,
                    ("$sequence", entry.Sequence), ("$at", entry.At.UtcTicks), ("$tenant", entry.Tenant), ("$actor", entry.Actor),
                    ("$action", entry.Action), ("$subject", entry.Subject), ("$reason", entry.Reason), ("$details", entry.DetailsJson),
                    ("$previous", entry.PreviousHash), ("$hash", entry.Hash)));
                Assert.Contains("chain", error.Message, StringComparison.Ordinal);
            }
        }

        Assert.Equal([first.Hash], (await ReadAuditAsync(store)).Select(e => e.Hash));
        Assert.Equal(2, (await store.AppendAuditAsync(Draft(2), Ct)).Sequence);
    }

    [Fact]
    public async Task An_edit_made_after_dropping_the_triggers_is_caught_by_recomputing_the_hashes()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
        for (var n = 1; n <= 4; n++)
        {
            await store.AppendAuditAsync(Draft(n), Ct);
        }

        using (var connection = Connect(path))
        {
            RawSql.Execute(connection, "DROP TRIGGER audit_log_append_only_update;");
            RawSql.Execute(connection, "UPDATE audit_log SET reason = 'nothing to see' WHERE sequence = 3;");
        }

        var entries = await ReadAuditAsync(store);
        Assert.Equal("nothing to see", entries[2].Reason);
        Assert.Equal(AuditChain.ComputeHash(entries[1]), entries[1].Hash);
        Assert.NotEqual(AuditChain.ComputeHash(entries[2]), entries[2].Hash);
    }

    [Fact]
    public async Task Two_stores_on_one_file_append_to_a_single_audit_chain()
    {
        var path = NewPath();
        var relaxed = new SqliteStoreOptions { FlushEveryCommit = false };
        await using var first = await SqliteLoreStore.OpenAsync(path, relaxed, Ct);
        await using var second = await SqliteLoreStore.OpenAsync(path, relaxed, Ct);

        async Task AppendAsync(ILoreStore store, string tenant)
        {
            for (var i = 0; i < 40; i++)
            {
                await store.AppendAuditAsync(Draft(i, tenant), Ct);
            }
        }

        await Task.WhenAll(Task.Run(() => AppendAsync(first, "one"), Ct), Task.Run(() => AppendAsync(second, "two"), Ct));

        var entries = await ReadAuditAsync(first);
        Assert.Equal(80, entries.Count);
        AssertValidChain(entries);
        Assert.Equal(40, entries.Count(e => e.Tenant == "two"));
    }

    [Fact]
    public async Task Two_stores_on_one_file_cannot_both_save_a_rollout_from_the_same_version()
    {
        var path = NewPath();
        await using var first = await SqliteLoreStore.OpenAsync(path, Ct);
        await using var second = await SqliteLoreStore.OpenAsync(path, Ct);
        var snapshot = Snapshot.Create(null, Tenants.Default, [NewLesson("les-1")], new RetrievalSettings(), "learning", "first", T0);
        await first.SaveSnapshotAsync(snapshot, Ct);
        var read = await second.GetRolloutAsync(Tenants.Default, Ct);

        await first.SaveRolloutAsync(read with { StableSnapshotId = snapshot.Id, UpdatedBy = "host-1" }, read.Version, Ct);
        var conflict = await Assert.ThrowsAsync<StoreConflictException>(() => second.SaveRolloutAsync(read with { Frozen = true, UpdatedBy = "host-2" }, read.Version, Ct));

        Assert.Contains("version 1", conflict.Message, StringComparison.Ordinal);
        var now = await second.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal(("host-1", false, snapshot.Id), (now.UpdatedBy, now.Frozen, now.StableSnapshotId));
    }

    [Fact]
    public async Task A_long_audit_log_streams_past_page_boundaries_in_order()
    {
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), new SqliteStoreOptions { FlushEveryCommit = false }, Ct);
        const int Count = 1_100; // more than two read pages
        for (var n = 1; n <= Count; n++)
        {
            await store.AppendAuditAsync(Draft(n), Ct);
        }

        var all = await ReadAuditAsync(store);
        var tail = await ReadAuditAsync(store, after: 511);

        Assert.Equal(Count, all.Count);
        AssertValidChain(all);
        Assert.Equal(Enumerable.Range(512, Count - 511).Select(i => (long)i), tail.Select(e => e.Sequence));
    }

    [Fact]
    public async Task An_audit_draft_without_a_time_is_stamped_with_the_stores_clock()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 4, 2, 10, 30, 0, TimeSpan.FromHours(2)).AddTicks(3));
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), new SqliteStoreOptions { Clock = clock }, Ct);

        var stamped = await store.AppendAuditAsync(Draft(1) with { At = default }, Ct);
        var given = await store.AppendAuditAsync(Draft(2), Ct);

        Assert.Equal(clock.Now.UtcTicks, stamped.At.UtcTicks);
        Assert.Equal(Draft(2).At.UtcTicks, given.At.UtcTicks);
        AssertValidChain(await ReadAuditAsync(store));
    }

    [Fact]
    public async Task Erasure_leaves_the_busy_timeout_as_configured()
    {
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), new SqliteStoreOptions { BusyTimeout = TimeSpan.FromSeconds(7) }, Ct);
        await using (var import = await store.BeginImportAsync(Ct))
        {
            await import.AddAsync(new EpisodeBuilder("ep-1").Succeeded().Build(), Ct);
            await import.CommitAsync(Ct);
        }

        Assert.Equal(1, await store.DeleteEpisodesAsync(["ep-1"], Ct));

        Assert.Equal(7_000L, store.WriterPragma("busy_timeout"));
    }

    [Fact]
    public async Task The_rollout_is_stamped_with_the_stores_clock()
    {
        var clock = new FixedClock(new DateTimeOffset(2026, 4, 2, 10, 30, 0, TimeSpan.Zero).AddTicks(7));
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), new SqliteStoreOptions { Clock = clock }, Ct);
        var snapshot = Snapshot.Create(null, Tenants.Default, [NewLesson("les-1")], new RetrievalSettings(), "learning", "first", T0);
        await store.SaveSnapshotAsync(snapshot, Ct);

        var saved = await store.SaveRolloutAsync(new RolloutState { Tenant = Tenants.Default, StableSnapshotId = snapshot.Id, UpdatedAt = T0 }, 0, Ct);
        clock.Now = clock.Now.AddMinutes(5);
        await store.SetActiveSnapshotAsync(Tenants.Default, null, Ct);

        Assert.Equal(new DateTimeOffset(2026, 4, 2, 10, 30, 0, TimeSpan.Zero).AddTicks(7), saved.UpdatedAt);
        var after = await store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal(clock.Now, after.UpdatedAt);
        Assert.Equal("", after.UpdatedBy);
    }

    [Fact]
    public async Task Erased_episode_content_does_not_remain_in_the_file()
    {
        const string Secret = "card 4111-1111-1111-1111 of Zoë Erasable";
        var path = NewPath();
        await using (var store = await SqliteLoreStore.OpenAsync(path, Ct))
        {
            var episodes = Enumerable.Range(0, 30).Select(i =>
                new EpisodeBuilder($"ep-{i}").Task(i % 3 == 0 ? $"refund for {Secret}" : "search flights")
                    .Tool("find_order", args: i % 3 == 0 ? $$"""{"card":"{{Secret}}"}""" : "{}", result: new string('x', 500)).Succeeded().Build()).ToArray();
            await using (var import = await store.BeginImportAsync(Ct))
            {
                foreach (var episode in episodes)
                {
                    await import.AddAsync(episode, Ct);
                }

                await import.CommitAsync(Ct);
            }

            Assert.Equal(10, await store.DeleteEpisodesAsync([.. episodes.Where((_, i) => i % 3 == 0).Select(e => e.Id)], Ct));
            Assert.Equal(20, await store.CountEpisodesAsync(Tenants.Default, Ct));
            Assert.Equal(0, new FileInfo(path + "-wal").Length); // checkpointed and truncated while the store is open
            Assert.Equal(1L, store.WriterPragma("secure_delete"));
        }

        Assert.False(File.Exists(path + "-wal"));
        var bytes = await File.ReadAllBytesAsync(path, Ct);
        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("4111-1111-1111-1111")));
        Assert.Equal(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("Erasable")));
        Assert.NotEqual(-1, bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes("search flights")));
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public DateTimeOffset Now { get; set; } = now;

        public override DateTimeOffset GetUtcNow() => Now;
    }
}
