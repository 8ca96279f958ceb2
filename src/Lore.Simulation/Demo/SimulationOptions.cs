namespace Lore.Simulation;

/// <summary>From episode <see cref="AtEpisode"/> (0-based) on, the workplace runs under <see cref="Rules"/>.</summary>
public sealed record WorkplaceRuleChange(int AtEpisode, WorkplaceRules Rules);

/// <summary>
/// What a <see cref="WorkplaceSimulation"/> runs: how many episodes, how often Lore learns, how results are grouped,
/// and the workplace and agent it simulates. The defaults are the ones <c>lore demo</c> shows.
/// </summary>
public sealed class SimulationOptions
{
    /// <summary>Seeds the workplace (customers, tickets) and the agent's mistakes; the same seed gives the same run.</summary>
    public int Seed { get; set; } = 42;

    /// <summary>How many tickets the run works, one episode each.</summary>
    public int Episodes { get; set; } = 400;

    /// <summary>Run a learning pass after every this many episodes (0: never learn, a pure baseline).</summary>
    public int LearnEvery { get; set; } = 50;

    /// <summary>Episodes per reported window of the learning curve.</summary>
    public int WindowSize { get; set; } = 50;

    /// <summary>Distinct customers tickets are drawn for; each is one evidence source (unit key).</summary>
    public int Customers { get; set; } = 120;

    /// <summary>The simulated agent's mistake rates; raise them to see more for Lore to learn.</summary>
    public SimulatedAgentProfile Agent { get; set; } = SimulatedAgentProfile.Default;

    /// <summary>The hidden rules at the start.</summary>
    public WorkplaceRules Rules { get; set; } = WorkplaceRules.Default;

    /// <summary>Rule changes during the run (for example a rule dropped midway, making a learned lesson stale).</summary>
    public IList<WorkplaceRuleChange> RuleChanges { get; } = [];

    /// <summary>Poisoning attempts made by attacker accounts during the run (their episodes are extra, not counted in <see cref="Episodes"/>).</summary>
    public IList<PoisonAttack> Attacks { get; } = [];

    /// <summary>Call the agent through the streaming API instead of the buffered one (exercises streaming capture).</summary>
    public bool Streaming { get; set; }

    /// <summary>
    /// Pause for <see cref="Pause"/> after every this many episodes (0: never), so that a person can watch the run,
    /// for example on the dashboard of <c>lore demo --serve</c>.
    /// </summary>
    public int PaceEvery { get; set; }

    /// <summary>How long each pause of <see cref="PaceEvery"/> lasts.</summary>
    public TimeSpan Pause { get; set; }

    /// <summary>Throws naming the first option that is out of range.</summary>
    public SimulationOptions Validate()
    {
        if (Episodes < 1) throw new ArgumentOutOfRangeException(nameof(Episodes), Episodes, "Episodes must be at least 1.");
        if (LearnEvery < 0) throw new ArgumentOutOfRangeException(nameof(LearnEvery), LearnEvery, "LearnEvery must be 0 (never) or more.");
        if (WindowSize < 1) throw new ArgumentOutOfRangeException(nameof(WindowSize), WindowSize, "WindowSize must be at least 1.");
        if (Customers is < 2 or > 9999) throw new ArgumentOutOfRangeException(nameof(Customers), Customers, "Customers must be between 2 and 9999.");
        if (PaceEvery < 0) throw new ArgumentOutOfRangeException(nameof(PaceEvery), PaceEvery, "PaceEvery must be 0 (never pause) or more.");
        if (Pause < TimeSpan.Zero || Pause > TimeSpan.FromMinutes(10)) throw new ArgumentOutOfRangeException(nameof(Pause), Pause, "Pause must lie between zero and ten minutes.");
        ArgumentNullException.ThrowIfNull(Agent, nameof(Agent));
        ArgumentNullException.ThrowIfNull(Rules, nameof(Rules));
        Agent.Validate();
        foreach (var change in RuleChanges)
        {
            if (change is null || change.Rules is null || change.AtEpisode < 0)
            {
                throw new ArgumentException("Every rule change needs rules and an episode index of 0 or more.", nameof(RuleChanges));
            }
        }

        foreach (var attack in Attacks)
        {
            if (attack is null || attack.AtEpisode < 0 || attack.Units < 1 || attack.EpisodesPerUnit < 1)
            {
                throw new ArgumentException("Every attack needs an episode index of 0 or more and at least one unit and episode.", nameof(Attacks));
            }
        }

        return this;
    }

    /// <summary>The rules in force for episode <paramref name="index"/>.</summary>
    public WorkplaceRules RulesAt(int index)
        => RuleChanges.Where(c => c.AtEpisode <= index).OrderBy(c => c.AtEpisode).LastOrDefault()?.Rules ?? Rules;
}
