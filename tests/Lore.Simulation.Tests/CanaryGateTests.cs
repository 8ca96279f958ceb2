using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>A rollout policy can require an offline evaluation to pass before learning's snapshot enters canary.</summary>
public sealed class CanaryGateTests
{
    private static async Task<(RolloutState State, IReadOnlyList<AuditEntry> Audit)> LearnWithGateAsync(WorkplaceRules replayRules, CancellationToken ct)
    {
        using var directory = new TempDirectory();
        var options = new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")) };
        options.Rollout.EntryStage = RolloutStage.Canary;
        options.Rollout.CanaryShare = 0.2;
        options.Rollout.CanaryGate = OfflineEvaluation.CanaryGate(new SimulatedEvaluationRunner(seed: 1042, tasks: 200, rules: replayRules));
        await using var runtime = await LoreRuntime.OpenAsync(options, ct);
        await new WorkplaceSimulation(new SimulationOptions { Seed = 42, Episodes = 100, LearnEvery = 100 }).RunAsync(runtime, progress: null, ct);
        var audit = new List<AuditEntry>();
        await foreach (var entry in runtime.Store.ReadAuditAsync(0, ct))
        {
            audit.Add(entry);
        }

        return (await runtime.Store.GetRolloutAsync(Tenants.Default, ct), audit);
    }

    [Fact]
    public async Task A_snapshot_that_passes_the_offline_replay_enters_canary()
    {
        var (state, audit) = await LearnWithGateAsync(WorkplaceRules.Default, TestContext.Current.CancellationToken);

        Assert.Equal(RolloutStage.Canary, state.Stage);
        Assert.NotNull(state.CandidateSnapshotId);
        var passed = Assert.Single(audit, e => e.Action == AuditActions.CanaryGatePassed);
        Assert.Equal(state.CandidateSnapshotId, passed.Subject);
        Assert.Contains(audit, e => e.Action == AuditActions.SnapshotCanary && e.Sequence > passed.Sequence);
    }

    [Fact]
    public async Task A_snapshot_that_regresses_a_slice_offline_stays_out_of_rollout_with_the_reason_audited()
    {
        // The replay runs under the changed tax rule, so the learned invoice lesson now hurts payments.
        var (state, audit) = await LearnWithGateAsync(WorkplaceRules.Default with { TaxCollectedSeparately = true }, TestContext.Current.CancellationToken);

        Assert.Equal(RolloutStage.None, state.Stage);
        Assert.Null(state.CandidateSnapshotId);
        var failed = Assert.Single(audit, e => e.Action == AuditActions.CanaryGateFailed);
        Assert.Contains("payments", failed.Reason);
        Assert.DoesNotContain(audit, e => e.Action == AuditActions.SnapshotCanary);
    }
}
