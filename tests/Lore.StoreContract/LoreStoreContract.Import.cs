using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Imports: many complete episodes in one all-or-nothing unit.
public abstract partial class LoreStoreContract
{
    private static Episode Imported(string id) => new EpisodeBuilder(id).Task($"import {id}").Tool("lookup").Succeeded().Build();

    [Fact]
    public async Task An_import_becomes_visible_only_when_committed()
    {
        var store = await NewStoreAsync();
        await using var import = await store.BeginImportAsync(Ct);
        await import.AddAsync(Imported("a"), Ct);
        await import.AddAsync(Imported("b"), Ct);

        Assert.Null(await store.GetEpisodeAsync("a", Ct));
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));

        Assert.Equal(2, await import.CommitAsync(Ct));
        Assert.Equal(["a", "b"], (await ReadAllAsync(store, new EpisodeQuery())).Select(e => e.Id));
    }

    [Fact]
    public async Task An_import_disposed_without_commit_writes_nothing()
    {
        var store = await NewStoreAsync();
        await using (var import = await store.BeginImportAsync(Ct))
        {
            await import.AddAsync(Imported("a"), Ct);
            await import.AddAsync(Imported("b"), Ct);
        }

        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
        await store.AppendAsync([new EpisodeStarted(Imported("after"))], Ct);
        Assert.NotNull(await store.GetEpisodeAsync("after", Ct));
    }

    [Fact]
    public async Task Importing_an_id_already_stored_fails_naming_it_and_the_import_writes_nothing()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Imported("dup"));
        await using var import = await store.BeginImportAsync(Ct);
        await import.AddAsync(Imported("new-1"), Ct);

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => import.AddAsync(Imported("dup"), Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => import.CommitAsync(Ct));

        Assert.Contains("dup", error.Message);
        Assert.Null(await store.GetEpisodeAsync("new-1", Ct));
        Assert.Equal(1, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Importing_the_same_id_twice_fails_naming_it()
    {
        var store = await NewStoreAsync();
        await using var import = await store.BeginImportAsync(Ct);
        await import.AddAsync(Imported("twin"), Ct);

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => import.AddAsync(Imported("twin"), Ct));

        Assert.Contains("twin", error.Message);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Capture_appends_made_during_an_import_are_kept_alongside_it()
    {
        var store = await NewStoreAsync();
        await using var import = await store.BeginImportAsync(Ct);
        await import.AddAsync(Imported("imported"), Ct);

        var append = Task.Run(() => store.AppendAsync([new EpisodeStarted(Imported("captured"))], Ct), Ct);
        Assert.Equal(1, await import.CommitAsync(Ct));
        await append;

        Assert.NotNull(await store.GetEpisodeAsync("imported", Ct));
        Assert.NotNull(await store.GetEpisodeAsync("captured", Ct));
    }
}
