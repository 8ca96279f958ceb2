namespace Lore.Simulation;

/// <summary>
/// Improved, or merely shifted the errors? The workplace requires an identity check before an address change, except
/// for gold-tier members: their account manager verifies them and the automated check on them is forbidden. The agent
/// has never run the check on its own. Learning finds "call verify_identity before update_address" (with the refund and
/// invoice lessons), which lifts overall success in the canary; but the agent follows it for gold members too, so a new
/// failure mode (the forbidden check) appears on the account slice, judged by the workplace's own rule. The rollout
/// holds the candidate in canary instead of promoting it and audits the evidence (<c>snapshot.failure-shift</c>).
/// </summary>
public static class FailureShiftScenario
{
    /// <summary>How many tickets the scenario works by default.</summary>
    public const int Episodes = 800;

    /// <summary>The slice on which the new failure mode appears.</summary>
    public const string ShiftedSlice = WorkplaceSlices.Account;

    /// <summary>The failure mode the candidate's lesson brings: the workplace's category for the forbidden check.</summary>
    public const string NewMode = "category: " + WorkplaceVerdict.GoldMemberCheckedAutomatically;

    /// <summary>
    /// The simulation: learning every 100 tickets from 1,000 customers (the tests are per customer, so more customers
    /// give the canary more independent units), the gold-member rule in force from the start, and an agent that never
    /// runs the identity check unless a lesson tells it to.
    /// </summary>
    public static SimulationOptions Simulation(int seed = 42, int episodes = Episodes)
        => new()
        {
            Seed = seed,
            Episodes = episodes,
            LearnEvery = 100,
            WindowSize = 50,
            Customers = 1000,
            Rules = WorkplaceRules.Default with { GoldMembersVerifiedByAccountManager = true },
            Agent = SimulatedAgentProfile.Default with { SkipIdentityCheck = 1 },
        };

    /// <summary>
    /// The tenant in which <c>lore demo --scenario drift</c> runs this story as its second chapter, beside the drift
    /// chapter's <paramref name="tenant"/> in the same store (its own workplace rule and rollout, starting clean). Arms
    /// are assigned by hashing tenant and unit, so its figures differ a little from those of the same seed in
    /// <paramref name="tenant"/> itself; the hold does not.
    /// </summary>
    public static string ChapterTenant(string tenant) => tenant + "-shift";

    /// <summary>
    /// The control plane of <see cref="DriftScenario.Configure"/> (a 50% canary, automatic promotion and rollback), with
    /// promotion allowed only after 500 judged canary episodes, so that the failure-mode analysis has the traffic to
    /// see the new mode before success alone could promote the candidate.
    /// </summary>
    public static void Configure(LoreOptions options)
    {
        DriftScenario.Configure(options);
        options.Rollout.MinimumCanaryEpisodes = 500;
    }
}
