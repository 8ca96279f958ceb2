using System.Text.Json;
using Microsoft.Data.Sqlite;
using Spectre.Console.Cli;

namespace Lore.Cli.Infrastructure;

/// <summary>Turns any failure into the one-line reason and exit code a script can rely on.</summary>
internal static class CliErrors
{
    public static string Describe(Exception ex)
    {
        var inner = ex is CommandRuntimeException { InnerException: { } wrapped } ? wrapped : ex;
        var message = inner switch
        {
            TrajectoryFormatException t => t.Message,
            // Reads map nothing (only writes raise StoreUnavailableException): a full or failing disk is still named as such.
            SqliteException { SqliteErrorCode: 13 } s => $"store: the disk holding the store is full; free space on it, then retry. (SQLite: {s.Message})",
            SqliteException { SqliteErrorCode: 10 } s => $"store: the disk holding the store failed an I/O operation, most often because it is full; check its free space. (SQLite: {s.Message})",
            SqliteException s => $"store: {s.Message}",
            JsonException j => $"invalid JSON: {j.Message}",
            _ => inner.Message,
        };
        return message.ReplaceLineEndings(" ").Trim();
    }

    /// <summary>2 for usage errors, 1 for everything else.</summary>
    public static int ExitCode(Exception ex) => ex is CommandParseException or CommandAppException ? 2 : 1;
}

/// <summary>A failure whose message is already the one line the user should read.</summary>
internal sealed class CliException(string message) : Exception(message);
