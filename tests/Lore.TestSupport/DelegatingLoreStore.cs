namespace Lore.Testing;

/// <summary>
/// A real store wrapped so a test can instrument a few calls (count them, hold them, fail them, race them) while every
/// other call passes straight through: a decorator, not a mock. Derive and override only what the test changes.
/// </summary>
public abstract class DelegatingLoreStore(ILoreStore inner, bool ownsInner = true) : ILoreStore
{
    public ILoreStore Inner => inner;

    public virtual string Location => inner.Location;

    public virtual Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default) => inner.AppendAsync(records, cancellationToken);

    public virtual Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default) => inner.BeginImportAsync(cancellationToken);

    public virtual Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default) => inner.AddOutcomeAsync(episodeId, outcome, cancellationToken);

    public virtual Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default) => inner.GetEpisodeAsync(episodeId, cancellationToken);

    public virtual Task<Episode?> GetEpisodeAsync(string tenant, string episodeId, CancellationToken cancellationToken = default) => inner.GetEpisodeAsync(tenant, episodeId, cancellationToken);

    public virtual IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, CancellationToken cancellationToken = default) => inner.ReadEpisodesAsync(query, cancellationToken);

    public virtual Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default) => inner.CountEpisodesAsync(tenant, cancellationToken);

    public virtual Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default) => inner.SaveLessonsAsync(lessons, cancellationToken);

    public virtual Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default) => inner.GetLessonAsync(lessonId, cancellationToken);

    public virtual Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default) => inner.ListLessonsAsync(query, cancellationToken);

    public virtual Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default) => inner.SaveSnapshotAsync(snapshot, cancellationToken);

    public virtual Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default) => inner.GetSnapshotAsync(snapshotId, cancellationToken);

    public virtual Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default) => inner.ListSnapshotsAsync(tenant, cancellationToken);

    public virtual Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default) => inner.GetActiveSnapshotIdAsync(tenant, cancellationToken);

    public virtual Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default) => inner.SetActiveSnapshotAsync(tenant, snapshotId, cancellationToken);

    public virtual Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default) => inner.SaveLearningRunAsync(run, cancellationToken);

    public virtual Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default) => inner.ListLearningRunsAsync(tenant, limit, cancellationToken);

    public virtual Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default) => inner.GetCursorAsync(name, cancellationToken);

    public virtual Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default) => inner.SetCursorAsync(name, value, cancellationToken);

    public virtual Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default) => inner.AppendAuditAsync(draft, cancellationToken);

    public virtual IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default) => inner.ReadAuditAsync(afterSequence, cancellationToken);

    public virtual IAsyncEnumerable<AuditEntry> ReadTenantAuditAsync(string tenant, long afterSequence = 0, CancellationToken cancellationToken = default) => inner.ReadTenantAuditAsync(tenant, afterSequence, cancellationToken);

    public virtual Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default) => inner.GetRolloutAsync(tenant, cancellationToken);

    public virtual Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default) => inner.SaveRolloutAsync(state, expectedVersion, cancellationToken);

    public virtual Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default) => inner.CommitLearningAsync(commit, cancellationToken);

    public virtual Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default) => inner.RecordRolloutOutcomesAsync(outcomes, cancellationToken);

    public virtual Task<IReadOnlyList<RolloutUnitTally>> ReadRolloutTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default) => inner.ReadRolloutTallyAsync(tenant, candidateSnapshotId, cancellationToken);

    public virtual Task<IReadOnlyList<RolloutFailureTally>> ReadRolloutFailureTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default) => inner.ReadRolloutFailureTallyAsync(tenant, candidateSnapshotId, cancellationToken);

    public virtual Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => inner.DeleteEpisodesAsync(episodeIds, cancellationToken);

    public virtual Task<int> DeleteEpisodesAsync(string? tenant, IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => inner.DeleteEpisodesAsync(tenant, episodeIds, cancellationToken);

    public virtual Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default) => inner.LeaseEpisodesAsync(tenant, worker, max, duration, cancellationToken);

    public virtual Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default) => inner.CompleteLeasesAsync(leases, cancellationToken);

    public virtual Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default) => inner.SaveApiKeyAsync(key, cancellationToken);

    public virtual Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default) => inner.GetApiKeyAsync(keyId, cancellationToken);

    public virtual Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default) => inner.ListApiKeysAsync(tenant, cancellationToken);

    public virtual Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default) => inner.RevokeApiKeyAsync(keyId, at, cancellationToken);

    public virtual Task<bool> SetApiKeyTrustAsync(string keyId, bool trustUnits, CancellationToken cancellationToken = default) => inner.SetApiKeyTrustAsync(keyId, trustUnits, cancellationToken);

    /// <summary>Disposes the wrapped store when this wrapper owns it (the default).</summary>
    public virtual ValueTask DisposeAsync()
    {
        GC.SuppressFinalize(this);
        return ownsInner ? inner.DisposeAsync() : ValueTask.CompletedTask;
    }
}
