using Lore.Testing;
using Lore.Tests.Fakes;
using Xunit;

namespace Lore.Tests.Rollout;

/// <summary>The last step of learning: a new snapshot enters service the way the rollout policy says.</summary>
public sealed class PublicationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<RolloutScenario> OpenAsync(Action<LoreOptions>? configure = null)
    {
        var scenario = await RolloutScenario.OpenAsync(configure: o =>
        {
            o.Learning.Extractors.Add(new FixedLessonExtractor("confirm-address", "confirm-address-twice", LessonKind.Guideline, "Read the new address back to the customer before saving it.", "address"));
            configure?.Invoke(o);
        });
        for (var i = 0; i < 6; i++)
        {
            await scenario.RunAsync($"user-{i}", "change the shipping address", "shipping", Outcome.Success());
        }

        return scenario;
    }

    [Fact]
    public async Task Without_a_staged_rollout_learning_serves_its_snapshot_to_everyone_at_once_and_audits_it()
    {
        await using var scenario = await OpenAsync();

        var run = await scenario.Runtime.LearnAsync("learner", cancellationToken: Ct);

        Assert.NotNull(run.SnapshotId);
        Assert.Equal(run.SnapshotId, scenario.Runtime.CurrentSnapshot?.Id);
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((run.SnapshotId, (string?)null), (state.StableSnapshotId, state.CandidateSnapshotId));
        var audit = (await scenario.AuditAsync()).Where(e => e.Subject == run.SnapshotId).ToList();
        Assert.Equal([AuditActions.SnapshotCreated, AuditActions.SnapshotPromoted], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal("learner", e.Actor));
        Assert.Equal(scenario.Stable.Id, RolloutScenario.Details(audit[0]).GetProperty("parent").GetString());
    }

    [Theory]
    [InlineData(RolloutStage.Canary, 0.25)]
    [InlineData(RolloutStage.Shadow, 0.0)]
    public async Task With_a_staged_policy_learning_puts_its_snapshot_into_the_rollout_instead_of_serving_it(RolloutStage stage, double share)
    {
        await using var scenario = await OpenAsync(o =>
        {
            o.Rollout.EntryStage = stage;
            o.Rollout.CanaryShare = 0.25;
        });

        var run = await scenario.Runtime.LearnAsync("learner", cancellationToken: Ct);

        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Stable.Id, run.SnapshotId, stage, share), (state.StableSnapshotId, state.CandidateSnapshotId, state.Stage, state.CanaryShare));
        Assert.Equal(scenario.Stable.Id, scenario.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(run.SnapshotId, scenario.Runtime.Rollout.State.CandidateSnapshotId);
        var entry = (await scenario.AuditAsync())[^1];
        Assert.Equal(stage == RolloutStage.Canary ? AuditActions.SnapshotCanary : AuditActions.SnapshotShadow, entry.Action);
        Assert.Equal(run.SnapshotId, entry.Subject);
    }

    [Fact]
    public async Task A_frozen_tenant_keeps_learnings_snapshot_stored_but_out_of_service()
    {
        await using var scenario = await OpenAsync();
        await scenario.Runtime.Rollout.FreezeAsync("carol", "quiet period", Ct);

        var run = await scenario.Runtime.LearnAsync("learner", cancellationToken: Ct);

        Assert.NotNull(run.SnapshotId);
        Assert.NotNull(await scenario.Store.GetSnapshotAsync(run.SnapshotId, Ct));
        Assert.Equal(scenario.Stable.Id, scenario.Runtime.CurrentSnapshot?.Id);
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Stable.Id, (string?)null, true), (state.StableSnapshotId, state.CandidateSnapshotId, state.Frozen));
        Assert.Equal([AuditActions.Frozen, AuditActions.SnapshotCreated], (await scenario.AuditAsync()).Where(e => e.Action is not (AuditActions.LessonAdmitted or AuditActions.LessonQueuedForReview)).Select(e => e.Action));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_new_snapshot_waits_for_a_running_canary_unless_the_policy_replaces_it(bool replace)
    {
        await using var scenario = await OpenAsync(o =>
        {
            o.Rollout.EntryStage = RolloutStage.Canary;
            o.Rollout.ReplaceRunningCanary = replace;
        });
        await scenario.Runtime.Rollout.CanaryAsync(0.1, "alice", "running", scenario.Candidate.Id, Ct);

        var run = await scenario.Runtime.LearnAsync("learner", cancellationToken: Ct);

        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal(replace ? run.SnapshotId : scenario.Candidate.Id, state.CandidateSnapshotId);
        var last = (await scenario.AuditAsync())[^1];
        if (replace)
        {
            Assert.Equal(AuditActions.SnapshotCanary, last.Action);
            Assert.Equal(scenario.Candidate.Id, RolloutScenario.Details(last).GetProperty("replacedCandidate").GetString());
        }
        else
        {
            Assert.Equal(AuditActions.SnapshotCreated, last.Action);
        }
    }
}
