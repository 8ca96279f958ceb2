using Xunit;

namespace Lore.StoreContract;

// The learning commit: one pass's lessons, snapshot, publication, run, audit, cursor and leases written together, or
// (when any part is refused) none of them.
public abstract partial class LoreStoreContract
{
    private static LearningCommit PassCommit(Snapshot snapshot, RolloutState before, string runId = "run-1", long cursor = 7, IReadOnlyList<EpisodeLease>? leases = null) => new()
    {
        Tenant = snapshot.Tenant,
        Lessons = snapshot.Lessons,
        LessonAudit = [NewDraft(1, snapshot.Tenant)],
        Snapshot = snapshot,
        SnapshotCreatedAudit = NewDraft(2, snapshot.Tenant, AuditActions.SnapshotCreated) with { Subject = snapshot.Id },
        Rollout = new RolloutChange(
            before with { StableSnapshotId = snapshot.Id, UpdatedBy = "learning" },
            before.Version,
            [NewDraft(3, snapshot.Tenant, AuditActions.SnapshotPromoted) with { Subject = snapshot.Id }]),
        Run = new LearningRun { Id = runId, Tenant = snapshot.Tenant, FinishedAt = T0, SnapshotId = snapshot.Id },
        Cursor = new StoreCursor($"learning:{snapshot.Tenant}", cursor),
        CompletedLeases = leases ?? [],
    };

    private static async Task<List<AuditEntry>> AuditOfAsync(ILoreStore store)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    [Fact]
    public async Task A_learning_commit_stores_lessons_snapshot_publication_run_audit_and_cursor_together()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);
        var before = await store.GetRolloutAsync(Tenants.Default, Ct);

        var result = await store.CommitLearningAsync(PassCommit(snapshot, before), Ct);

        Assert.True(result.SnapshotCreated);
        Assert.Equal((snapshot.Id, before.Version + 1), (result.Rollout!.StableSnapshotId, result.Rollout.Version));
        Assert.Equal(snapshot.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.True((await store.GetSnapshotAsync(snapshot.Id, Ct))!.IsIntact);
        Assert.Equal(snapshot.Lessons.Select(l => l.Id), (await store.ListLessonsAsync(new LessonQuery(), Ct)).Select(l => l.Id));
        Assert.Equal("run-1", Assert.Single(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct)).Id);
        Assert.Equal(7, await store.GetCursorAsync($"learning:{Tenants.Default}", Ct));
        var audit = await AuditOfAsync(store);
        Assert.Equal([AuditActions.LessonAdmitted, AuditActions.SnapshotCreated, AuditActions.SnapshotPromoted], audit.Select(e => e.Action));
        Assert.Equal(audit.Select(Canonical), result.Audit.Select(Canonical));
        Assert.All(audit, e => Assert.Equal(AuditChain.ComputeHash(e), e.Hash));
        Assert.All(audit.Skip(1).Zip(audit), pair => Assert.Equal(pair.Second.Hash, pair.First.PreviousHash));
    }

    [Fact]
    public async Task A_learning_commit_decided_on_a_stale_rollout_writes_nothing_at_all()
    {
        var store = await NewStoreAsync();
        var other = NewSnapshot(parentId: null, minute: 1, reason: "an operator's");
        await store.SaveSnapshotAsync(other, Ct);
        var before = await store.GetRolloutAsync(Tenants.Default, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, other.Id, Ct); // another host publishes meanwhile
        var auditBefore = await AuditOfAsync(store);
        var snapshot = NewSnapshot(parentId: null, minute: 2);

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitLearningAsync(PassCommit(snapshot, before), Ct));

        Assert.Contains(Tenants.Default, error.Message);
        Assert.Null(await store.GetSnapshotAsync(snapshot.Id, Ct));
        Assert.Empty(await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct));
        Assert.Empty(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct));
        Assert.Equal(0, await store.GetCursorAsync($"learning:{Tenants.Default}", Ct));
        Assert.Equal(auditBefore.Count, (await AuditOfAsync(store)).Count);
        Assert.Equal(other.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task A_learning_commit_whose_lease_went_to_another_worker_writes_nothing_and_completes_no_lease()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2));
        var mine = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 10, TimeSpan.Zero, Ct); // expired at once
        var theirs = await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 1, TimeSpan.FromMinutes(10), Ct);
        var snapshot = NewSnapshot(parentId: null);
        var before = await store.GetRolloutAsync(Tenants.Default, Ct);

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitLearningAsync(PassCommit(snapshot, before, leases: mine), Ct));

        Assert.Contains(theirs[0].EpisodeId, error.Message);
        Assert.Null(await store.GetSnapshotAsync(snapshot.Id, Ct));
        Assert.Empty(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct));
        Assert.Empty(await AuditOfAsync(store));

        // ep-2's lease (worker-a's, expired but never granted again) was not completed either: it is leased again.
        var again = await store.LeaseEpisodesAsync(Tenants.Default, "worker-c", 10, TimeSpan.FromMinutes(10), Ct);
        Assert.Equal(["ep-2"], again.Select(l => l.EpisodeId));
    }

    [Fact]
    public async Task A_learning_commit_completes_its_leases_so_the_episodes_are_never_leased_again()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Ended("ep-1", 1), Ended("ep-2", 2));
        var leases = await store.LeaseEpisodesAsync(Tenants.Default, "worker-a", 10, TimeSpan.Zero, Ct);
        var snapshot = NewSnapshot(parentId: null);

        await store.CommitLearningAsync(PassCommit(snapshot, await store.GetRolloutAsync(Tenants.Default, Ct), leases: leases) with { Cursor = null }, Ct);

        Assert.Empty(await store.LeaseEpisodesAsync(Tenants.Default, "worker-b", 10, TimeSpan.FromMinutes(10), Ct));
    }

    [Fact]
    public async Task A_learning_commit_of_a_snapshot_already_stored_does_not_record_its_creation_twice()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);
        await store.SaveSnapshotAsync(snapshot, Ct);
        var before = await store.GetRolloutAsync(Tenants.Default, Ct);

        var result = await store.CommitLearningAsync(PassCommit(snapshot, before), Ct);

        Assert.False(result.SnapshotCreated);
        Assert.Equal([AuditActions.LessonAdmitted, AuditActions.SnapshotPromoted], (await AuditOfAsync(store)).Select(e => e.Action));
    }

    [Fact]
    public async Task A_learning_commit_never_moves_a_cursor_backward()
    {
        var store = await NewStoreAsync();
        await store.SetCursorAsync($"learning:{Tenants.Default}", 50, Ct);
        var snapshot = NewSnapshot(parentId: null);

        await store.CommitLearningAsync(PassCommit(snapshot, await store.GetRolloutAsync(Tenants.Default, Ct), cursor: 7), Ct);

        Assert.Equal(50, await store.GetCursorAsync($"learning:{Tenants.Default}", Ct));
    }

    [Fact]
    public async Task A_learning_commit_with_a_part_of_another_tenant_is_refused_naming_it_and_writes_nothing()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);
        var commit = PassCommit(snapshot, await store.GetRolloutAsync(Tenants.Default, Ct)) with
        {
            Run = new LearningRun { Id = "run-foreign", Tenant = "acme", FinishedAt = T0 },
        };

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.CommitLearningAsync(commit, Ct));

        Assert.Contains("run-foreign", error.Message);
        Assert.Null(await store.GetSnapshotAsync(snapshot.Id, Ct));
        Assert.Empty(await AuditOfAsync(store));
    }

    [Fact]
    public async Task A_learning_commit_whose_decision_changes_nothing_still_checks_the_rollout_version_and_appends_its_audit()
    {
        var store = await NewStoreAsync();
        var snapshot = NewSnapshot(parentId: null);
        await store.SaveSnapshotAsync(snapshot, Ct);
        var before = await store.GetRolloutAsync(Tenants.Default, Ct);
        var gateFailed = new RolloutChange(null, before.Version, [NewDraft(4, action: AuditActions.CanaryGateFailed) with { Subject = snapshot.Id }]);

        var result = await store.CommitLearningAsync(new LearningCommit { Tenant = Tenants.Default, Rollout = gateFailed }, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);
        await Assert.ThrowsAsync<StoreConflictException>(() => store.CommitLearningAsync(new LearningCommit { Tenant = Tenants.Default, Rollout = gateFailed }, Ct));

        Assert.Null(result.Rollout);
        Assert.Equal([AuditActions.CanaryGateFailed], (await AuditOfAsync(store)).Select(e => e.Action));
    }
}
