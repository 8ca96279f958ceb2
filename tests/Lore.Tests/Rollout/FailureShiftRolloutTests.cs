using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Rollout;

/// <summary>
/// The rollout rule of failure modes, end to end through the runtime and the shared tally: a candidate that raises
/// overall success while a new kind of failure appears is held from promotion (or, for a severe mode, rolled back),
/// and the audit log carries the evidence.
/// </summary>
public sealed class FailureShiftRolloutTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Runs the canary until the audit log holds <paramref name="action"/> or 4,000 episodes: the baseline succeeds 75%
    /// of the time (failures: order not found), the candidate 85%, but 6% of its episodes fail issuing a refund
    /// without approval.
    /// </summary>
    private static async Task<(RolloutScenario Scenario, AuditEntry? Entry, int Episodes)> RunAsync(string action, Action<LoreOptions> configure, int atLeast = 0)
    {
        AuditEntry? found = null;
        var scenario = await RolloutScenario.OpenAsync(configure: configure);
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        var random = new Random(11);
        for (var i = 1; i <= 4_000; i++)
        {
            var episode = scenario.Runtime.BeginEpisode(RolloutScenario.RefundTask, new() { ["slice"] = i % 2 == 0 ? "refunds" : "billing" }, $"user-{random.Next(100_000)}");
            await using (episode)
            {
                await scenario.Client.GetResponseAsync([new ChatMessage(ChatRole.User, RolloutScenario.RefundTask)], cancellationToken: Ct);
                var u = random.NextDouble();
                var outcome = episode.Arm == RolloutArms.Candidate
                    ? u < 0.06 ? new Outcome(0, OutcomeSource.Environment) { Category = "refund_without_approval", Reason = $"refunded order {i}" }
                        : u < 0.15 ? new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" }
                        : Outcome.Success()
                    : u < 0.25 ? new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" } : Outcome.Success();
                await episode.CompleteAsync(outcome, Ct);
            }

            if (i % 50 == 0)
            {
                await scenario.Runtime.Monitor.WhenIdleAsync();
                found ??= (await scenario.AuditAsync()).LastOrDefault(e => e.Action == action);
                if (found is not null && i >= atLeast)
                {
                    return (scenario, found, i);
                }
            }
        }

        return (scenario, found, 4_000);
    }

    [Fact]
    public async Task A_candidate_with_better_success_but_a_new_failure_mode_is_held_from_promotion_with_the_evidence_audited()
    {
        // Promotion would be allowed from 1,500 judged canary episodes; the run goes on to 2,500 to show it never comes.
        var (scenario, entry, episodes) = await RunAsync(
            AuditActions.FailureShiftDetected,
            options =>
            {
                options.Rollout.AutoPromote = true;
                options.Rollout.MinimumCanaryEpisodes = 1_500;
            },
            atLeast: 2_500);
        await using var _ = scenario;

        Assert.True(entry is not null, $"no failure shift was audited in {episodes} episodes: {scenario.Runtime.Monitor.LastDecision?.Reason}");
        Assert.Equal(("rollout-monitor", scenario.Candidate.Id), (entry.Actor, entry.Subject));
        Assert.Contains("refund without approval", entry.Reason, StringComparison.Ordinal);
        var grown = RolloutScenario.Details(entry).GetProperty("evidence").GetProperty("failureShift").GetProperty("grown")[0];
        Assert.Equal("category: refund without approval", grown.GetProperty("mode").GetString());
        Assert.True(grown.GetProperty("isNew").GetBoolean());
        Assert.InRange(grown.GetProperty("effect").GetDouble(), 0.02, 0.12);
        Assert.True(grown.GetProperty("intervalHigh").GetDouble() > grown.GetProperty("effect").GetDouble());
        Assert.True(grown.GetProperty("pValue").GetDouble() <= grown.GetProperty("alpha").GetDouble());

        // Held: still in canary, never promoted, even after more traffic.
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((RolloutStage.Canary, scenario.Candidate.Id), (state.Stage, state.CandidateSnapshotId));
        Assert.DoesNotContain(await scenario.AuditAsync(), e => e.Action == AuditActions.SnapshotPromoted);
        var status = await RolloutStatus.ReadAsync(scenario.Store, Tenants.Default, new EvaluationPolicy(), Ct);
        Assert.Equal(ComparisonVerdict.CandidateBetter, status.Evaluation!.Overall.Verdict);
        Assert.Contains(status.Shift!.Grown, g => g.Mode == "category: refund without approval");
        Assert.StartsWith("The candidate improved the target but shifted errors", status.Shift.Verdict(status.Evaluation.Overall.Comparison), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_growth_of_a_mode_marked_severe_rolls_the_candidate_back_with_the_mode_in_the_audit_entry()
    {
        var (scenario, entry, episodes) = await RunAsync(AuditActions.SnapshotRolledBack, options => options.Evaluation.SevereFailureModes.Add("refund_without_approval"));
        await using var _ = scenario;

        Assert.True(entry is not null, $"no rollback in {episodes} episodes: {scenario.Runtime.Monitor.LastDecision?.Reason}");
        Assert.Contains("severe", entry.Reason, StringComparison.Ordinal);
        var shift = RolloutScenario.Details(entry).GetProperty("evidence").GetProperty("failureShift");
        Assert.True(shift.GetProperty("grown")[0].GetProperty("severe").GetBoolean());
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Stable.Id, (string?)null), (state.StableSnapshotId, state.CandidateSnapshotId));
    }
}
