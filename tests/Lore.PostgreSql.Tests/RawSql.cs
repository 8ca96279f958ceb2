using Npgsql;

namespace Lore.PostgreSql.Tests;

/// <summary>SQL run straight on a test database, for tests that build a schema as an older Lore left it or look beneath the store.</summary>
internal static class RawSql
{
    public static async Task ExecuteAsync(NpgsqlConnection connection, string sql, params object[] values)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value });
        }

        await command.ExecuteNonQueryAsync(TestContext.Current.CancellationToken);
    }
}
