using Lore.StoreContract;
using Lore.Testing;

namespace Lore.Sqlite.Tests;

/// <summary>The store contract, run against SQLite files in a temp folder.</summary>
public sealed class SqliteStoreContractTests : LoreStoreContract
{
    private readonly TempDirectory _directory = new();
    private int _files;

    protected override async Task<ILoreStore> CreateStoreAsync()
        => await SqliteLoreStore.OpenAsync(_directory.File($"store-{Interlocked.Increment(ref _files)}.db"), Ct);

    protected override async Task<ILoreStore> ReopenAsync(ILoreStore store)
    {
        var path = store.Location;
        await store.DisposeAsync();
        return await SqliteLoreStore.OpenAsync(path, Ct);
    }

    protected override async Task<ILoreStore> OpenAnotherAsync(ILoreStore store)
        => await SqliteLoreStore.OpenAsync(store.Location, Ct);

    protected override ValueTask DisposeEngineAsync()
    {
        _directory.Dispose();
        return ValueTask.CompletedTask;
    }
}
