namespace Lore.Tests.Rollout;

/// <summary>
/// A real store with a hook that runs just before each rollout save: the test makes "another host" change the rollout
/// there, so the save that follows carries a stale version and must lose the race, deterministically.
/// </summary>
internal sealed class InterferingStore(ILoreStore inner) : ILoreStore
{
    /// <summary>Runs before a rollout save reaches the store; receives the number of the save (from 1).</summary>
    public Func<int, Task>? BeforeSaveRollout { get; set; }

    public int RolloutSaves { get; private set; }

    public int Conflicts { get; private set; }

    public ILoreStore Inner => inner;

    public string Location => inner.Location;

    public async Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default)
    {
        var save = ++RolloutSaves;
        if (BeforeSaveRollout is { } hook)
        {
            await hook(save);
        }

        try
        {
            return await inner.SaveRolloutAsync(state, expectedVersion, cancellationToken);
        }
        catch (StoreConflictException)
        {
            Conflicts++;
            throw;
        }
    }

    public Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default) => inner.GetRolloutAsync(tenant, cancellationToken);

    public Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default) => inner.AppendAsync(records, cancellationToken);

    public Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default) => inner.BeginImportAsync(cancellationToken);

    public Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default) => inner.AddOutcomeAsync(episodeId, outcome, cancellationToken);

    public Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default) => inner.GetEpisodeAsync(episodeId, cancellationToken);

    public IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, CancellationToken cancellationToken = default) => inner.ReadEpisodesAsync(query, cancellationToken);

    public Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default) => inner.CountEpisodesAsync(tenant, cancellationToken);

    public Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default) => inner.SaveLessonsAsync(lessons, cancellationToken);

    public Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default) => inner.GetLessonAsync(lessonId, cancellationToken);

    public Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default) => inner.ListLessonsAsync(query, cancellationToken);

    public Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default) => inner.SaveSnapshotAsync(snapshot, cancellationToken);

    public Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default) => inner.GetSnapshotAsync(snapshotId, cancellationToken);

    public Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default) => inner.ListSnapshotsAsync(tenant, cancellationToken);

    public Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default) => inner.GetActiveSnapshotIdAsync(tenant, cancellationToken);

    public Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default) => inner.SetActiveSnapshotAsync(tenant, snapshotId, cancellationToken);

    public Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default) => inner.SaveLearningRunAsync(run, cancellationToken);

    public Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default) => inner.ListLearningRunsAsync(tenant, limit, cancellationToken);

    public Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default) => inner.GetCursorAsync(name, cancellationToken);

    public Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default) => inner.SetCursorAsync(name, value, cancellationToken);

    public Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default) => inner.AppendAuditAsync(draft, cancellationToken);

    public IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default) => inner.ReadAuditAsync(afterSequence, cancellationToken);

    public Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => inner.DeleteEpisodesAsync(episodeIds, cancellationToken);

    public Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default) => inner.LeaseEpisodesAsync(tenant, worker, max, duration, cancellationToken);

    public Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default) => inner.CompleteLeasesAsync(leases, cancellationToken);

    public Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default) => inner.SaveApiKeyAsync(key, cancellationToken);

    public Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default) => inner.GetApiKeyAsync(keyId, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default) => inner.ListApiKeysAsync(tenant, cancellationToken);

    public Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.RevokeApiKeyAsync(keyId, at, cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
