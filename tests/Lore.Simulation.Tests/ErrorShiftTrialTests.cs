using Lore.Simulation.ErrorShift;

namespace Lore.Simulation.Tests;

/// <summary>
/// The failure-mode shift analysis's guarantees on simulated canary traffic, checked by seeded simulation: with no
/// change, analysing every 20 episodes blocks a candidate no more often than the shift alpha (plus three Monte Carlo
/// standard errors); a new failure mode in 5% of the candidate's episodes is found, even when overall success improves.
/// </summary>
public sealed class ErrorShiftTrialTests
{
    [Fact]
    public void In_AA_runs_analysed_every_twenty_episodes_the_false_block_rate_stays_within_the_shift_alpha()
    {
        const int runs = 300;
        var policy = new EvaluationPolicy();
        var analyzer = new FailureShiftAnalyzer(policy);

        var blocked = Enumerable.Range(0, runs).Count(run => ErrorShiftTrial.Run(analyzer, seed: 70_000 + run, horizon: 5_000, look: 20, newModeRate: 0).AnyGrowth);

        var tolerance = 3 * Math.Sqrt(policy.FailureShiftAlpha * (1 - policy.FailureShiftAlpha) / runs);
        Assert.True(blocked <= runs * (policy.FailureShiftAlpha + tolerance), $"{blocked} of {runs} A/A candidates were blocked");
    }

    [Fact]
    public void A_new_failure_mode_in_five_percent_of_candidate_episodes_is_found_even_when_overall_success_improves()
    {
        const int runs = 60;
        var analyzer = new FailureShiftAnalyzer();

        var results = Enumerable.Range(0, runs).Select(run => ErrorShiftTrial.Run(analyzer, seed: 90_000 + run, horizon: 10_000, look: 20, newModeRate: 0.05, improvement: 0.4)).ToArray();

        Assert.True(results.Average(r => r.CandidateSuccess) > results.Average(r => r.BaselineSuccess) + 0.02, "the candidate succeeds more often overall");
        Assert.True(results.Count(r => r.DetectedAt is not null) >= runs * 0.95, $"found in {results.Count(r => r.DetectedAt is not null)} of {runs} runs");
    }
}
