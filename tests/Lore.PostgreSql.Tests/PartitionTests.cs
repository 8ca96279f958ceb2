using Lore.PostgreSql.Episodes;
using Lore.Testing;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>Monthly partitions: created on demand, dropped whole when erasure or retention empties an old month.</summary>
public sealed class PartitionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset January2024 = new(2024, 1, 10, 8, 0, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset February2024 = new(2024, 2, 10, 8, 0, 0, TimeSpan.Zero);

    private string _database = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _database = await TestDatabases.RentMigratedAsync();

    public async ValueTask DisposeAsync() => await TestDatabases.ReturnAsync(_database);

    private static Episode Episode(string id, DateTimeOffset started, string tenant = Tenants.Default)
        => new EpisodeBuilder(id).Tenant(tenant).StartedAt(started).Tool("lookup").Tool("refund", failed: true).Succeeded().Build();

    private static async Task ImportAsync(ILoreStore store, params Episode[] episodes)
    {
        await using var import = await store.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        await import.CommitAsync(Ct);
    }

    private async Task<long> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(_database);
        await connection.OpenAsync(Ct);
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(Ct), System.Globalization.CultureInfo.InvariantCulture);
    }

    private async Task<bool> TableExistsAsync(string table) => await ScalarAsync($"SELECT count(*) FROM pg_tables WHERE schemaname = 'lore' AND tablename = '{table}';") == 1;

    [Fact]
    public async Task An_episode_and_its_steps_and_outcomes_live_in_the_partitions_of_the_month_it_started_in()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);

        await ImportAsync(store, Episode("jan-1", January2024), Episode("jan-2", January2024.AddDays(20)));
        await store.AppendAsync([new EpisodeStarted(Episode("feb-1", February2024) with { Steps = [], Outcomes = [] }), new StepRecorded("feb-1", Step.Tool(0, "lookup", "{}", "ok"))], Ct);

        Assert.Equal(2, await ScalarAsync("SELECT count(*) FROM lore.episodes_y2024m01;"));
        Assert.Equal(4, await ScalarAsync("SELECT count(*) FROM lore.steps_y2024m01;"));
        Assert.Equal(2, await ScalarAsync("SELECT count(*) FROM lore.outcomes_y2024m01;"));
        Assert.Equal(1, await ScalarAsync("SELECT count(*) FROM lore.steps_y2024m02;"));
        await using var connection = await store.OpenConnectionAsync(Ct);
        var months = await EpisodePartitions.ListAsync(connection, Ct);
        Assert.Contains(new DateOnly(2024, 1, 1), months);
        Assert.Contains(new DateOnly(2024, 2, 1), months);
    }

    [Fact]
    public async Task Deleting_every_episode_of_an_old_month_drops_its_partitions_and_the_month_can_be_written_again()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        await ImportAsync(store, Episode("jan-1", January2024), Episode("jan-2", January2024), Episode("feb-1", February2024));

        Assert.Equal(2, await store.DeleteEpisodesAsync(["jan-1", "jan-2"], Ct));

        foreach (var table in EpisodePartitions.Tables)
        {
            Assert.False(await TableExistsAsync($"{table}_y2024m01"), $"{table}_y2024m01 should have been dropped");
            Assert.True(await TableExistsAsync($"{table}_y2024m02"));
        }

        Assert.Equal(["feb-1"], (await ReadAllAsync(store)).Select(e => e.Id));

        // This store believed January existed; it notices it was dropped and creates it again.
        await ImportAsync(store, Episode("jan-3", January2024));
        await store.AppendAsync([new EpisodeStarted(Episode("jan-4", January2024) with { Steps = [], Outcomes = [] })], Ct);
        Assert.Equal(["feb-1", "jan-3", "jan-4"], (await ReadAllAsync(store)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_month_another_store_dropped_is_created_again_when_this_one_writes_to_it()
    {
        await using var writer = await PostgresLoreStore.OpenAsync(_database, Ct);
        await using var eraser = await PostgresLoreStore.OpenAsync(_database, Ct);
        await ImportAsync(writer, Episode("jan-1", January2024));

        await eraser.DeleteEpisodesAsync(["jan-1"], Ct);
        Assert.False(await TableExistsAsync("episodes_y2024m01"));

        await writer.AppendAsync([new EpisodeStarted(Episode("jan-2", January2024) with { Steps = [], Outcomes = [] }), new StepRecorded("jan-2", Step.Tool(0, "lookup", "{}", "ok"))], Ct);
        await ImportAsync(writer, Episode("jan-3", January2024));

        Assert.Equal(["jan-2", "jan-3"], (await ReadAllAsync(eraser)).Select(e => e.Id));
    }

    [Fact]
    public async Task A_month_that_still_holds_another_tenants_episodes_keeps_its_partitions()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        var theirs = Episode("acme-jan", January2024, tenant: "acme");
        await ImportAsync(store, Episode("jan-1", January2024), theirs);

        await store.DeleteEpisodesAsync(["jan-1"], Ct);

        Assert.True(await TableExistsAsync("steps_y2024m01"));
        Assert.Equal(System.Text.Json.JsonSerializer.Serialize(theirs with { Sequence = 0 }, LoreJson.Options),
            System.Text.Json.JsonSerializer.Serialize((await store.GetEpisodeAsync("acme-jan", Ct))! with { Sequence = 0 }, LoreJson.Options));
        Assert.Null(await store.GetEpisodeAsync("jan-1", Ct));
    }

    [Fact]
    public async Task Retention_drops_the_partitions_of_months_older_than_its_cutoff_and_keeps_newer_ones()
    {
        var now = new DateTimeOffset(2024, 6, 15, 12, 0, 0, TimeSpan.Zero);
        var clock = new FixedClock(now);
        await using var store = await PostgresLoreStore.OpenAsync(_database, new PostgresStoreOptions { Clock = clock }, Ct);
        await ImportAsync(store,
            Episode("jan-1", January2024), Episode("jan-2", January2024.AddDays(3)), Episode("feb-1", February2024),
            Episode("may-1", new DateTimeOffset(2024, 5, 20, 0, 0, 0, TimeSpan.Zero)), Episode("jun-1", now.AddDays(-1)));

        var report = await new RetentionRunner(store, timeProvider: clock).RunAsync(
            Tenants.Default, RetentionPolicy.Parse("""{ "maxEpisodeAgeDays": 60 }"""), apply: true, actor: "cli:test", Ct);

        Assert.True(report.Applied);
        Assert.Equal(["may-1", "jun-1"], (await ReadAllAsync(store)).Select(e => e.Id));
        foreach (var table in EpisodePartitions.Tables)
        {
            Assert.False(await TableExistsAsync($"{table}_y2024m01"));
            Assert.False(await TableExistsAsync($"{table}_y2024m02"));
            Assert.True(await TableExistsAsync($"{table}_y2024m05"));
        }

        var audit = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            audit.Add(entry);
        }

        Assert.Contains(audit, e => e.Action == AuditActions.EpisodesDeleted && e.Subject == "3 episodes");
        Assert.Contains(audit, e => e.Action == AuditActions.RetentionApplied);
    }

    [Fact]
    public async Task A_partition_created_while_an_import_is_open_takes_the_imports_rows()
    {
        await using var store = await PostgresLoreStore.OpenAsync(_database, Ct);
        await using var other = await PostgresLoreStore.OpenAsync(_database, Ct);
        await using var import = await store.BeginImportAsync(Ct);
        await import.AddAsync(Episode("jan-1", January2024), Ct);

        // Another host creates a month's partitions while this import holds its transaction open on the parents.
        await other.AppendAsync([new EpisodeStarted(Episode("mar-0", new DateTimeOffset(2024, 3, 1, 0, 0, 0, TimeSpan.Zero)) with { Steps = [], Outcomes = [] })], Ct);
        await import.AddAsync(Episode("mar-1", new DateTimeOffset(2024, 3, 2, 0, 0, 0, TimeSpan.Zero)), Ct);
        await import.AddAsync(Episode("apr-1", new DateTimeOffset(2024, 4, 2, 0, 0, 0, TimeSpan.Zero)), Ct);
        Assert.Equal(3, await import.CommitAsync(Ct));

        Assert.Equal(["jan-1", "mar-0", "mar-1", "apr-1"], (await ReadAllAsync(other)).Select(e => e.Id));
        Assert.Equal(2, (await other.GetEpisodeAsync("apr-1", Ct))!.Steps.Count);
    }

    private static async Task<List<Episode>> ReadAllAsync(ILoreStore store)
    {
        var episodes = new List<Episode>();
        await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery(), Ct))
        {
            episodes.Add(episode);
        }

        return episodes;
    }

    private sealed class FixedClock(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
