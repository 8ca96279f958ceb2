using Npgsql;

namespace Lore.PostgreSql.Episodes;

/// <summary>
/// An import holding one connection and one transaction for its whole life: every episode added becomes visible at
/// commit, or none does. Each add registers the episode (one round trip: a duplicate id fails the add that brings
/// it, naming it); its header, steps and outcomes are buffered and written by binary COPY every
/// <see cref="FlushRows"/> rows and at commit. The first failed add rolls everything back, so a file with one bad
/// record imports nothing.
/// </summary>
internal sealed class PostgresEpisodeImport : IEpisodeImport
{
    /// <summary>Rows buffered before they are written: large enough for COPY to pay, small enough to bound memory.</summary>
    internal const int FlushRows = 4096;

    /// <summary>
    /// Episodes an import must bring for the episode registry's statistics to be refreshed at once
    /// (<c>ANALYZE</c>, as after any bulk load) instead of at autovacuum's next look, up to a minute later: pages
    /// read in the meantime were planned as if the registry were nearly empty.
    /// </summary>
    internal const int AnalyzeAfter = 1000;

    private readonly PostgresLoreStore _store;
    private readonly NpgsqlConnection _connection;
    private readonly int _copyThreshold;
    private readonly EpisodeBatch _batch = new();
    private readonly HashSet<(string Tenant, string Id)> _ids = [];
    private NpgsqlTransaction? _transaction;
    private string? _failure;
    private int _added;

    public PostgresEpisodeImport(PostgresLoreStore store, NpgsqlConnection connection, NpgsqlTransaction transaction, int copyThreshold)
    {
        _store = store;
        _connection = connection;
        _transaction = transaction;
        _copyThreshold = copyThreshold;
    }

    public async Task AddAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var transaction = Open();
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            EpisodeBatch.Validate(episode);
            if (!_ids.Add((episode.Tenant, episode.Id)))
            {
                throw new StoreConflictException($"Episode '{episode.Id}' is already stored; episode ids are unique within a tenant and an episode is written once.");
            }

            var month = PostgresText.MonthOf(episode.StartedAt);
            await _store.Partitions.EnsureAsync([month], cancellationToken).ConfigureAwait(false);
            long sequence;
            await using (var register = new NpgsqlCommand(PostgresLoreStore.RegisterOneSql, _connection, transaction))
            {
                register.Parameters.Add(new NpgsqlParameter<string> { TypedValue = episode.Id });
                register.Parameters.Add(new NpgsqlParameter<string> { TypedValue = episode.Tenant });
                register.Parameters.Add(new NpgsqlParameter<DateOnly> { TypedValue = month });
                register.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = episode.EndedAt is not null });
                try
                {
                    sequence = (long)(await register.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation)
                {
                    throw new StoreConflictException($"Episode '{episode.Id}' is already stored; episode ids are unique within a tenant and an episode is written once.", e);
                }
            }

            _batch.AddEpisode(sequence, month, episode);
            if (_batch.RowCount >= FlushRows)
            {
                await FlushAsync(transaction, cancellationToken).ConfigureAwait(false);
            }

            _added++;
        }
        catch (Exception e)
        {
            _failure = $"adding episode '{episode.Id}' failed ({e.Message})";
            await FinishAsync(commit: false).ConfigureAwait(false);
            throw;
        }
    }

    public async Task<int> CommitAsync(CancellationToken cancellationToken = default)
    {
        var transaction = Open();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            await FlushAsync(transaction, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reach(CrashPoints.ImportBeforeCommit);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            _failure = $"its commit failed ({e.Message})";
            await FinishAsync(commit: false).ConfigureAwait(false);
            throw;
        }

        if (_added >= AnalyzeAfter)
        {
            await AnalyzeRegistryAsync(cancellationToken).ConfigureAwait(false);
        }

        await FinishAsync(commit: true).ConfigureAwait(false);
        return _added;
    }

    /// <summary>Refreshes the registry's statistics; the import is committed already, so a failure here only leaves them to autovacuum.</summary>
    private async Task AnalyzeRegistryAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var analyze = new NpgsqlCommand("ANALYZE episode_registry;", _connection);
            await analyze.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or OperationCanceledException)
        {
            // Committed: the episodes are stored whatever happens to their statistics.
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            _failure ??= "the import was disposed without a commit";
            await FinishAsync(commit: false).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Writes the buffered rows under a savepoint: if another process dropped one of their months since this process
    /// last looked (retention), the write is undone to the savepoint, the month created again and the write retried.
    /// </summary>
    private async Task FlushAsync(NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        if (_batch.RowCount == 0)
        {
            return;
        }

        await transaction.SaveAsync("flush", cancellationToken).ConfigureAwait(false);
        try
        {
            await _batch.WriteAsync(_connection, transaction, _copyThreshold, cancellationToken).ConfigureAwait(false);
        }
        catch (PostgresException e) when (EpisodePartitions.IsMissingPartition(e))
        {
            await transaction.RollbackAsync("flush", cancellationToken).ConfigureAwait(false);
            var months = _batch.Months.ToList();
            _store.Partitions.Forget(months);
            await _store.Partitions.EnsureAsync(months, cancellationToken).ConfigureAwait(false);
            await _batch.WriteAsync(_connection, transaction, _copyThreshold, cancellationToken).ConfigureAwait(false);
        }

        await transaction.ReleaseAsync("flush", cancellationToken).ConfigureAwait(false);
        _batch.Clear();
    }

    private NpgsqlTransaction Open()
    {
        if (_transaction is not null)
        {
            return _transaction;
        }

        throw new InvalidOperationException(_failure is null
            ? "This import has already been committed."
            : $"This import was rolled back because {_failure}; nothing of it was written. Start a new import.");
    }

    private async Task FinishAsync(bool commit)
    {
        var transaction = _transaction;
        if (transaction is null)
        {
            return;
        }

        _transaction = null;
        try
        {
            if (!commit)
            {
                await transaction.RollbackAsync().ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException)
        {
            // The connection broke or the transaction is already over: the server has rolled it back by itself.
        }
        finally
        {
            await transaction.DisposeAsync().ConfigureAwait(false);
            await _connection.DisposeAsync().ConfigureAwait(false);
            _batch.Clear();
        }
    }
}
