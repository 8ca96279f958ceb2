using System.Text.Json;
using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>
/// `lore demo --scenario shift`: on a real SQLite store, the candidate learned from the workplace raises overall success,
/// while the agent, following its "verify the identity first" lesson, breaks the gold-member rule on the account slice;
/// the rollout holds the candidate in canary and the <c>snapshot.failure-shift</c> audit entry carries the evidence.
/// </summary>
public sealed class FailureShiftScenarioTests
{
    /// <summary>The tenants the story runs in: <c>--scenario shift</c>'s, and the drift scenario's second chapter's.</summary>
    public static TheoryData<string> StoryTenants => [Tenants.Default, FailureShiftScenario.ChapterTenant(Tenants.Default)];

    [Theory]
    [MemberData(nameof(StoryTenants))]
    public async Task A_candidate_that_raises_success_while_a_new_failure_mode_appears_for_gold_members_is_held_with_the_evidence(string tenant)
    {
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        var options = new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")), Tenant = tenant };
        FailureShiftScenario.Configure(options);
        await using var runtime = await LoreRuntime.OpenAsync(options, ct);
        var report = await new WorkplaceSimulation(FailureShiftScenario.Simulation(seed: 42)).RunAsync(runtime, progress: null, ct);

        // The mechanism is the agent's: gold members' forbidden checks happen only where the verify lesson was injected.
        var violations = report.Episodes.Where(e => e.Reason.Contains("the automated identity check must not be run", StringComparison.Ordinal)).ToArray();
        Assert.NotEmpty(violations);
        Assert.All(violations, e => Assert.Equal(FailureShiftScenario.ShiftedSlice, e.Slice));
        Assert.All(violations, e => Assert.NotEmpty(e.InjectedLessonIds));
        Assert.Contains(report.Episodes, e => e.Slice == FailureShiftScenario.ShiftedSlice && e.Success && e.InjectedLessonIds.Count > 0 && e.ToolCalls.Contains("verify_identity"));

        // Held, not promoted: the audit entry names the new mode on the account slice, with the better overall success.
        var hold = report.FailureShiftHold;
        Assert.NotNull(hold);
        Assert.True(hold.CandidateSuccessRate > hold.BaselineSuccessRate, $"candidate {hold.CandidateSuccessRate} vs baseline {hold.BaselineSuccessRate}");
        var grown = Assert.Single(hold.Grown, g => g.Mode == FailureShiftScenario.NewMode && g.Slice == FailureShiftScenario.ShiftedSlice);
        Assert.True(grown.IsNew);
        Assert.Equal(0, grown.BaselineRate);
        Assert.True(grown.CandidateRate > 0);
        Assert.Contains("shifted errors", hold.Reason, StringComparison.Ordinal);
        Assert.DoesNotContain(report.ControlEvents, e => e.Action == AuditActions.SnapshotPromoted && e.Subject == hold.CandidateSnapshotId);
        var rollout = await runtime.Store.GetRolloutAsync(tenant, ct);
        Assert.Equal((RolloutStage.Canary, hold.CandidateSnapshotId), (rollout.Stage, rollout.CandidateSnapshotId));

        // The candidate's page and 'lore rollout status' state it in one sentence.
        var status = await RolloutStatus.ReadAsync(runtime.Store, tenant, options.Evaluation, ct);
        Assert.StartsWith("The candidate improved the target but shifted errors", status.Shift!.Verdict(status.Evaluation!.Overall.Comparison), StringComparison.Ordinal);
        Assert.Contains(status.Shift.Grown, g => g.Mode == FailureShiftScenario.NewMode);
    }
}
