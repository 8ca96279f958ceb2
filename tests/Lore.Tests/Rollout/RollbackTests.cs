using Lore.Sqlite;
using Xunit;

namespace Lore.Tests.Rollout;

public sealed class RollbackTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Rolling_back_to_the_previous_snapshot_restores_exactly_the_section_the_model_was_sent()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var (_, before) = await scenario.RunAsync("user-1");

        await scenario.Runtime.Rollout.CanaryAsync(1.0, "alice", "try it on everyone", scenario.Candidate.Id, Ct);
        var (_, inCanary) = await scenario.RunAsync("user-1");
        await scenario.Runtime.Rollout.PromoteAsync("alice", "looks good", Ct);
        var (_, promoted) = await scenario.RunAsync("user-1");
        var rollback = await scenario.Runtime.Rollout.RollbackAsync("bob", "refunds complain", scenario.Stable.Id, Ct);
        var (episode, after) = await scenario.RunAsync("user-1");

        Assert.NotNull(before);
        Assert.NotEqual(before, inCanary);
        Assert.Equal(inCanary, promoted);
        Assert.Equal(before, after);
        Assert.Equal(scenario.Stable.Id, episode.SnapshotId);
        Assert.Null(episode.Arm);
        Assert.Equal(scenario.Model.Requests[0].Select(m => m.Text), scenario.Model.Requests[^1].Select(m => m.Text));
        Assert.Equal(scenario.Stable.Id, rollback.After.StableSnapshotId);
        Assert.Equal(scenario.Stable.Id, await scenario.Store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Rolling_back_a_canary_serves_every_unit_the_stable_snapshot_at_once_and_is_audited()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(1.0, "alice", "everyone", scenario.Candidate.Id, Ct);

        var rollback = await scenario.Runtime.Rollout.RollbackAsync("bob", "refund slice regressed", cancellationToken: Ct);

        await using (var next = scenario.Runtime.BeginEpisode("refund an order", unitKey: "user-1"))
        {
            Assert.Equal(scenario.Stable.Id, next.SnapshotId);
            Assert.Null(next.Arm);
        }

        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Null(state.CandidateSnapshotId);
        Assert.Equal(RolloutStage.None, state.Stage);
        Assert.Equal(scenario.Stable.Id, state.StableSnapshotId);
        Assert.Equal("bob", state.UpdatedBy);
        var audit = await scenario.AuditAsync();
        var entry = Assert.Single(audit, e => e.Action == AuditActions.SnapshotRolledBack);
        Assert.Equal(rollback.Audit, entry);
        Assert.Equal(("bob", "refund slice regressed", scenario.Candidate.Id), (entry.Actor, entry.Reason, entry.Subject));
        var details = RolloutScenario.Details(entry);
        Assert.Equal(scenario.Candidate.Id, details.GetProperty("before").GetProperty("candidate").GetString());
        Assert.Equal(System.Text.Json.JsonValueKind.Null, details.GetProperty("after").GetProperty("candidate").ValueKind);
        Assert.Equal(["snapshot.canary", "snapshot.rolled-back"], audit.Where(e => e.Action.StartsWith("snapshot.", StringComparison.Ordinal)).Select(e => e.Action));
    }

    [Fact]
    public async Task Rollback_with_no_candidate_and_no_target_is_refused_and_changes_nothing()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var before = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);

        var error = await Assert.ThrowsAsync<RolloutRefusedException>(() => scenario.Runtime.Rollout.RollbackAsync("bob", "why not", cancellationToken: Ct));

        Assert.Contains("no candidate", error.Message, StringComparison.Ordinal);
        Assert.Equal(before, await scenario.Store.GetRolloutAsync(Tenants.Default, Ct));
        Assert.Empty(await scenario.AuditAsync());
    }

    [Fact]
    public async Task Rollback_to_an_unknown_snapshot_fails_naming_it_and_keeps_serving_the_candidate()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(1.0, "alice", "everyone", scenario.Candidate.Id, Ct);

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => scenario.Runtime.Rollout.RollbackAsync("bob", "typo", "snap-0000000000000000", Ct));

        Assert.Contains("snap-0000000000000000", error.Message, StringComparison.Ordinal);
        Assert.Equal(scenario.Candidate.Id, (await scenario.Store.GetRolloutAsync(Tenants.Default, Ct)).CandidateSnapshotId);
        Assert.Equal(scenario.Candidate.Id, scenario.Runtime.Rollout.State.CandidateSnapshotId);
        Assert.DoesNotContain(await scenario.AuditAsync(), e => e.Action == AuditActions.SnapshotRolledBack);
    }

    [Fact]
    public async Task A_frozen_tenant_refuses_promotion_rollback_and_new_candidates_until_unfrozen()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.2, "alice", "start", scenario.Candidate.Id, Ct);
        var frozen = await scenario.Runtime.Rollout.FreezeAsync("carol", "incident 42", Ct);

        var promote = await Assert.ThrowsAsync<RolloutRefusedException>(() => scenario.Runtime.Rollout.PromoteAsync("alice", "ship it", Ct));
        await Assert.ThrowsAsync<RolloutRefusedException>(() => scenario.Runtime.Rollout.RollbackAsync("alice", "undo", cancellationToken: Ct));
        await Assert.ThrowsAsync<RolloutRefusedException>(() => scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "grow", cancellationToken: Ct));
        var again = await scenario.Runtime.Rollout.FreezeAsync("carol", "still incident 42", Ct);
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);

        Assert.Contains("frozen", promote.Message, StringComparison.Ordinal);
        Assert.Contains("incident 42", promote.Message, StringComparison.Ordinal);
        Assert.False(again.Changed);
        Assert.Equal(frozen.After, state);
        Assert.Equal((scenario.Candidate.Id, 0.2, true), (state.CandidateSnapshotId, state.CanaryShare, state.Frozen));

        var unfrozen = await scenario.Runtime.Rollout.UnfreezeAsync("carol", "incident closed", Ct);
        var promoted = await scenario.Runtime.Rollout.PromoteAsync("alice", "ship it", Ct);

        Assert.False(unfrozen.After.Frozen);
        Assert.Equal(scenario.Candidate.Id, promoted.After.StableSnapshotId);
        Assert.Equal(
            [AuditActions.SnapshotCanary, AuditActions.Frozen, AuditActions.Unfrozen, AuditActions.SnapshotPromoted],
            (await scenario.AuditAsync()).Select(e => e.Action));
    }

    [Fact]
    public async Task Another_process_serves_a_rollback_from_its_next_refresh()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(1.0, "alice", "everyone", scenario.Candidate.Id, Ct);
        await using var other = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(scenario.Store.Location) }, Ct);
        Assert.Equal(scenario.Candidate.Id, other.Rollout.State.CandidateSnapshotId);

        // The operator acts from the command line: a controller on the store, serving nothing itself.
        await using var admin = SqliteLoreStore.Open(scenario.Store.Location);
        await new RolloutController(admin, Tenants.Default).RollbackAsync("cli:bob", "bad canary", cancellationToken: Ct);

        await using (var stale = other.BeginEpisode("refund an order", unitKey: "user-1"))
        {
            Assert.Equal(scenario.Candidate.Id, stale.SnapshotId);
        }

        await other.RefreshAsync(Ct);
        await using var fresh = other.BeginEpisode("refund an order", unitKey: "user-1");
        Assert.Equal(scenario.Stable.Id, fresh.SnapshotId);
        Assert.Null(fresh.Arm);
    }

    [Fact]
    public async Task Promotion_makes_the_candidate_stable_for_every_unit_and_is_audited()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.1, "alice", "start", scenario.Candidate.Id, Ct);

        var promoted = await scenario.Runtime.Rollout.PromoteAsync("alice", "canary healthy", Ct);

        Assert.Equal((scenario.Candidate.Id, (string?)null, RolloutStage.None), (promoted.After.StableSnapshotId, promoted.After.CandidateSnapshotId, promoted.After.Stage));
        Assert.Equal(scenario.Candidate.Id, scenario.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(scenario.Candidate.Id, await scenario.Store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        var entry = (await scenario.AuditAsync())[^1];
        Assert.Equal((AuditActions.SnapshotPromoted, scenario.Candidate.Id, "alice", "canary healthy"), (entry.Action, entry.Subject, entry.Actor, entry.Reason));
        Assert.Equal(scenario.Stable.Id, RolloutScenario.Details(entry).GetProperty("before").GetProperty("stable").GetString());
    }

    [Fact]
    public async Task A_candidate_must_differ_from_the_stable_snapshot()
    {
        await using var scenario = await RolloutScenario.OpenAsync();

        var error = await Assert.ThrowsAsync<RolloutRefusedException>(() => scenario.Runtime.Rollout.CanaryAsync(0.1, "alice", "oops", scenario.Stable.Id, Ct));

        Assert.Contains("already the stable snapshot", error.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => scenario.Runtime.Rollout.CanaryAsync(1.5, "alice", "too much", scenario.Candidate.Id, Ct));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(() => scenario.Runtime.Rollout.CanaryAsync(0, "alice", "nothing", scenario.Candidate.Id, Ct));
    }
}
