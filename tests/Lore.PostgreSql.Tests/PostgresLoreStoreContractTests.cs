using Lore.StoreContract;

namespace Lore.PostgreSql.Tests;

/// <summary>The store contract, run against a real PostgreSQL 15 server: a database per test, wiped to an empty migrated schema before the next one gets it.</summary>
public sealed class PostgresLoreStoreContractTests : LoreStoreContract
{
    private readonly Dictionary<ILoreStore, string> _connectionStrings = [];
    private readonly List<string> _databases = [];

    protected override async Task<ILoreStore> CreateStoreAsync()
    {
        var connectionString = await TestDatabases.RentMigratedAsync();
        _databases.Add(connectionString);
        var store = await PostgresLoreStore.OpenAsync(connectionString, Ct);
        _connectionStrings[store] = connectionString;
        return store;
    }

    protected override async Task<ILoreStore> ReopenAsync(ILoreStore store)
    {
        var connectionString = _connectionStrings[store];
        await store.DisposeAsync();
        var reopened = await PostgresLoreStore.OpenAsync(connectionString, Ct);
        _connectionStrings[reopened] = connectionString;
        return reopened;
    }

    protected override async Task<ILoreStore> OpenAnotherAsync(ILoreStore store)
    {
        var connectionString = _connectionStrings[store];
        var another = await PostgresLoreStore.OpenAsync(connectionString, Ct);
        _connectionStrings[another] = connectionString;
        return another;
    }

    protected override async ValueTask DisposeEngineAsync()
    {
        foreach (var database in _databases)
        {
            await TestDatabases.ReturnAsync(database);
        }
    }
}
