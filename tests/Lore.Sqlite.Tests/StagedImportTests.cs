using Lore.Sqlite.Episodes;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// Imports are staged in bounded batches: the write lock is held for one batch at a time, so other writers (this
/// process or another, such as <c>lore serve</c> beside a <c>lore ingest</c>) proceed while a large file imports, and
/// the file still becomes visible all at once or not at all.
/// </summary>
public sealed class StagedImportTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    private static Episode Imported(int i) => new EpisodeBuilder($"ep-import-{i:D5}").Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Succeeded().Build();

    private static Episode Captured(string id) => new EpisodeBuilder(id).Build() with { EndedAt = null };

    [Fact]
    public async Task Another_process_writes_between_the_batches_of_a_large_import_and_sees_none_of_it_until_it_is_published()
    {
        var path = _directory.File("staged.db");
        await using var importer = await SqliteLoreStore.OpenAsync(path, Ct);

        // The API server beside the import: it gives up on the write lock after a fifth of a second.
        await using var server = await SqliteLoreStore.OpenAsync(path, new SqliteStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(200) }, Ct);
        var total = SqliteEpisodeImport.MaxBatchEpisodes * 4 + 7;
        await using var import = await importer.BeginImportAsync(Ct);
        var written = new List<string>();
        for (var i = 0; i < total; i++)
        {
            await import.AddAsync(Imported(i), Ct);
            if (i > SqliteEpisodeImport.MaxBatchEpisodes && i % SqliteEpisodeImport.MaxBatchEpisodes == 3)
            {
                // Batches are staged: the import holds no lock now, so both the other process and this one write at once.
                await server.AppendAsync([new EpisodeStarted(Captured($"ep-api-{i}"))], Ct);
                await importer.AppendAsync([new EpisodeStarted(Captured($"ep-local-{i}"))], Ct);
                written.Add($"ep-api-{i}");
                written.Add($"ep-local-{i}");
                Assert.Equal(written.Count, await server.CountEpisodesAsync(Tenants.Default, Ct));
                Assert.Null(await server.GetEpisodeAsync(Tenants.Default, "ep-import-00000", Ct));
                Assert.NotNull(await importer.LowestStagedSequenceAsync(Tenants.Default, Ct));
            }
        }

        Assert.Equal(total, await import.CommitAsync(Ct));

        Assert.Equal(4 * 2, written.Count);
        Assert.Equal(total + written.Count, await server.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.NotNull(await server.GetEpisodeAsync(Tenants.Default, $"ep-import-{total - 1:D5}", Ct));
        Assert.Null(await server.LowestStagedSequenceAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_failed_add_discards_every_staged_batch_and_the_same_file_imports_whole_afterwards()
    {
        await using var store = await SqliteLoreStore.OpenAsync(_directory.File("failed.db"), Ct);
        var total = SqliteEpisodeImport.MaxBatchEpisodes * 2 + 1;
        await using (var failing = await store.BeginImportAsync(Ct))
        {
            for (var i = 0; i < total; i++)
            {
                await failing.AddAsync(Imported(i), Ct);
            }

            // The same id twice in one import, after two batches were staged: the add fails, and with it the whole import.
            var refused = await Assert.ThrowsAsync<StoreConflictException>(() => failing.AddAsync(Imported(3), Ct));
            Assert.Contains("ep-import-00003", refused.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<InvalidOperationException>(() => failing.CommitAsync(Ct));
        }

        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Null(await store.LowestStagedSequenceAsync(Tenants.Default, Ct));

        await using var retry = await store.BeginImportAsync(Ct);
        for (var i = 0; i < total; i++)
        {
            await retry.AddAsync(Imported(i), Ct);
        }

        Assert.Equal(total, await retry.CommitAsync(Ct));
        Assert.Equal(total, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }
}
