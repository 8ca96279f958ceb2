using Lore.Sqlite.Migrations;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>What only the SQLite engine promises: one WAL file, full sync, versioned migrations, clear refusals.</summary>
public sealed class SqliteStoreTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string NewPath() => _directory.File($"{Guid.NewGuid():n}.db");

    private static object? Query(string path, string sql)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }

    private static List<(long Version, string Name, string AppliedAt)> Migrations(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT version, name, applied_at FROM schema_migrations ORDER BY version;";
        using var reader = command.ExecuteReader();
        var rows = new List<(long, string, string)>();
        while (reader.Read())
        {
            rows.Add((reader.GetInt64(0), reader.GetString(1), reader.GetString(2)));
        }

        return rows;
    }

    [Fact]
    public async Task The_file_uses_the_WAL_journal_full_sync_foreign_keys_and_a_busy_timeout()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);

        Assert.Equal("wal", Query(path, "PRAGMA journal_mode;"));
        Assert.Equal(2L, store.WriterPragma("synchronous")); // FULL
        Assert.Equal(1L, store.WriterPragma("foreign_keys"));
        Assert.Equal(30_000L, store.WriterPragma("busy_timeout"));
        Assert.Equal(SchemaMigrator.ApplicationId, Query(path, "PRAGMA application_id;"));
    }

    [Fact]
    public async Task Durability_can_be_relaxed_to_normal_sync_on_request()
    {
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), new SqliteStoreOptions { FlushEveryCommit = false, BusyTimeout = TimeSpan.FromSeconds(5) }, Ct);

        Assert.Equal(1L, store.WriterPragma("synchronous")); // NORMAL
        Assert.Equal(5_000L, store.WriterPragma("busy_timeout"));
    }

    [Fact]
    public async Task Migrations_are_recorded_once_and_reopening_applies_nothing_again()
    {
        var path = NewPath();
        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();
        var first = Migrations(path);

        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();
        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();

        Assert.Equal(SchemaMigrator.All.Select(m => (long)m.Version), first.Select(m => m.Version));
        Assert.Equal(SchemaMigrator.All.Select(m => m.Name), first.Select(m => m.Name));
        Assert.All(first, m => Assert.True(DateTimeOffset.TryParse(m.AppliedAt, System.Globalization.CultureInfo.InvariantCulture, out _)));
        Assert.Equal(first, Migrations(path));
    }

    [Fact]
    public async Task A_write_behind_another_process_holding_the_write_lock_past_the_busy_timeout_says_the_store_is_busy_and_writes_nothing()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, new SqliteStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(200) }, Ct);
        using (var holder = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            holder.Open();
            using var held = holder.BeginTransaction(deferred: false); // BEGIN IMMEDIATE: another process's write lock

            var error = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.SetCursorAsync("learning:default", 5, Ct));

            Assert.Equal(StoreUnavailableReason.Busy, error.Reason);
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
            Assert.Contains("busy", error.Message, StringComparison.Ordinal);
            Assert.True(error.RetryAfter > TimeSpan.Zero);
            held.Rollback();
        }

        Assert.Equal(0, await store.GetCursorAsync("learning:default", Ct));
        await store.SetCursorAsync("learning:default", 5, Ct); // the same write goes through once the lock is released
        Assert.Equal(5, await store.GetCursorAsync("learning:default", Ct));
    }

    private static void LeaveLearningLock(string path, int pid, string host)
    {
        var expires = DateTimeOffset.UtcNow.AddHours(1).UtcTicks; // far from lapsing: only the holder's death can free it
        Query(path, $"INSERT INTO learning_locks (tenant, holder, token, expires_at, owner_host, owner_pid, heartbeat_at) VALUES ('default', 'killed-learner', 'tok', {expires}, '{host}', {pid}, {DateTimeOffset.UtcNow.UtcTicks});");
    }

    [Fact]
    public async Task A_learning_lock_left_by_a_dead_process_on_this_host_is_taken_over_at_once_with_a_message()
    {
        var path = NewPath();
        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();
        using (var gone = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("true") { UseShellExecute = false })!)
        {
            await gone.WaitForExitAsync(Ct);
            LeaveLearningLock(path, gone.Id, Environment.MachineName);
        }

        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(TimeSpan.FromMinutes(2));
        await using var held = await store.AcquireLearningLockAsync(Tenants.Default, "next-learner", deadline.Token);

        var note = Assert.IsAssignableFrom<ILearningLockHandle>(held).TakeoverNote;
        Assert.NotNull(note);
        Assert.Contains("killed-learner", note);
        Assert.Contains("no longer running", note);
    }

    [Fact]
    public async Task A_learning_lock_of_a_live_process_is_not_taken_over()
    {
        var path = NewPath();
        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();
        using var alive = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("sleep", "600") { UseShellExecute = false })!;
        try
        {
            LeaveLearningLock(path, alive.Id, Environment.MachineName);
            await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
            using var brief = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            brief.CancelAfter(TimeSpan.FromMilliseconds(500));

            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AcquireLearningLockAsync(Tenants.Default, "next-learner", brief.Token));

            // A holder on another host cannot be checked, so it keeps the lock until its heartbeat lapses.
            Query(path, "UPDATE learning_locks SET owner_host = 'another-host', owner_pid = 1;");
            using var again = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            again.CancelAfter(TimeSpan.FromMilliseconds(500));
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AcquireLearningLockAsync(Tenants.Default, "next-learner", again.Token));
            Assert.Equal("killed-learner", Query(path, "SELECT holder FROM learning_locks;"));
        }
        finally
        {
            alive.Kill();
            await alive.WaitForExitAsync(Ct);
        }
    }

    [Fact]
    public void Migration_versions_are_ordered_and_every_script_is_embedded()
    {
        // Versions are assigned per change and may leave gaps (the migrator applies whichever are missing), but never repeat or go back.
        Assert.Equal(1, SchemaMigrator.All[0].Version);
        Assert.All(SchemaMigrator.All.Zip(SchemaMigrator.All.Skip(1)), pair => Assert.True(pair.First.Version < pair.Second.Version, $"migration {pair.Second.Version} follows {pair.First.Version}"));
        Assert.All(SchemaMigrator.All, m => Assert.Matches("CREATE|ALTER", m.LoadSql()));
    }

    [Fact]
    public async Task A_file_with_a_newer_schema_is_refused_and_left_untouched()
    {
        var path = NewPath();
        await (await SqliteLoreStore.OpenAsync(path, Ct)).DisposeAsync();
        Query(path, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (99, 'from the future', '2030-01-01T00:00:00.0000000+00:00');");

        var error = Assert.Throws<NotSupportedException>(() => SqliteLoreStore.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("99", error.Message);
        Assert.Contains("newer", error.Message);
        Assert.Equal(SchemaMigrator.All.Count + 1, Migrations(path).Count);
    }

    [Fact]
    public void A_file_that_is_not_a_database_is_refused_naming_its_path_and_left_untouched()
    {
        var path = _directory.File("notes.txt");
        const string content = "These are my notes, not a database.\nLine two is long enough to fill a SQLite header and then some more text.\n";
        File.WriteAllText(path, content);

        var error = Assert.Throws<InvalidDataException>(() => SqliteLoreStore.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("not a SQLite database", error.Message);
        Assert.Equal(content, File.ReadAllText(path));
    }

    [Theory]
    [InlineData("PRAGMA application_id = 1234; CREATE TABLE invoices (id INTEGER PRIMARY KEY);")]
    [InlineData("CREATE TABLE invoices (id INTEGER PRIMARY KEY); INSERT INTO invoices VALUES (1);")]
    public void Another_applications_database_is_refused_and_left_untouched(string setup)
    {
        var path = NewPath();
        Query(path, setup);

        var error = Assert.Throws<InvalidDataException>(() => SqliteLoreStore.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("another application", error.Message);
        Assert.Equal(1L, Query(path, "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table';"));
        Assert.Equal("delete", Query(path, "PRAGMA journal_mode;")); // refused before the switch to WAL, which rewrites the header
    }

    [Fact]
    public void An_empty_file_is_refused_and_left_empty()
    {
        var path = NewPath();
        File.WriteAllBytes(path, []);

        var error = Assert.Throws<InvalidDataException>(() => SqliteLoreStore.Open(path));

        Assert.Contains(path, error.Message);
        Assert.Contains("empty file", error.Message);
        Assert.Equal(0, new FileInfo(path).Length);
        Assert.False(File.Exists(path + "-wal"));
    }

    [Fact]
    public void A_folder_is_refused_and_a_missing_folder_is_created()
    {
        Assert.Throws<ArgumentException>(() => SqliteLoreStore.Open(_directory.Path));

        var nested = Path.Combine(_directory.Path, "deep", "er", "lore.db");
        using (var _ = new DisposeOnExit(SqliteLoreStore.Open(nested)))
        {
            Assert.True(File.Exists(nested));
        }
    }

    [Fact]
    public async Task Closing_the_store_leaves_one_self_contained_file()
    {
        var path = NewPath();
        var store = await SqliteLoreStore.OpenAsync(path, Ct);
        await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("a").Build())], Ct);
        await store.DisposeAsync();

        Assert.False(File.Exists(path + "-wal") && new FileInfo(path + "-wal").Length > 0);
        Assert.Equal(1L, Query(path, "SELECT COUNT(*) FROM episodes;"));
    }

    [Fact]
    public async Task A_disposed_store_refuses_further_calls()
    {
        var store = await SqliteLoreStore.OpenAsync(NewPath(), Ct);
        await store.DisposeAsync();
        await store.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("a").Build())], Ct));
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Two_stores_on_one_file_can_write_at_the_same_time()
    {
        var path = NewPath();
        await using var first = await SqliteLoreStore.OpenAsync(path, Ct);
        await using var second = await SqliteLoreStore.OpenAsync(path, Ct);

        async Task WriteAsync(ILoreStore store, string prefix)
        {
            for (var i = 0; i < 40; i++)
            {
                var episode = new EpisodeBuilder($"{prefix}-{i}").Tool("search").Tool("book").Succeeded().Build();
                await store.AppendAsync([new EpisodeStarted(episode with { Steps = [] }), .. episode.Steps.Select(s => new StepRecorded(episode.Id, s))], Ct);
            }
        }

        await Task.WhenAll(Task.Run(() => WriteAsync(first, "one"), Ct), Task.Run(() => WriteAsync(second, "two"), Ct));

        Assert.Equal(80, await first.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(160L, Query(path, "SELECT COUNT(*) FROM steps;"));
    }

    [Fact]
    public async Task A_cancelled_append_writes_nothing()
    {
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), Ct);
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("a").Build())], cancelled.Token));

        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Steps_keep_their_tool_name_and_failure_as_columns()
    {
        var path = NewPath();
        await using var store = await SqliteLoreStore.OpenAsync(path, Ct);
        var episode = new EpisodeBuilder("a").Tool("refund", result: "Error: not found").Tool("find_order").ModelCall("hi", "ho").Build();

        await store.AppendAsync([new EpisodeStarted(episode)], Ct);

        Assert.Equal("refund:1|find_order:0|:0", Query(path, "SELECT group_concat(coalesce(tool_name, '') || ':' || tool_failed, '|') FROM (SELECT * FROM steps ORDER BY id);"));
        Assert.Equal("toolCall,toolCall,modelCall", Query(path, "SELECT group_concat(kind) FROM (SELECT kind FROM steps ORDER BY id);"));
    }

    [Fact]
    public async Task Looking_up_an_episode_id_sees_every_commit_since_the_last_lookup_and_only_the_tenants_own_episodes()
    {
        // The lookup the proxy makes for each new X-Lore-Episode id reuses connections with the question prepared on
        // them: a reused one must never answer from an older snapshot of the file.
        await using var store = await SqliteLoreStore.OpenAsync(NewPath(), Ct);
        for (var i = 0; i < 20; i++)
        {
            var id = $"ep-{i}";
            Assert.Null(await store.GetEpisodeAsync(Tenants.Default, id, Ct));
            await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder(id).Build())], Ct);
            Assert.Equal(id, (await store.GetEpisodeAsync(Tenants.Default, id, Ct))?.Id);
            Assert.Null(await store.GetEpisodeAsync("another-tenant", id, Ct));
        }

        // Ids are values, never SQL: quotes, wildcards and control characters find nothing and break nothing.
        foreach (var hostile in (string[])["ep-1' OR '1'='1", "ep-%", "ep-1\0", "ep-1; DROP TABLE episodes; --", new string('x', 100_000)])
        {
            Assert.Null(await store.GetEpisodeAsync(Tenants.Default, hostile, Ct));
        }

        Assert.Equal("ep-1", (await store.GetEpisodeAsync(Tenants.Default, "ep-1", Ct))?.Id);

        // Many callers at once, more than the connections kept: each gets its own id's answer.
        var answers = await Task.WhenAll(Enumerable.Range(0, 400).Select(i => Task.Run(async () =>
            (i, Found: await store.GetEpisodeAsync(Tenants.Default, $"ep-{i % 40}", Ct) is not null), Ct)));
        Assert.All(answers, a => Assert.Equal(a.i % 40 < 20, a.Found));

        await store.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => store.GetEpisodeAsync(Tenants.Default, "ep-1", Ct));
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private sealed class DisposeOnExit(IAsyncDisposable inner) : IDisposable
    {
        public void Dispose() => inner.DisposeAsync().AsTask().GetAwaiter().GetResult();
    }
}
