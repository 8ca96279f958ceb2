using Lore.Sqlite.Episodes;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Staged imports (migration 8): batches of invisible episodes under one import id, published in one short transaction.
public sealed partial class SqliteLoreStore : IStagedImports
{
    /// <summary>An import on another host whose batches stopped this long ago is taken for dead (its rows are removed).</summary>
    internal static readonly TimeSpan StaleImport = TimeSpan.FromMinutes(10);

    private const int DiscardChunk = 512;

    private const string RegisterImportSql = """
        INSERT INTO imports (id, owner_host, owner_pid, started_at, heartbeat_at) VALUES ($id, $host, $pid, $started_at, $now);
        """;

    private const string HeartbeatSql = "UPDATE imports SET heartbeat_at = $now WHERE id = $id;";

    private const string PublishSql = "UPDATE episodes SET import_id = NULL WHERE import_id = $id;";

    private const string ForgetImportSql = "DELETE FROM imports WHERE id = $id;";

    private const string ExistsSql = "SELECT 1 FROM episodes WHERE tenant = $tenant AND id = $id LIMIT 1;";

    private const string ImportsSql = "SELECT id, owner_host, owner_pid, heartbeat_at FROM imports;";

    private const string StagedChunkSql = "SELECT sequence FROM episodes WHERE import_id = $id ORDER BY sequence LIMIT $limit;";

    private const string LowestStagedSql = """
        SELECT MIN(e.sequence) FROM episodes e JOIN imports i ON i.id = e.import_id WHERE e.tenant = $tenant;
        """;

    /// <summary>Learning keeps its cursor below this; imports of dead processes are removed first, so they never hold it back.</summary>
    public async Task<long?> LowestStagedSequenceAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await RemoveDeadImportsAsync(cancellationToken).ConfigureAwait(false);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, LowestStagedSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        return command.ExecuteScalar() is long lowest ? lowest : null;
    }

    /// <summary>Whether the tenant holds the id, stored or staged by an import (an import must not add it again).</summary>
    internal async Task<bool> EpisodeExistsAsync(string tenant, string episodeId, CancellationToken cancellationToken)
    {
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, ExistsSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$id", episodeId);
        return command.ExecuteScalar() is not null;
    }

    internal Task RegisterImportAsync(string importId, CancellationToken cancellationToken) => WriteAsync(transaction =>
    {
        using var register = WriteCommand(transaction, RegisterImportSql);
        var now = _clock.GetUtcNow();
        register.Parameters.AddWithValue("$id", importId);
        register.Parameters.AddWithValue("$host", Environment.MachineName);
        register.Parameters.AddWithValue("$pid", Environment.ProcessId);
        register.Parameters.AddWithValue("$started_at", SqliteText.FromTimeUtc(now));
        register.Parameters.AddWithValue("$now", now.UtcTicks);
        register.ExecuteNonQuery();
    }, cancellationToken);

    /// <summary>Writes one batch of the import, invisible, in one short transaction (and beats the import's heartbeat).</summary>
    internal async Task StageImportBatchAsync(string importId, IReadOnlyList<Episode> batch, CancellationToken cancellationToken)
    {
        await WriteAsync(transaction =>
        {
            Heartbeat(transaction, importId);
            _episodes.Enlist(transaction);
            foreach (var episode in batch)
            {
                cancellationToken.ThrowIfCancellationRequested();
                _episodes.Insert(episode, importId);
            }
        }, cancellationToken).ConfigureAwait(false);
        CrashPoints.Reach(CrashPoints.ImportBatchStaged);
    }

    /// <summary>Makes every staged episode of the import visible at once: one UPDATE of their headers, steps untouched.</summary>
    internal Task PublishImportAsync(string importId, CancellationToken cancellationToken) => WriteAsync(transaction =>
    {
        Heartbeat(transaction, importId);
        using (var publish = WriteCommand(transaction, PublishSql))
        {
            publish.Parameters.AddWithValue("$id", importId);
            publish.ExecuteNonQuery();
        }

        using (var forget = WriteCommand(transaction, ForgetImportSql))
        {
            forget.Parameters.AddWithValue("$id", importId);
            forget.ExecuteNonQuery();
        }

        CrashPoints.Reach(CrashPoints.ImportBeforeCommit);
    }, cancellationToken);

    /// <summary>Removes what the import staged, a chunk per short transaction (the rows were never visible), then the import itself.</summary>
    internal async Task DiscardImportAsync(string importId, CancellationToken cancellationToken)
    {
        while (await WriteAsync(transaction =>
        {
            var sequences = new List<long>(DiscardChunk);
            using (var chunk = WriteCommand(transaction, StagedChunkSql))
            {
                chunk.Parameters.AddWithValue("$id", importId);
                chunk.Parameters.AddWithValue("$limit", DiscardChunk);
                using var reader = chunk.ExecuteReader();
                while (reader.Read())
                {
                    sequences.Add(reader.GetInt64(0));
                }
            }

            using var steps = WriteCommand(transaction, DeleteStepsSql);
            using var outcomes = WriteCommand(transaction, DeleteOutcomesSql);
            using var episodes = WriteCommand(transaction, DeleteEpisodeSql);
            SqliteCommand[] commands = [steps, outcomes, episodes];
            foreach (var command in commands)
            {
                command.Parameters.Add("$sequence", SqliteType.Integer);
            }

            foreach (var sequence in sequences)
            {
                foreach (var command in commands)
                {
                    command.Parameters[0].Value = sequence;
                    command.ExecuteNonQuery();
                }
            }

            return sequences.Count == DiscardChunk;
        }, cancellationToken).ConfigureAwait(false))
        {
        }

        await WriteAsync(transaction =>
        {
            using var forget = WriteCommand(transaction, ForgetImportSql);
            forget.Parameters.AddWithValue("$id", importId);
            forget.ExecuteNonQuery();
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Removes the staged rows of imports whose process is gone: on this host, a process that no longer runs (at
    /// once); elsewhere, one whose batches stopped <see cref="StaleImport"/> ago. Such rows were never visible.
    /// </summary>
    internal async Task<int> RemoveDeadImportsAsync(CancellationToken cancellationToken)
    {
        var dead = new List<string>();
        await using (var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            using var command = ReadCommand(connection, ImportsSql);
            using var reader = command.ExecuteReader();
            var now = _clock.GetUtcNow().UtcTicks;
            while (reader.Read())
            {
                var (host, pid, heartbeat) = (reader.GetString(1), reader.GetInt32(2), reader.GetInt64(3));
                var sameHost = string.Equals(host, Environment.MachineName, StringComparison.Ordinal);
                if ((sameHost && pid != Environment.ProcessId && !ProcessIsRunning(pid)) || now - heartbeat > StaleImport.Ticks)
                {
                    dead.Add(reader.GetString(0));
                }
            }
        }

        foreach (var importId in dead)
        {
            await DiscardImportAsync(importId, cancellationToken).ConfigureAwait(false);
        }

        return dead.Count;
    }

    private void Heartbeat(SqliteTransaction transaction, string importId)
    {
        using var beat = WriteCommand(transaction, HeartbeatSql);
        beat.Parameters.AddWithValue("$id", importId);
        beat.Parameters.AddWithValue("$now", _clock.GetUtcNow().UtcTicks);
        if (beat.ExecuteNonQuery() == 0)
        {
            throw new InvalidOperationException($"Import {importId} is no longer registered: it was taken for dead (no batch for {StaleImport.TotalMinutes:F0} minutes) and its staged episodes were removed. Nothing of it is visible; run the import again.");
        }
    }
}
