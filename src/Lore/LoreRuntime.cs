using Lore.Learning;

namespace Lore;

/// <summary>
/// One agent host's connection to Lore: it serves the active snapshot from memory, records episodes through a
/// background writer, and runs learning. Create one per process and share it.
/// </summary>
public sealed class LoreRuntime : IAsyncDisposable
{
    private LoreRuntime() => throw new NotImplementedException();

    /// <summary>Opens the runtime on its store and loads the active snapshot into memory.</summary>
    public static Task<LoreRuntime> OpenAsync(LoreOptions options, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    public string Tenant => throw new NotImplementedException();

    public ILoreStore Store => throw new NotImplementedException();

    /// <summary>The snapshot served to new episodes, or null when nothing has been learned yet.</summary>
    public Snapshot? CurrentSnapshot => throw new NotImplementedException();

    /// <summary>The episode of the current async flow, if any.</summary>
    public static EpisodeScope? CurrentEpisode => throw new NotImplementedException();

    public CaptureStatistics CaptureStatistics => throw new NotImplementedException();

    /// <summary>Starts an episode and makes it ambient for the calling async flow.</summary>
    public EpisodeScope BeginEpisode(string task, Dictionary<string, string>? labels = null, string? unitKey = null, string? episodeId = null)
        => throw new NotImplementedException();

    /// <summary>Adds a judgement to an episode that may have ended long ago (user feedback, an evaluator's score).</summary>
    public Task RecordOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Picks lessons of the current snapshot for a query, without a model call (for APIs and tools).</summary>
    public ValueTask<RetrievalResult> RetrieveAsync(RetrievalQuery query, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Runs one learning pass now and serves its snapshot if it activated one.</summary>
    public Task<LearningRun> LearnAsync(string actor = "lore", IProgress<string>? progress = null, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Points the tenant at a stored snapshot (or none) and serves it at once.</summary>
    public Task ActivateSnapshotAsync(string? snapshotId, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Reloads the active snapshot pointer from the store (another process may have moved it).</summary>
    public Task RefreshAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Waits until every record captured so far is durable in the store.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Flushes capture, stops background learning and disposes the store.</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
