namespace Lore;

/// <summary>
/// A store that passes every call to an inner store: derive from it to wrap a store (for metrics, retries, caching)
/// and override only what you change. Capabilities the inner store has beyond <see cref="ILoreStore"/> (the
/// cross-process learning lock, the change feed) stay reachable through <see cref="GetService"/>, so a wrapper never
/// silently turns off multi-host learning or push refresh. Mirrors Microsoft.Extensions.AI's <c>DelegatingChatClient</c>.
/// </summary>
public class DelegatingLoreStore : ILoreStore
{
    private readonly bool _leaveInnerOpen;

    /// <summary>Wraps <paramref name="innerStore"/>; disposing this store disposes it unless <paramref name="leaveInnerOpen"/>.</summary>
    public DelegatingLoreStore(ILoreStore innerStore, bool leaveInnerOpen = false)
    {
        ArgumentNullException.ThrowIfNull(innerStore);
        InnerStore = innerStore;
        _leaveInnerOpen = leaveInnerOpen;
    }

    /// <summary>The store calls are passed to.</summary>
    protected ILoreStore InnerStore { get; }

    /// <summary>This store when it is a <paramref name="serviceType"/>, otherwise whatever the inner store offers.</summary>
    public virtual object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : InnerStore.GetService(serviceType, serviceKey);
    }

    /// <inheritdoc/>
    public virtual string Location => InnerStore.Location;

    /// <inheritdoc/>
    public virtual Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default) => InnerStore.AppendAsync(records, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default) => InnerStore.BeginImportAsync(cancellationToken);

    /// <inheritdoc/>
    public virtual Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default) => InnerStore.AddOutcomeAsync(episodeId, outcome, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default) => InnerStore.GetEpisodeAsync(episodeId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<Episode?> GetEpisodeAsync(string tenant, string episodeId, CancellationToken cancellationToken = default) => InnerStore.GetEpisodeAsync(tenant, episodeId, cancellationToken);

    /// <inheritdoc/>
    public virtual IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, CancellationToken cancellationToken = default) => InnerStore.ReadEpisodesAsync(query, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default) => InnerStore.CountEpisodesAsync(tenant, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default) => InnerStore.SaveLessonsAsync(lessons, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default) => InnerStore.GetLessonAsync(lessonId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default) => InnerStore.ListLessonsAsync(query, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default) => InnerStore.SaveSnapshotAsync(snapshot, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default) => InnerStore.GetSnapshotAsync(snapshotId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default) => InnerStore.ListSnapshotsAsync(tenant, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default) => InnerStore.GetActiveSnapshotIdAsync(tenant, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default) => InnerStore.SetActiveSnapshotAsync(tenant, snapshotId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default) => InnerStore.SaveLearningRunAsync(run, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default) => InnerStore.ListLearningRunsAsync(tenant, limit, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default) => InnerStore.GetCursorAsync(name, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default) => InnerStore.SetCursorAsync(name, value, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default) => InnerStore.AppendAuditAsync(draft, cancellationToken);

    /// <inheritdoc/>
    public virtual IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default) => InnerStore.ReadAuditAsync(afterSequence, cancellationToken);

    /// <inheritdoc/>
    public virtual IAsyncEnumerable<AuditEntry> ReadTenantAuditAsync(string tenant, long afterSequence = 0, CancellationToken cancellationToken = default) => InnerStore.ReadTenantAuditAsync(tenant, afterSequence, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default) => InnerStore.GetRolloutAsync(tenant, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default) => InnerStore.SaveRolloutAsync(state, expectedVersion, cancellationToken);

    /// <inheritdoc/>
    public virtual Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default) => InnerStore.RecordRolloutOutcomesAsync(outcomes, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<RolloutUnitTally>> ReadRolloutTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default) => InnerStore.ReadRolloutTallyAsync(tenant, candidateSnapshotId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<RolloutFailureTally>> ReadRolloutFailureTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default) => InnerStore.ReadRolloutFailureTallyAsync(tenant, candidateSnapshotId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default) => InnerStore.LeaseEpisodesAsync(tenant, worker, max, duration, cancellationToken);

    /// <inheritdoc/>
    public virtual Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default) => InnerStore.CompleteLeasesAsync(leases, cancellationToken);

    /// <inheritdoc/>
    public virtual Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default) => InnerStore.SaveApiKeyAsync(key, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default) => InnerStore.GetApiKeyAsync(keyId, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default) => InnerStore.ListApiKeysAsync(tenant, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default) => InnerStore.RevokeApiKeyAsync(keyId, at, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default) => InnerStore.CommitLearningAsync(commit, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<bool> SetApiKeyTrustAsync(string keyId, bool trustUnits, CancellationToken cancellationToken = default) => InnerStore.SetApiKeyTrustAsync(keyId, trustUnits, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => InnerStore.DeleteEpisodesAsync(episodeIds, cancellationToken);

    /// <inheritdoc/>
    public virtual Task<int> DeleteEpisodesAsync(string? tenant, IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => InnerStore.DeleteEpisodesAsync(tenant, episodeIds, cancellationToken);

    /// <inheritdoc/>
    public async ValueTask DisposeAsync()
    {
        await DisposeAsyncCore().ConfigureAwait(false);
        GC.SuppressFinalize(this);
    }

    /// <summary>Disposes the inner store (unless left open); override to release what the wrapper holds, then call the base.</summary>
    protected virtual ValueTask DisposeAsyncCore() => _leaveInnerOpen ? ValueTask.CompletedTask : InnerStore.DisposeAsync();
}
