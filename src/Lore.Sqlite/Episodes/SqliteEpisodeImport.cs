using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Episodes;

/// <summary>
/// An import holding the store's write gate and one transaction on its writer connection for its whole life:
/// every episode added becomes visible at commit, or none does. The first failed add rolls everything back, so a
/// file with one bad record imports nothing.
/// </summary>
internal sealed class SqliteEpisodeImport : IEpisodeImport
{
    private readonly EpisodeWriter _writer;
    private readonly Action _release;
    private SqliteTransaction? _transaction;
    private string? _failure;
    private int _added;

    public SqliteEpisodeImport(EpisodeWriter writer, SqliteTransaction transaction, Action release)
    {
        _writer = writer;
        _transaction = transaction;
        _release = release;
        _writer.Enlist(transaction);
    }

    public Task AddAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var transaction = Open();
        try
        {
            cancellationToken.ThrowIfCancellationRequested();
            _writer.Enlist(transaction);
            _writer.Insert(episode);
            _added++;
            return Task.CompletedTask;
        }
        catch (Exception e)
        {
            _failure = $"adding episode '{episode.Id}' failed ({e.Message})";
            Finish(commit: false);
            return Task.FromException(e);
        }
    }

    public Task<int> CommitAsync(CancellationToken cancellationToken = default)
    {
        Open();
        cancellationToken.ThrowIfCancellationRequested();
        try
        {
            Finish(commit: true);
        }
        catch (Exception e)
        {
            _failure = $"its commit failed ({e.Message})";
            return Task.FromException<int>(e);
        }

        return Task.FromResult(_added);
    }

    public ValueTask DisposeAsync()
    {
        if (_transaction is not null)
        {
            _failure ??= "the import was disposed without a commit";
            Finish(commit: false);
        }

        return ValueTask.CompletedTask;
    }

    private SqliteTransaction Open()
    {
        if (_transaction is not null)
        {
            return _transaction;
        }

        throw new InvalidOperationException(_failure is null
            ? "This import has already been committed."
            : $"This import was rolled back because {_failure}; nothing of it was written. Start a new import.");
    }

    private void Finish(bool commit)
    {
        var transaction = _transaction!;
        _transaction = null;
        try
        {
            if (commit)
            {
                CrashPoints.Reach(CrashPoints.ImportBeforeCommit);
                transaction.Commit();
            }
            else
            {
                transaction.Rollback();
            }
        }
        finally
        {
            transaction.Dispose();
            _writer.Enlist(null);
            _release();
        }
    }
}
