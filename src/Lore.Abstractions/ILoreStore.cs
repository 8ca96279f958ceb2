
namespace Lore;

/// <summary>Which episodes to read, oldest first unless <see cref="NewestFirst"/>.</summary>
public sealed record EpisodeQuery
{
    /// <summary>The tenant whose episodes are read; a query never spans tenants.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>Only episodes stored after this sequence number.</summary>
    public long AfterSequence { get; init; }

    /// <summary>Only episodes that have ended.</summary>
    public bool EndedOnly { get; init; }

    /// <summary>At most this many (null: no limit).</summary>
    public int? Limit { get; init; }

    /// <summary>Take the newest <see cref="Limit"/> episodes (still returned oldest first).</summary>
    public bool NewestFirst { get; init; }

    /// <summary>Read headers and outcomes only, without steps (cheap listings).</summary>
    public bool WithoutSteps { get; init; }
}

/// <summary>Which lessons to list.</summary>
/// <remarks>
/// The rule: with <see cref="Status"/> set, exactly the lessons in that status are listed (whatever
/// <see cref="IncludeRetired"/> says); without it, only <see cref="LessonStatus.Active"/> lessons are listed, or
/// every lesson in any status when <see cref="IncludeRetired"/> is true. A lesson whose <see cref="Lesson.RetiredAt"/>
/// is set counts as <see cref="LessonStatus.Retired"/> unless its status is <see cref="LessonStatus.Rejected"/>.
/// </remarks>
public sealed record LessonQuery
{
    /// <summary>The tenant whose lessons are listed; a query never spans tenants.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>List lessons in every status (retired, rejected, pending review), not only active ones.</summary>
    public bool IncludeRetired { get; init; }

    /// <summary>Only lessons of this kind; null for every kind.</summary>
    public LessonKind? Kind { get; init; }

    /// <summary>Only lessons in this status (null: active lessons, or all of them with <see cref="IncludeRetired"/>).</summary>
    public LessonStatus? Status { get; init; }
}

/// <summary>A snapshot's header, for listings that should not load every lesson.</summary>
public sealed record SnapshotSummary(string Id, string? ParentId, string Tenant, int LessonCount, string CreatedBy, string Reason, DateTimeOffset CreatedAt, bool IsActive);

/// <summary>
/// A transactional bulk import: every episode added becomes visible at <see cref="CommitAsync"/>, or none does
/// (disposing without commit rolls back). This is what makes a file import whole or not at all.
/// </summary>
public interface IEpisodeImport : IAsyncDisposable
{
    /// <summary>Stages an episode in the import; nothing is visible until <c>CommitAsync</c>, so a failed file leaves no partial import.</summary>
    Task AddAsync(Episode episode, CancellationToken cancellationToken = default);

    /// <summary>Makes every added episode durable and visible; returns how many were imported.</summary>
    Task<int> CommitAsync(CancellationToken cancellationToken = default);
}

/// <summary>
/// Lore's persistent state: episodes (append-only capture), lessons, immutable snapshots and the pointer to the
/// active snapshot, and learning runs. SQLite is the embedded implementation; every implementation must pass the
/// same contract tests.
/// </summary>
public interface ILoreStore : IAsyncDisposable
{
    /// <summary>
    /// An optional capability of this store (for example <see cref="ILearningLock"/> or <see cref="IStoreChangeFeed"/>),
    /// or null. Ask through this, not with a type test, so a capability survives wrapping in a <see cref="DelegatingLoreStore"/>.
    /// </summary>
    object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is null && serviceType.IsInstanceOfType(this) ? this : null;
    }

    /// <summary>A human-readable description of where the data lives (a path or a redacted connection string).</summary>
    string Location { get; }

    /// <summary>
    /// Appends capture records in one transaction, in order. Records for an unknown episode fail the batch, and so does a
    /// step for an episode an outcome ended (<see cref="EpisodeEndReasons.Outcome"/>; a <see cref="StoreConflictException"/> naming it).
    /// </summary>
    Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default);

    /// <summary>Starts an all-or-nothing import of complete episodes.</summary>
    Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds one outcome to a stored episode and, if the episode is still open, ends it in the same transaction
    /// (<see cref="EpisodeEndReasons.Outcome"/>, at the outcome's time); throws <see cref="KeyNotFoundException"/>
    /// naming the id if it does not exist.
    /// </summary>
    Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default);

    /// <summary>
    /// The episode with this id in any tenant. Episode ids are unique per tenant only: when more than one tenant holds
    /// the id this throws <see cref="InvalidOperationException"/>; code acting for a tenant uses the overload that names it.
    /// </summary>
    Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default);

    /// <summary>The tenant's episode with this id; null when that tenant has none (whatever other tenants hold).</summary>
    Task<Episode?> GetEpisodeAsync(string tenant, string episodeId, CancellationToken cancellationToken = default);

    /// <summary>Streams the episodes the query selects, oldest first, without holding them all in memory (learning reads thousands).</summary>
    IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, CancellationToken cancellationToken = default);

    /// <summary>How many episodes the tenant has stored, for dashboards and retention without reading them.</summary>
    Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces lessons by id (the latest version of each lesson).</summary>
    Task SaveLessonsAsync(IReadOnlyList<Lesson> lessons, CancellationToken cancellationToken = default);

    /// <summary>The latest version of a lesson, or null; lesson ids are content-derived and unique across tenants.</summary>
    Task<Lesson?> GetLessonAsync(string lessonId, CancellationToken cancellationToken = default);

    /// <summary>The lessons the query selects (see <see cref="LessonQuery"/> for how statuses are chosen).</summary>
    Task<IReadOnlyList<Lesson>> ListLessonsAsync(LessonQuery query, CancellationToken cancellationToken = default);

    /// <summary>Stores a snapshot; storing the same id again is a no-op (snapshots are immutable).</summary>
    Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default);

    /// <summary>A stored snapshot with its lessons, or null; snapshots are immutable, so a found one never changes.</summary>
    Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default);

    /// <summary>Snapshots of a tenant, newest first.</summary>
    Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default);

    /// <summary>The tenant's stable snapshot (the one served outside a canary), or null before anything was learned.</summary>
    Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default);

    /// <summary>
    /// Points the tenant at a stored snapshot (or at none); throws <see cref="KeyNotFoundException"/> for an unknown id.
    /// This is the rollout's stable snapshot: the change bumps the rollout's version, and pointing at the rollout's
    /// candidate promotes it (the candidate is cleared and the stage returns to None).
    /// </summary>
    Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default);

    /// <summary>Records a learning run (what was read, proposed, merged and retired), the "why" behind the snapshot it produced.</summary>
    Task SaveLearningRunAsync(LearningRun run, CancellationToken cancellationToken = default);

    /// <summary>Learning runs of a tenant, newest first.</summary>
    Task<IReadOnlyList<LearningRun>> ListLearningRunsAsync(string tenant, int limit, CancellationToken cancellationToken = default);

    /// <summary>A named progress marker (for example the last episode sequence a learner has read).</summary>
    Task<long> GetCursorAsync(string name, CancellationToken cancellationToken = default);

    /// <summary>Moves a named progress marker; learners save it after a pass so the next pass reads only what is new.</summary>
    Task SetCursorAsync(string name, long value, CancellationToken cancellationToken = default);

    /// <summary>Appends to the hash-chained audit log in one transaction with the read of its current head.</summary>
    Task<AuditEntry> AppendAuditAsync(AuditDraft draft, CancellationToken cancellationToken = default);

    /// <summary>The audit log (all tenants, one chain) in sequence order, after a sequence number.</summary>
    IAsyncEnumerable<AuditEntry> ReadAuditAsync(long afterSequence = 0, CancellationToken cancellationToken = default);

    /// <summary>
    /// One tenant's own audit chain, after a position in it: every entry of the tenant numbered 1, 2, 3... without
    /// gaps, each hash covering the tenant's previous entry (<see cref="AuditChain.ComputeHash"/>), so the tenant can
    /// verify its log without learning anything about other tenants' activity. Written with each global entry.
    /// </summary>
    IAsyncEnumerable<AuditEntry> ReadTenantAuditAsync(string tenant, long afterSequence = 0, CancellationToken cancellationToken = default);

    /// <summary>The tenant's rollout state; a tenant that never saved one gets Version 0 with its active snapshot as stable.</summary>
    Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default);

    /// <summary>
    /// Saves the rollout state if its stored version is still <paramref name="expectedVersion"/> (else throws
    /// <see cref="StoreConflictException"/>); the stable snapshot becomes the active snapshot. Returns the saved state
    /// with its new version. Unknown snapshot ids throw <see cref="KeyNotFoundException"/>.
    /// </summary>
    Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default);

    /// <summary>
    /// Adds judged canary episodes to the tenant's shared rollout tally in one transaction; an episode already counted
    /// for that candidate is ignored, so a retried write or a second host never counts it twice. Throws naming the
    /// first record that is invalid (blank ids, an unknown arm, a score or share outside [0, 1]) and adds nothing.
    /// </summary>
    Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default);

    /// <summary>The shared tally of a candidate: per canary share, arm, slice and unit, the episodes' sums (any order).</summary>
    Task<IReadOnlyList<RolloutUnitTally>> ReadRolloutTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The failures in a candidate's shared tally: per canary share, arm, slice, unit and failure mode, how many judged
    /// episodes failed that way (any order; successes and outcomes recorded without a mode are not listed).
    /// </summary>
    Task<IReadOnlyList<RolloutFailureTally>> ReadRolloutFailureTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default);

    /// <summary>
    /// Leases up to <paramref name="max"/> ended, never-processed episodes of a tenant (oldest first) whose lease is
    /// absent or expired, for <paramref name="duration"/>. Concurrent callers (any process) never get the same episode
    /// while a lease is live (PostgreSQL: <c>FOR UPDATE SKIP LOCKED</c>).
    /// </summary>
    Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default);

    /// <summary>
    /// Marks leased episodes processed, all in one transaction; throws <see cref="StoreConflictException"/> naming the
    /// episode (and completes none) if any lease expired and was granted to another worker since.
    /// </summary>
    Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default);

    /// <summary>Stores a new API key; an existing id throws <see cref="StoreConflictException"/>.</summary>
    Task SaveApiKeyAsync(ApiKey key, CancellationToken cancellationToken = default);

    /// <summary>The key with this id, revoked or not; null when unknown.</summary>
    Task<ApiKey?> GetApiKeyAsync(string keyId, CancellationToken cancellationToken = default);

    /// <summary>Keys of a tenant (every tenant when null), newest first, revoked ones included.</summary>
    Task<IReadOnlyList<ApiKey>> ListApiKeysAsync(string? tenant, CancellationToken cancellationToken = default);

    /// <summary>Revokes a key; returns false for an unknown id. Revoking twice keeps the first time.</summary>
    Task<bool> RevokeApiKeyAsync(string keyId, DateTimeOffset at, CancellationToken cancellationToken = default);

    /// <summary>
    /// Applies one learning pass's writes in one transaction (see <see cref="LearningCommit"/>): all of them or, when
    /// this throws, none. Throws <see cref="StoreConflictException"/> when the rollout is no longer at
    /// <see cref="RolloutChange.ExpectedVersion"/> (decide the publication again and retry) or a lease was granted to
    /// another worker; <see cref="KeyNotFoundException"/> when the rollout names a snapshot the store does not hold.
    /// </summary>
    Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default);

    /// <summary>Sets whether the key may assert units (<see cref="ApiKey.TrustUnits"/>); returns false for an unknown id.</summary>
    Task<bool> SetApiKeyTrustAsync(string keyId, bool trustUnits, CancellationToken cancellationToken = default);

    /// <summary>Deletes episodes with their steps and outcomes in one transaction (right to erasure); returns how many existed (unknown ids are ignored).</summary>
    Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default);

    /// <summary>
    /// As <see cref="DeleteEpisodesAsync(IReadOnlyCollection{string}, CancellationToken)"/>, for episodes of one tenant
    /// only (null: any tenant, refusing an id several tenants hold): erasing one tenant's id never touches another's.
    /// </summary>
    Task<int> DeleteEpisodesAsync(string? tenant, IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default);
}

/// <summary>Typed access to <see cref="ILoreStore.GetService"/>, as <c>IChatClient.GetService&lt;T&gt;()</c> reads.</summary>
public static class LoreStoreExtensions
{
    /// <summary>The store's <typeparamref name="TService"/> capability (found through any wrappers), or null.</summary>
    public static TService? GetService<TService>(this ILoreStore store, object? serviceKey = null)
        where TService : class
    {
        ArgumentNullException.ThrowIfNull(store);
        return store.GetService(typeof(TService), serviceKey) as TService;
    }
}
