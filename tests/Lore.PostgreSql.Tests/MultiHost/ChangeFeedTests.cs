using System.Threading.Channels;
using Npgsql;

namespace Lore.PostgreSql.Tests.MultiHost;

/// <summary>
/// The PostgreSQL change feed on a real server: a rollout saved through another store instance arrives as a change,
/// a cut listening connection is re-established and announced with a resync, and a payload it cannot read still
/// tells the watcher to re-read.
/// </summary>
public sealed class ChangeFeedTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromSeconds(60);
    private readonly CancellationTokenSource _stop = new();
    private string _database = "";
    private PostgresLoreStore? _watched;
    private PostgresLoreStore? _other;
    private Channel<StoreChange>? _changes;
    private Task? _watching;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _database = await TestDatabases.CreateEmptyAsync();
        _watched = await PostgresLoreStore.OpenAsync(new NpgsqlConnectionStringBuilder(_database) { ApplicationName = "lore-feed-test" }.ConnectionString, Ct);
        _other = await PostgresLoreStore.OpenAsync(_database, Ct);
        _changes = Channel.CreateUnbounded<StoreChange>();
        _watching = Task.Run(async () =>
        {
            try
            {
                await foreach (var change in _watched.WatchAsync(_stop.Token))
                {
                    await _changes.Writer.WriteAsync(change);
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                // The test is over.
            }
        });
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        if (_watching is not null)
        {
            await _watching.WaitAsync(Generous);
        }

        await _watched!.DisposeAsync();
        await _other!.DisposeAsync();
        _stop.Dispose();
        await TestDatabases.DropAsync(_database);
    }

    private async Task<StoreChange> NextAsync() => await _changes!.Reader.ReadAsync(Ct).AsTask().WaitAsync(Generous, Ct);

    private async Task<Snapshot> StoredSnapshotAsync(string reason)
    {
        var snapshot = Snapshot.Create(null, "acme", [], new RetrievalSettings(), "test", reason, DateTimeOffset.UtcNow);
        await _other!.SaveSnapshotAsync(snapshot, Ct);
        return snapshot;
    }

    [Fact]
    public async Task A_rollout_saved_by_another_store_instance_arrives_as_a_change_of_its_tenant()
    {
        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind); // listening has started: re-read once
        var snapshot = await StoredSnapshotAsync("first");

        await _other!.SetActiveSnapshotAsync("acme", snapshot.Id, Ct);

        Assert.Equal(new StoreChange(StoreChangeKinds.Rollout, "acme"), await NextAsync());
    }

    [Fact]
    public async Task A_cut_listening_connection_is_reestablished_announced_with_a_resync_and_delivers_again()
    {
        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind);
        var server = await TestDatabases.ServerAsync();

        await server.ExecuteAdminAsync("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'lore-feed-test';", Ct);

        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind);
        var snapshot = await StoredSnapshotAsync("after the cut");
        await _other!.SetActiveSnapshotAsync("acme", snapshot.Id, Ct);
        Assert.Equal(new StoreChange(StoreChangeKinds.Rollout, "acme"), await NextAsync());
    }

    [Fact]
    public async Task A_payload_the_feed_cannot_read_becomes_a_resync_rather_than_being_dropped()
    {
        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind);
        await using (var connection = new NpgsqlConnection(_database))
        {
            await connection.OpenAsync(Ct);
            await using var notify = new NpgsqlCommand("SELECT pg_notify('lore_changes', 'not json'), pg_notify('lore_changes', '{\"kind\":\"rollout\"}');", connection);
            await notify.ExecuteNonQueryAsync(Ct);
        }

        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind);
        Assert.Equal(StoreChangeKinds.Resync, (await NextAsync()).Kind);
    }
}
