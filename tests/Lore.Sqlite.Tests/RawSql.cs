using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Tests;

/// <summary>SQL run straight on a store's file, for tests that build a file as an older Lore left it or look beneath the store.</summary>
internal static class RawSql
{
    public static void Execute(SqliteConnection connection, string sql, params (string Name, object? Value)[] parameters)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }

        command.ExecuteNonQuery();
    }
}
