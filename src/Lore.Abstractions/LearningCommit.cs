namespace Lore;

/// <summary>
/// Everything one learning pass writes, handed to <see cref="ILoreStore.CommitLearningAsync"/> so it is stored in one
/// transaction: lessons, the new snapshot, its publication, the run record, the audit entries, the cursor and the
/// worker's leases. A crash at any point leaves the store as it was before the pass or as it is after it, never a
/// snapshot without its audit record or episodes read as new a second time.
/// </summary>
public sealed record LearningCommit
{
    /// <summary>The tenant whose learned state the pass changes; every part of the commit must be this tenant's.</summary>
    public required string Tenant { get; init; }

    /// <summary>Lessons to insert or replace by id (the latest version of each).</summary>
    public IReadOnlyList<Lesson> Lessons { get; init; } = [];

    /// <summary>Audit entries about the lessons (admission decisions), appended first, in order.</summary>
    public IReadOnlyList<AuditDraft> LessonAudit { get; init; } = [];

    /// <summary>A new snapshot to store; storing an id already stored changes nothing (snapshots are immutable).</summary>
    public Snapshot? Snapshot { get; init; }

    /// <summary>Appended after <see cref="LessonAudit"/> only when <see cref="Snapshot"/> was not stored before this commit.</summary>
    public AuditDraft? SnapshotCreatedAudit { get; init; }

    /// <summary>The publication of the snapshot: a rollout change decided on a version of the rollout, checked at commit.</summary>
    public RolloutChange? Rollout { get; init; }

    /// <summary>The run record (null for a publication that no learning run made, such as a review approval).</summary>
    public LearningRun? Run { get; init; }

    /// <summary>A progress cursor moved forward by the pass (never backward: the larger value is kept).</summary>
    public StoreCursor? Cursor { get; init; }

    /// <summary>Leases of the episodes the pass learned from, marked processed; a lease granted to another worker fails the commit.</summary>
    public IReadOnlyList<EpisodeLease> CompletedLeases { get; init; } = [];
}

/// <summary>
/// A rollout change decided on <see cref="ExpectedVersion"/> of the tenant's rollout: <see cref="State"/> (null: the
/// decision changes nothing) is saved and <see cref="Audit"/> appended only if the rollout is still at that version.
/// </summary>
/// <param name="State">The rollout to save, or null when the decision leaves it as it is (frozen, waiting, gate failed).</param>
/// <param name="ExpectedVersion">The rollout version the decision was made on.</param>
/// <param name="Audit">What the decision is recorded as (a canary gate's verdict, the promotion), appended after the snapshot's creation.</param>
public sealed record RolloutChange(RolloutState? State, long ExpectedVersion, IReadOnlyList<AuditDraft> Audit);

/// <summary>A named progress marker and the value a commit moves it to.</summary>
public sealed record StoreCursor(string Name, long Value);

/// <summary>What a <see cref="LearningCommit"/> did.</summary>
/// <param name="SnapshotCreated">True when the snapshot was stored by this commit (false: it was stored before, or there was none).</param>
/// <param name="Rollout">The rollout as saved by the commit, or null when the commit did not change it.</param>
/// <param name="Audit">The audit entries appended, in order.</param>
public sealed record LearningCommitResult(bool SnapshotCreated, RolloutState? Rollout, IReadOnlyList<AuditEntry> Audit);

/// <summary>
/// Named points inside the stores' multi-step writes where a test can have the process killed (SIGKILL, as
/// <c>kill -9</c> would), to prove that a crash there loses nothing acknowledged and leaves no half-written state.
/// Set the environment variable <c>LORE_CRASH_AT</c> to a point's name; unset (always, in production) nothing happens.
/// </summary>
public static class CrashPoints
{
    /// <summary>The environment variable naming the point at which the process kills itself.</summary>
    public const string Variable = "LORE_CRASH_AT";

    /// <summary>Inside the learning commit's transaction, before anything is written.</summary>
    public const string LearningCommitBegin = "learning.commit.begin";

    /// <summary>Inside the learning commit's transaction, lessons written, snapshot not yet.</summary>
    public const string LearningCommitLessons = "learning.commit.lessons";

    /// <summary>Inside the learning commit's transaction, snapshot and rollout written, audit not yet.</summary>
    public const string LearningCommitPublished = "learning.commit.published";

    /// <summary>Inside the learning commit's transaction, everything written, not yet committed.</summary>
    public const string LearningCommitBeforeCommit = "learning.commit.before-commit";

    /// <summary>Just after the learning commit committed, before the caller hears of it.</summary>
    public const string LearningCommitAfterCommit = "learning.commit.after-commit";

    /// <summary>A staged import's first batch is committed (invisible), the rest of the file not yet written.</summary>
    public const string ImportBatchStaged = "ingest.import.batch-staged";

    /// <summary>Inside an import's transaction, episodes added, not yet committed.</summary>
    public const string ImportBeforeCommit = "ingest.import.before-commit";

    /// <summary>Inside a rollout save's transaction (an operator's promotion or rollback), before it commits.</summary>
    public const string RolloutBeforeCommit = "publication.rollout.before-commit";

    private static readonly string? Armed = Environment.GetEnvironmentVariable(Variable);

    /// <summary>Kills the current process at once when <paramref name="point"/> is the armed point; otherwise returns.</summary>
    public static void Reach(string point)
    {
        if (Armed is not null && string.Equals(Armed, point, StringComparison.Ordinal))
        {
            Console.Error.WriteLine($"lore: crash point '{point}' reached; killing the process (LORE_CRASH_AT).");
            Console.Error.Flush();
            System.Diagnostics.Process.GetCurrentProcess().Kill();
        }
    }
}
