using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// A learning pass's writes in one immediate transaction: a crash (or a failure) anywhere before the commit leaves the
// file exactly as it was, and WAL recovery never exposes part of it.
public sealed partial class SqliteLoreStore
{
    private const string AdvanceCursorSql = """
        INSERT INTO cursors (name, value) VALUES ($name, $value)
        ON CONFLICT (name) DO UPDATE SET value = MAX(value, excluded.value);
        """;

    /// <inheritdoc />
    public async Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckLearningCommit(commit);
        var result = await WriteAsync(transaction =>
        {
            CrashPoints.Reach(CrashPoints.LearningCommitBegin);

            // Leases first: a batch another worker now holds must not be learned from twice, so it fails before any write.
            if (commit.CompletedLeases.Count > 0)
            {
                CompleteLeases(transaction, commit.CompletedLeases);
            }

            if (commit.Lessons.Count > 0)
            {
                UpsertLessons(transaction, commit.Lessons, CancellationToken.None);
            }

            CrashPoints.Reach(CrashPoints.LearningCommitLessons);
            var created = commit.Snapshot is { } snapshot && InsertSnapshot(transaction, snapshot);
            RolloutState? rollout = null;
            if (commit.Rollout is { } change)
            {
                if (change.State is { } state)
                {
                    rollout = SaveRollout(transaction, state with { Tenant = commit.Tenant }, change.ExpectedVersion);
                }
                else
                {
                    RequireRolloutVersion(transaction, commit.Tenant, change.ExpectedVersion);
                }
            }

            CrashPoints.Reach(CrashPoints.LearningCommitPublished);
            var audit = new List<AuditEntry>();
            foreach (var draft in commit.LessonAudit)
            {
                audit.Add(AppendAudit(transaction, draft));
            }

            if (created && commit.SnapshotCreatedAudit is { } createdAudit)
            {
                audit.Add(AppendAudit(transaction, createdAudit));
            }

            foreach (var draft in commit.Rollout?.Audit ?? [])
            {
                audit.Add(AppendAudit(transaction, draft));
            }

            if (commit.Run is { } run)
            {
                UpsertRun(transaction, run);
            }

            if (commit.Cursor is { } cursor)
            {
                using var advance = WriteCommand(transaction, AdvanceCursorSql);
                advance.Parameters.AddWithValue("$name", cursor.Name);
                advance.Parameters.AddWithValue("$value", cursor.Value);
                advance.ExecuteNonQuery();
            }

            CrashPoints.Reach(CrashPoints.LearningCommitBeforeCommit);
            return new LearningCommitResult(created, rollout, audit);
        }, cancellationToken).ConfigureAwait(false);
        CrashPoints.Reach(CrashPoints.LearningCommitAfterCommit);
        return result;
    }

    private void RequireRolloutVersion(SqliteTransaction transaction, string tenant, long expectedVersion)
    {
        using var read = WriteCommand(transaction, RolloutVersionSql);
        read.Parameters.AddWithValue("$tenant", tenant);
        var stored = read.ExecuteScalar() is long version ? version : 0;
        if (stored != expectedVersion)
        {
            throw new StoreConflictException(
                $"The rollout of tenant '{tenant}' is at version {stored}, not at the expected version {expectedVersion}: " +
                "it changed since it was read. Nothing was saved; read it again and decide again.");
        }
    }
}
