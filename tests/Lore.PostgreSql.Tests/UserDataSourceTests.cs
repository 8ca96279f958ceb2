using Lore.Testing;
using Microsoft.Extensions.AI;
using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>
/// The store over an <see cref="NpgsqlDataSource"/> the application built with its own settings: Lore's tables live in
/// Lore's schema while the application's connections keep their own search path, and the data source stays the
/// application's (the store never changes or disposes it).
/// </summary>
public sealed class UserDataSourceTests
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A model that answers at once and keeps what it was sent.</summary>
    private sealed class AnsweringClient : IChatClient
    {
        public List<List<ChatMessage>> Requests { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            lock (Requests)
            {
                Requests.Add([.. messages]);
            }

            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "Refunded.")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    private static NpgsqlDataSource ApplicationDataSource(string database, int maxPoolSize)
    {
        var builder = new NpgsqlDataSourceBuilder(database);
        builder.ConnectionStringBuilder.ApplicationName = "orders-app";
        builder.ConnectionStringBuilder.SearchPath = "app";
        builder.ConnectionStringBuilder.MaxPoolSize = maxPoolSize;
        return builder.Build();
    }

    private static async Task<T> ScalarAsync<T>(NpgsqlDataSource dataSource, string sql)
    {
        await using var command = dataSource.CreateCommand(sql);
        return (T)(await command.ExecuteScalarAsync(Ct))!;
    }

    [Fact]
    public async Task A_data_source_the_application_built_serves_capture_learning_and_the_change_feed()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            // A small pool (each store's change feed holds one connection), which the checks at the end take whole.
            const int poolSize = 6;
            await using var dataSource = ApplicationDataSource(database, poolSize);
            await using (var setup = dataSource.CreateCommand("CREATE SCHEMA app; CREATE TABLE app.orders (id int); INSERT INTO app.orders VALUES (1142);"))
            {
                await setup.ExecuteNonQueryAsync(Ct);
            }

            var options = new PostgresStoreOptions { Schema = "lore_support" };
            await using (var learnerStore = await PostgresLoreStore.OpenAsync(dataSource, options, Ct))
            await using (var otherStore = await PostgresLoreStore.OpenAsync(dataSource, options, Ct))
            {
                Assert.Equal($"{PostgresConnectionString.Describe(new NpgsqlConnectionStringBuilder(dataSource.ConnectionString))} (schema lore_support)", learnerStore.Location);
                var learnerOptions = new LoreOptions { Store = learnerStore, LeaveStoreOpen = true, RefreshInterval = TimeSpan.Zero };
                learnerOptions.Learning.Extractors.Add(new FixedLessonExtractor("refund-rule", "refund-needs-lookup", LessonKind.Procedure, "Before any refund, call lookup_order for the order id.", "refund") { ExemplarsAreSuccessesOnly = false });
                await using var learner = await LoreRuntime.OpenAsync(learnerOptions, Ct);

                // The other host hears of the new snapshot only through the change feed (no polling).
                await using var other = await LoreRuntime.OpenAsync(new LoreOptions { Store = otherStore, LeaveStoreOpen = true, RefreshInterval = TimeSpan.Zero }, Ct);
                var model = new AnsweringClient();
                using var client = new ChatClientBuilder(model).UseLore(learner).Build();
                using var otherClient = new ChatClientBuilder(model).UseLore(other).Build();
                foreach (var unit in new[] { "user-1", "user-2", "user-3" })
                {
                    await using var episode = learner.BeginEpisode("refund order 1142", unitKey: unit);
                    await client.GetResponseAsync("Please refund order 1142", cancellationToken: Ct);
                    await episode.CompleteAsync(Outcome.Success(), Ct);
                }

                var run = await learner.LearnAsync("test", cancellationToken: Ct);

                Assert.Equal(3, run.EpisodesRead);
                Assert.NotNull(run.SnapshotId);
                var deadline = DateTime.UtcNow + Generous;
                while (other.CurrentSnapshot?.Id != run.SnapshotId)
                {
                    Assert.True(DateTime.UtcNow < deadline, "The other host did not hear of the new snapshot through the change feed.");
                    await Task.Delay(20, Ct);
                }

                await using (var next = other.BeginEpisode("refund order 77", unitKey: "user-4"))
                {
                    await otherClient.GetResponseAsync("Please refund order 77", cancellationToken: Ct);
                    await next.CompleteAsync(Outcome.Success(), Ct);
                }

                Assert.Contains("Before any refund, call lookup_order", model.Requests[^1][0].Text, StringComparison.Ordinal);
                await other.FlushAsync(Ct);
                Assert.Equal(4, await otherStore.ReadEpisodesAsync(new EpisodeQuery { WithoutSteps = true }, Ct).CountAsync(Ct));
            }

            // Lore's tables are in Lore's schema only; the application's connections keep their own settings.
            Assert.Equal(1L, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM pg_tables WHERE schemaname = 'lore_support' AND tablename = 'episodes';"));
            Assert.Equal(0L, await ScalarAsync<long>(dataSource, "SELECT count(*) FROM pg_tables WHERE schemaname IN ('app', 'public') AND tablename = 'episodes';"));
            // Every connection of the pool at once, so each one Lore used is among them.
            var connections = new List<NpgsqlConnection>();
            try
            {
                for (var i = 0; i < poolSize; i++)
                {
                    connections.Add(await dataSource.OpenConnectionAsync(Ct));
                }

                foreach (var connection in connections)
                {
                    await using var check = new NpgsqlCommand("SELECT current_setting('search_path') || ' ' || current_setting('application_name') || ' ' || (SELECT id FROM orders);", connection);
                    Assert.Equal("app orders-app 1142", await check.ExecuteScalarAsync(Ct));
                }
            }
            finally
            {
                foreach (var connection in connections)
                {
                    await connection.DisposeAsync();
                }
            }
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    [Fact]
    public async Task Stores_in_two_schemas_share_one_data_source_and_never_see_each_others_state()
    {
        var database = await TestDatabases.CreateEmptyAsync();
        try
        {
            // One connection: every operation of both stores runs on the same session, one after the other.
            await using var dataSource = ApplicationDataSource(database, maxPoolSize: 1);
            await using var first = await PostgresLoreStore.OpenAsync(dataSource, new PostgresStoreOptions { Schema = "team_a" }, Ct);
            await using var second = await PostgresLoreStore.OpenAsync(dataSource, new PostgresStoreOptions { Schema = "team_b" }, Ct);
            var snapshot = Snapshot.Create(null, "acme", [], new RetrievalSettings(), "test", "first", DateTimeOffset.UtcNow);

            await first.SaveSnapshotAsync(snapshot, Ct);
            await first.SetActiveSnapshotAsync("acme", snapshot.Id, Ct);

            Assert.Equal(snapshot.Id, (await first.GetRolloutAsync("acme", Ct)).StableSnapshotId);
            Assert.Null(await second.GetSnapshotAsync(snapshot.Id, Ct));
            Assert.Null((await second.GetRolloutAsync("acme", Ct)).StableSnapshotId);
        }
        finally
        {
            await TestDatabases.DropAsync(database);
        }
    }

    [Fact]
    public async Task A_data_source_that_multiplexes_or_keeps_session_state_is_refused_naming_both_settings()
    {
        await using var dataSource = NpgsqlDataSource.Create("Host=127.0.0.1;Username=lore;Multiplexing=true;No Reset On Close=true");

        var error = await Assert.ThrowsAsync<ArgumentException>(() => PostgresLoreStore.OpenAsync(dataSource, null, Ct));

        Assert.Contains("Multiplexing=true", error.Message, StringComparison.Ordinal);
        Assert.Contains("No Reset On Close=true", error.Message, StringComparison.Ordinal);
    }
}
