namespace Lore.PostgreSql;

// A learning pass's writes in one transaction: PostgreSQL rolls back everything of a transaction whose session dies,
// so a crash anywhere before the commit leaves the database exactly as it was.
public sealed partial class PostgresLoreStore
{
    private const string AdvanceCursorSql = """
        INSERT INTO cursors (name, value) VALUES ($1, $2)
        ON CONFLICT (name) DO UPDATE SET value = GREATEST(cursors.value, excluded.value);
        """;

    /// <inheritdoc />
    public async Task<LearningCommitResult> CommitLearningAsync(LearningCommit commit, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckLearningCommit(commit);
        var result = await WriteAsync(async (connection, transaction) =>
        {
            CrashPoints.Reach(CrashPoints.LearningCommitBegin);

            // Leases first: a batch another worker now holds must not be learned from twice, so it fails before any write.
            if (commit.CompletedLeases.Count > 0)
            {
                await CompleteLeasesAsync(connection, transaction, commit.CompletedLeases, cancellationToken).ConfigureAwait(false);
            }

            // The rollout row is locked before anything else of the publication, so a rival publication waits here.
            if (commit.Rollout is { } change)
            {
                await RequireRolloutVersionAsync(connection, transaction, commit.Tenant, change.ExpectedVersion, cancellationToken).ConfigureAwait(false);
            }

            if (commit.Lessons.Count > 0)
            {
                await UpsertLessonsAsync(connection, transaction, commit.Lessons, cancellationToken).ConfigureAwait(false);
            }

            CrashPoints.Reach(CrashPoints.LearningCommitLessons);
            var created = commit.Snapshot is { } snapshot && await InsertSnapshotAsync(connection, transaction, snapshot, cancellationToken).ConfigureAwait(false);
            RolloutState? rollout = null;
            if (commit.Rollout is { State: { } state } publication)
            {
                rollout = await SaveRolloutAsync(connection, transaction, state with { Tenant = commit.Tenant }, publication.ExpectedVersion, cancellationToken).ConfigureAwait(false);
            }

            CrashPoints.Reach(CrashPoints.LearningCommitPublished);
            var audit = new List<AuditEntry>();
            foreach (var draft in commit.LessonAudit)
            {
                audit.Add(await AppendAuditAsync(connection, transaction, draft, cancellationToken).ConfigureAwait(false));
            }

            if (created && commit.SnapshotCreatedAudit is { } createdAudit)
            {
                audit.Add(await AppendAuditAsync(connection, transaction, createdAudit, cancellationToken).ConfigureAwait(false));
            }

            foreach (var draft in commit.Rollout?.Audit ?? [])
            {
                audit.Add(await AppendAuditAsync(connection, transaction, draft, cancellationToken).ConfigureAwait(false));
            }

            if (commit.Run is { } run)
            {
                await UpsertRunAsync(connection, transaction, run, cancellationToken).ConfigureAwait(false);
            }

            if (commit.Cursor is { } cursor)
            {
                await using var advance = Sql(connection, transaction, AdvanceCursorSql, cursor.Name, cursor.Value);
                await advance.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            CrashPoints.Reach(CrashPoints.LearningCommitBeforeCommit);
            return new LearningCommitResult(created, rollout, audit);
        }, cancellationToken).ConfigureAwait(false);
        CrashPoints.Reach(CrashPoints.LearningCommitAfterCommit);
        return result;
    }
}
