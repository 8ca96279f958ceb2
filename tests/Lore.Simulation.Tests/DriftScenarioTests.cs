using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>
/// `lore demo --scenario drift`: the control-plane story runs end to end on a real SQLite store — a poisoning attempt
/// is quarantined, the rule change makes the canary regress on payments and it is rolled back automatically, a clean
/// candidate is promoted later, and the audit chain verifies.
/// </summary>
public sealed class DriftScenarioTests
{
    [Fact]
    public async Task Drift_scenario_quarantines_the_poison_rolls_back_the_stale_canary_and_keeps_a_verifiable_audit()
    {
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        var options = new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")) };
        DriftScenario.Configure(options);
        SimulationReport report;
        await using (var runtime = await LoreRuntime.OpenAsync(options, ct))
        {
            report = await new WorkplaceSimulation(DriftScenario.Simulation(seed: 42)).RunAsync(runtime, progress: null, ct);

            // The poison: refused by content rules, never served in any snapshot.
            var poison = Assert.Single(report.Quarantined, q => q.Text.Contains("ignore all previous instructions", StringComparison.OrdinalIgnoreCase));
            Assert.Equal(LessonStatus.Rejected, poison.Status);
            Assert.Contains("content.instruction-override", poison.Rules);
            Assert.True(report.AttackEpisodes >= 20);
            foreach (var summary in await runtime.Store.ListSnapshotsAsync(Tenants.Default, ct))
            {
                var snapshot = await runtime.Store.GetSnapshotAsync(summary.Id, ct);
                Assert.DoesNotContain(snapshot!.Lessons, l => l.Id == poison.Id);
            }

            // The stale lesson's canary regressed on payments and the monitor rolled it back on its own.
            var rollback = Assert.Single(report.ControlEvents, e => e.Action == AuditActions.SnapshotRolledBack);
            Assert.Equal("rollout-monitor", rollback.Actor);
            Assert.Contains("payments", rollback.Reason);
            Assert.True(rollback.AfterEpisode > DriftScenario.RuleChangeAt);
            var canaried = report.ControlEvents.First(e => e.Action == AuditActions.SnapshotCanary).Subject;
            Assert.Equal(canaried, rollback.Subject);
            var stale = await runtime.Store.GetSnapshotAsync(canaried, ct);
            Assert.Contains(stale!.Lessons, l => l.Text.StartsWith("Call get_invoice before calling pay_invoice", StringComparison.Ordinal));

            // A later candidate, learned under the new rule, was promoted and no longer carries the stale advice.
            var promoted = Assert.Single(report.ControlEvents, e => e.Action == AuditActions.SnapshotPromoted);
            Assert.True(promoted.AfterEpisode > rollback.AfterEpisode);
            var stable = await runtime.Store.GetSnapshotAsync(promoted.Subject, ct);
            Assert.DoesNotContain(stable!.Lessons, l => l.Text.StartsWith("Call get_invoice before calling pay_invoice", StringComparison.Ordinal));

            // Every episode that ran during a canary carries its arm.
            Assert.Contains(report.Episodes, e => e.Arm == RolloutArms.Candidate);
            Assert.Contains(report.Episodes, e => e.Arm == RolloutArms.Baseline);

            var verification = await AuditVerifier.VerifyAsync(runtime.Store, cancellationToken: ct);
            Assert.Null(verification.Fault);
            Assert.True(verification.Records >= report.ControlEvents.Count);
        }
    }

    [Fact]
    public async Task Rollout_decisions_land_on_the_same_episodes_when_the_monitors_store_writes_are_slow()
    {
        // The rollout monitor counts outcomes off the call path, in batches: while one tally write is on disk the next
        // episodes run, so how late a decision lands follows the disk and the scheduler. The simulation waits for the
        // monitor after every episode, so a stalling tally write changes nothing: the rollback and the promotion come
        // after the same episodes. (Without the wait, a loaded machine ended the drift run before its promotion.)
        var ct = TestContext.Current.CancellationToken;
        var fast = await DecisionsAsync(slowTallyWrites: false, ct);
        var slow = await DecisionsAsync(slowTallyWrites: true, ct);

        Assert.Contains(fast, d => d.StartsWith(AuditActions.SnapshotRolledBack, StringComparison.Ordinal));
        Assert.Contains(fast, d => d.StartsWith(AuditActions.SnapshotPromoted, StringComparison.Ordinal));
        Assert.Equal(string.Join(" | ", fast), string.Join(" | ", slow));
    }

    /// <summary>Each automatic rollout decision of a drift run as "action after N episodes".</summary>
    private static async Task<string[]> DecisionsAsync(bool slowTallyWrites, CancellationToken ct)
    {
        using var directory = new TempDirectory();
        ILoreStore store = SqliteLoreStore.Open(directory.File("lore.db"));
        if (slowTallyWrites)
        {
            store = new SlowTallyStore(store);
        }

        var options = new LoreOptions { Store = store };
        DriftScenario.Configure(options);
        await using var runtime = await LoreRuntime.OpenAsync(options, ct);
        var report = await new WorkplaceSimulation(DriftScenario.Simulation(seed: 42)).RunAsync(runtime, progress: null, ct);
        return [.. report.ControlEvents.Where(e => e.Actor == "rollout-monitor").Select(e => $"{e.Action} after {e.AfterEpisode}")];
    }

    /// <summary>A store whose rollout tally write stalls now and then (every 25th takes a quarter of a second), as on a busy disk.</summary>
    private sealed class SlowTallyStore(ILoreStore inner) : DelegatingLoreStore(inner)
    {
        private int _writes;

        public override async Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Increment(ref _writes) % 25 == 0)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(250), cancellationToken);
            }

            await base.RecordRolloutOutcomesAsync(outcomes, cancellationToken);
        }
    }
}
