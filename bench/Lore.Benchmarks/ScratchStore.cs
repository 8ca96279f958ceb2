using Lore.Sqlite;
using Microsoft.Data.Sqlite;

namespace Lore.Benchmarks;

/// <summary>A fresh SQLite store in its own temp folder for one measurement, deleted (pools cleared first) when the measurement ends.</summary>
internal static class ScratchStore
{
    public static async Task<T> UseAsync<T>(Func<SqliteLoreStore, Task<T>> use)
    {
        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        try
        {
            await using var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "scratch.db"));
            return await use(store);
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            Directory.Delete(directory, recursive: true);
        }
    }
}
