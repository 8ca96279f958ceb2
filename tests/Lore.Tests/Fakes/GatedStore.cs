namespace Lore.Tests.Fakes;

/// <summary>
/// A store whose appends the test holds at a gate and can make fail, around a real store. It lets capture tests
/// fill the buffer or break a write at an exact moment, without sleeping.
/// </summary>
internal sealed class GatedStore : ILoreStore
{
    private readonly ILoreStore _inner;
    private readonly object _lock = new();
    private TaskCompletionSource _gate = Open();
    private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GatedStore(ILoreStore inner) => _inner = inner;

    /// <summary>How many of the next appends throw before reaching the inner store.</summary>
    public int FailNextAppends { get; set; }

    /// <summary>Appends that throw whenever they carry a record of this episode (a poisoned episode).</summary>
    public string? FailEpisode { get; set; }

    public int AppendCalls { get; private set; }

    public List<int> BatchSizes { get; } = [];

    public string Location => _inner.Location;

    /// <summary>Makes the next appends wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _gate.TrySetResult();
        }
    }

    /// <summary>Completes once an append is waiting at the held gate.</summary>
    public Task AppendWaiting
    {
        get
        {
            lock (_lock)
            {
                return _entered.Task;
            }
        }
    }

    public async Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default)
    {
        Task gate;
        lock (_lock)
        {
            AppendCalls++;
            BatchSizes.Add(records.Count);
            _entered.TrySetResult();
            gate = _gate.Task;
        }

        await gate.WaitAsync(cancellationToken);
        if (FailNextAppends > 0)
        {
            FailNextAppends--;
            throw new IOException("disk unavailable (simulated)");
        }

        if (FailEpisode is not null && records.Any(r => r.EpisodeId == FailEpisode))
        {
            throw new IOException($"episode {FailEpisode} is poisoned (simulated)");
        }

        await _inner.AppendAsync(records, cancellationToken);
    }

    public Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default) => _inner.BeginImportAsync(cancellationToken);

    public Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default) => _inner.AddOutcomeAsync(episodeId, outcome, cancellationToken);

    public Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default) => _inner.GetEpisodeAsync(episodeId, cancellationToken);

    public IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, CancellationToken cancellationToken = default) => _inner.ReadEpisodesAsync(query, cancellationToken);

    public Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default) => _inner.CountEpisodesAsync(tenant, cancellationToken);

    public Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default) => _inner.SaveLessonsAsync(lessons, cancellationToken);

    public Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default) => _inner.GetLessonAsync(lessonId, cancellationToken);

    public Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default) => _inner.ListLessonsAsync(query, cancellationToken);

    public Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default) => _inner.SaveSnapshotAsync(snapshot, cancellationToken);

    public Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default) => _inner.GetSnapshotAsync(snapshotId, cancellationToken);

    public Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default) => _inner.ListSnapshotsAsync(tenant, cancellationToken);

    public Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default) => _inner.GetActiveSnapshotIdAsync(tenant, cancellationToken);

    public Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default) => _inner.SetActiveSnapshotAsync(tenant, snapshotId, cancellationToken);

    public Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default) => _inner.SaveLearningRunAsync(run, cancellationToken);

    public Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default) => _inner.ListLearningRunsAsync(tenant, limit, cancellationToken);

    public Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default) => _inner.GetCursorAsync(name, cancellationToken);

    public Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default) => _inner.SetCursorAsync(name, value, cancellationToken);

    public Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default) => _inner.AppendAuditAsync(draft, cancellationToken);

    public IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default) => _inner.ReadAuditAsync(afterSequence, cancellationToken);

    public Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default) => _inner.GetRolloutAsync(tenant, cancellationToken);

    public Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default) => _inner.SaveRolloutAsync(state, expectedVersion, cancellationToken);

    public Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default) => _inner.DeleteEpisodesAsync(episodeIds, cancellationToken);

    public Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default) => _inner.LeaseEpisodesAsync(tenant, worker, max, duration, cancellationToken);

    public Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default) => _inner.CompleteLeasesAsync(leases, cancellationToken);

    public Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default) => _inner.SaveApiKeyAsync(key, cancellationToken);

    public Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default) => _inner.GetApiKeyAsync(keyId, cancellationToken);

    public Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default) => _inner.ListApiKeysAsync(tenant, cancellationToken);

    public Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default) => _inner.RevokeApiKeyAsync(keyId, at, cancellationToken);

    public ValueTask DisposeAsync() => _inner.DisposeAsync();

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
