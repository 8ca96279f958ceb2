using System.Globalization;
using Lore.Testing;
using Xunit;

namespace Lore.Sqlite.Tests;

/// <summary>
/// A full disk is named as such on every write path, and nothing of the refused write lands. The disk is made "full"
/// with <c>PRAGMA max_page_count</c> on the store's writer: SQLite then fails a growing write with SQLITE_FULL exactly
/// as it does when the file system has no room left.
/// </summary>
public sealed class FullDiskTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static Episode Large(string id) => new EpisodeBuilder(id).Tool("search", "{}", new string('x', 200_000)).Build();

    [Fact]
    public async Task Capture_outcomes_and_imports_on_a_full_disk_raise_a_full_store_error_that_says_so_and_write_nothing()
    {
        await using var store = await SqliteLoreStore.OpenAsync(_directory.File("full.db"), Ct);
        await store.AppendAsync([new EpisodeStarted(new EpisodeBuilder("ep-1").Build() with { EndedAt = null })], Ct);
        var pages = Convert.ToInt64(store.WriterPragma("page_count"), CultureInfo.InvariantCulture);
        store.WriterPragma($"max_page_count = {pages}");

        var capture = await Assert.ThrowsAsync<StoreUnavailableException>(() => store.AppendAsync([new EpisodeStarted(Large("ep-2"))], Ct));
        var outcome = await Assert.ThrowsAsync<StoreUnavailableException>(async () =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                await store.AddOutcomeAsync("ep-1", Outcome.Scored(0.5, comment: new string('y', 500)), Ct);
            }
        });
        var import = await Assert.ThrowsAsync<StoreUnavailableException>(async () =>
        {
            await using var started = await store.BeginImportAsync(Ct);
            await started.AddAsync(Large("ep-3"), Ct);
            await started.AddAsync(Large("ep-4"), Ct);
            await started.CommitAsync(Ct);
        });

        foreach (var full in new[] { capture, outcome, import })
        {
            Assert.Equal(StoreUnavailableReason.Full, full.Reason);
            Assert.Contains("is full", full.Message, StringComparison.Ordinal);
            Assert.Contains("Nothing was written", full.Message, StringComparison.Ordinal);
        }

        Assert.Equal(1, await store.CountEpisodesAsync(Tenants.Default, Ct));
        store.WriterPragma($"max_page_count = {int.MaxValue}");
        await store.AppendAsync([new EpisodeStarted(Large("ep-2"))], Ct);
        Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }
}
