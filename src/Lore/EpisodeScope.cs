namespace Lore;

/// <summary>
/// The episode in progress. While it is alive it is the ambient episode for the async flow that began it, so
/// <see cref="LoreChatClient"/> records every model and tool call into it without being told.
/// </summary>
public sealed class EpisodeScope : IAsyncDisposable
{
    internal EpisodeScope() => throw new NotImplementedException();

    public string Id => throw new NotImplementedException();

    public string Task => throw new NotImplementedException();

    public string UnitKey => throw new NotImplementedException();

    public IReadOnlyDictionary<string, string> Labels => throw new NotImplementedException();

    /// <summary>The snapshot in effect for this episode (fixed at its start), or null for the baseline.</summary>
    public string? SnapshotId => throw new NotImplementedException();

    /// <summary>Every lesson injected so far.</summary>
    public IReadOnlyCollection<string> InjectedLessonIds => throw new NotImplementedException();

    /// <summary>Records the outcome and ends the episode.</summary>
    public ValueTask CompleteAsync(Outcome outcome, CancellationToken cancellationToken = default) => throw new NotImplementedException();

    /// <summary>Ends the episode without an outcome (one may still arrive later through <see cref="LoreRuntime.RecordOutcomeAsync"/>).</summary>
    public ValueTask DisposeAsync() => throw new NotImplementedException();
}
