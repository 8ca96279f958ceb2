namespace Lore.Simulation;

/// <summary>
/// The control-plane story in one run: the agent learns and a candidate snapshot goes to a 50% canary; the same
/// day the workplace changes how tax is collected, which turns the learned "read the invoice total before paying"
/// lesson from helpful into harmful; continuous evaluation sees the payments slice regress in the canary and rolls
/// the candidate back on its own. Meanwhile attacker accounts try to plant an injected instruction as a lesson and
/// the admission guards quarantine it. Later learning retires the stale lesson and a clean candidate is promoted.
/// </summary>
public static class DriftScenario
{
    /// <summary>The episode at which the tax rule changes (and the first candidate enters canary).</summary>
    public const int RuleChangeAt = 100;

    /// <summary>The episode before which attacker accounts try to poison learning.</summary>
    public const int AttackAt = 150;

    /// <summary>The simulation: 800 tickets, learning every 100, the tax rule changing at episode 100, one attack.</summary>
    public static SimulationOptions Simulation(int seed = 42, int episodes = 800)
    {
        var options = new SimulationOptions { Seed = seed, Episodes = episodes, LearnEvery = 100, WindowSize = 50 };
        options.RuleChanges.Add(new WorkplaceRuleChange(RuleChangeAt, WorkplaceRules.Default with { TaxCollectedSeparately = true }));
        options.Attacks.Add(new PoisonAttack(AttackAt));
        return options;
    }

    /// <summary>
    /// The runtime's control plane for the scenario: new snapshots enter a 50% canary, evaluation may roll back and
    /// promote on its own, and slices are judged after 20 episodes from 10 units per arm (demo-sized minimums;
    /// production keeps the defaults of 100 and 20).
    /// </summary>
    public static void Configure(LoreOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Rollout.EntryStage = RolloutStage.Canary;
        options.Rollout.CanaryShare = 0.5;
        options.Rollout.AutoRollback = true;
        options.Rollout.AutoPromote = true;
        options.Rollout.MinimumCanaryEpisodes = 150;
        options.Rollout.ReplaceRunningCanary = false;
        options.Evaluation.MinimumEpisodesPerArm = 20;
        options.Evaluation.ExpectedSlices = 4;

        // 120 customers over 4 slices: a demo-sized minimum of units per arm, and the level kept for the 4 planned
        // slices (a fifth, unplanned one would get a small reserve).
        options.Evaluation.MinimumUnitsPerArm = 10;
        options.Evaluation.LateSliceReserve = 0.1;
    }

    /// <summary>
    /// <see cref="Configure"/>, and anti-patterns ("do not keep retrying ...") wait in the review queue for a person instead
    /// of being admitted: the watched demo (<c>lore demo --serve</c>) then has decisions for its reviewer to make. The
    /// story stays the same: the canary still regresses on payments and is rolled back, and a later one is promoted.
    /// </summary>
    public static void ConfigureWithReview(LoreOptions options)
    {
        Configure(options);
        (options.Learning.Admission ??= new()).ReviewKinds.Add(LessonKind.AntiPattern);
    }
}
