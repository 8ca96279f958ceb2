namespace Lore.Sqlite.Episodes;

/// <summary>
/// A staged import: episodes are written in bounded batches, each in its own short write transaction, marked with the
/// import's id so that no read sees them; <see cref="CommitAsync"/> publishes them all in one last short transaction.
/// The store's write lock is therefore held for one batch at a time, never for the whole file, and other writers
/// (the API, capture, another process) proceed between batches. The first failed add discards everything staged, so
/// a file with one bad record imports nothing; a process killed mid-import leaves only invisible rows, which the next
/// import (or learning) removes.
/// </summary>
internal sealed class SqliteEpisodeImport(SqliteLoreStore store, string importId) : IEpisodeImport
{
    /// <summary>Most episodes written per batch transaction.</summary>
    internal const int MaxBatchEpisodes = 256;

    /// <summary>Most steps and outcomes written per batch transaction (a batch of long episodes is cut earlier).</summary>
    internal const int MaxBatchRows = 4_096;

    private readonly List<Episode> _batch = [];
    private readonly HashSet<(string Tenant, string Id)> _ids = [];
    private int _batchRows;
    private int _added;
    private bool _finished;
    private string? _failure;

    public string ImportId { get; } = importId;

    public async Task AddAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        ThrowIfFinished();

        // Checked at once, not when the batch is written, so the add that breaks the import is the one that fails.
        var duplicate = !_ids.Add((episode.Tenant, episode.Id)) ? "is added to this import twice"
            : await store.EpisodeExistsAsync(episode.Tenant, episode.Id, cancellationToken).ConfigureAwait(false) ? "is already stored (or being imported)"
            : null;
        if (duplicate is not null)
        {
            var message = $"Episode '{episode.Id}' {duplicate}; episode ids are unique within a tenant and an episode is written once. The import was rolled back; nothing of it was written.";
            await FailAsync($"adding episode '{episode.Id}' failed ({message})").ConfigureAwait(false);
            throw new StoreConflictException(message);
        }

        _batch.Add(episode);
        _batchRows += 1 + (episode.Steps?.Count ?? 0) + (episode.Outcomes?.Count ?? 0);
        _added++;
        if (_batch.Count >= MaxBatchEpisodes || _batchRows >= MaxBatchRows)
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async Task<int> CommitAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfFinished();
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await store.PublishImportAsync(ImportId, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            await FailAsync($"its publication failed ({e.Message})").ConfigureAwait(false);
            throw;
        }

        _finished = true;
        return _added;
    }

    public async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            await FailAsync("the import was disposed without a commit").ConfigureAwait(false);
        }
    }

    private async Task FlushAsync(CancellationToken cancellationToken)
    {
        if (_batch.Count == 0)
        {
            return;
        }

        try
        {
            await store.StageImportBatchAsync(ImportId, _batch, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            var first = _batch[0].Id;
            await FailAsync($"writing the batch starting at episode '{first}' failed ({e.Message})").ConfigureAwait(false);
            throw;
        }

        _batch.Clear();
        _batchRows = 0;
    }

    /// <summary>Removes whatever this import staged (the rows were never visible), so nothing of it remains.</summary>
    private async Task FailAsync(string why)
    {
        _failure ??= why;
        _finished = true;
        _batch.Clear();
        try
        {
            await store.DiscardImportAsync(ImportId, CancellationToken.None).ConfigureAwait(false);
        }
        catch (StoreUnavailableException)
        {
            // A full or busy store cannot take even the removal now; the rows stay invisible and are removed as a
            // dead import's once their heartbeat is stale. The caller hears the original failure, not this one.
        }
    }

    private void ThrowIfFinished()
    {
        if (_finished)
        {
            throw new InvalidOperationException(_failure is null
                ? "This import has already been committed."
                : $"This import was rolled back because {_failure}; nothing of it was written. Start a new import.");
        }
    }
}
