using System.Diagnostics;
using Lore.Simulation.ErrorShift;

namespace Lore.Benchmarks;

/// <summary>
/// The failure-mode shift analysis on simulated canary traffic (<see cref="ErrorShiftTrial"/>: units of 1-6 episodes,
/// two slices, half the units in the candidate arm, three established failure modes at 20% of episodes): how often an
/// A/A candidate is ever blocked when the analysis runs every 20 episodes, and how many episodes it takes to report a
/// new failure mode that takes 5% of the candidate's episodes while the candidate's overall success improves.
/// </summary>
internal static class ErrorShiftBench
{
    private const int Look = 20;

    public static Task RunAsync(BenchReport report, bool quick)
    {
        var policy = new EvaluationPolicy();
        var analyzer = new FailureShiftAnalyzer(policy);
        report.Section("Failure-mode shift (`error-shift`)");
        report.Line($"traffic: units of 1-6 episodes, 2 slices, candidate share 50%, 3 established modes (20% of episodes); policy: failure-shift alpha {BenchReport.N(policy.FailureShiftAlpha, "F2")}, "
            + $"mixture spread {BenchReport.N(policy.FailureModeSpread, "F2")}, {policy.ExpectedFailureModes} expected modes, minimum {policy.MinimumEpisodesPerArm} episodes from {policy.MinimumUnitsPerArm} units per arm; analysed every {Look} episodes.");
        report.Line("");
        report.Line("| scenario | runs x horizon | result | 95% interval |");
        report.Line("|---|---|---|---|");

        var watch = Stopwatch.StartNew();
        var aaRuns = quick ? 200 : 1000;
        const int aaHorizon = 10_000;
        var blocked = 0;
        for (var run = 0; run < aaRuns; run++)
        {
            blocked += ErrorShiftTrial.Run(analyzer, seed: 1_000_000 + run, aaHorizon, Look, newModeRate: 0).AnyGrowth ? 1 : 0;
        }

        var (low, high) = EvaluationBench.Wilson(blocked, aaRuns);
        report.Line($"| A/A (candidate fails exactly like the baseline): ever blocked (false block) | {aaRuns} x {aaHorizon:N0} | **{Percent(blocked, aaRuns)}** | {BenchReport.N(100 * low, "F1")}-{BenchReport.N(100 * high, "F1")}% |");

        var shiftRuns = quick ? 100 : 500;
        const int shiftHorizon = 20_000;
        foreach (var improvement in new[] { 0.0, 0.4 })
        {
            var detectedAt = new List<int>();
            double candidateSuccess = 0, baselineSuccess = 0;
            for (var run = 0; run < shiftRuns; run++)
            {
                var result = ErrorShiftTrial.Run(analyzer, seed: 2_000_000 + run, shiftHorizon, Look, newModeRate: 0.05, improvement);
                candidateSuccess += result.CandidateSuccess;
                baselineSuccess += result.BaselineSuccess;
                if (result.DetectedAt is { } at)
                {
                    detectedAt.Add(at);
                }
            }

            detectedAt.Sort();
            var (dLow, dHigh) = EvaluationBench.Wilson(detectedAt.Count, shiftRuns);
            var median = detectedAt.Count == 0 ? 0 : detectedAt[(detectedAt.Count - 1) / 2];
            var p90 = detectedAt.Count == 0 ? 0 : detectedAt[Math.Min(detectedAt.Count - 1, (int)Math.Ceiling(0.9 * detectedAt.Count) - 1)];
            var what = improvement == 0
                ? "new mode at 5% of candidate episodes, otherwise equal"
                : $"new mode at 5% of candidate episodes, established modes -{BenchReport.N(improvement * 100)}% (success {BenchReport.N(100 * candidateSuccess / shiftRuns, "F1")}% vs {BenchReport.N(100 * baselineSuccess / shiftRuns, "F1")}% baseline)";
            report.Line($"| {what}: detected | {shiftRuns} x {shiftHorizon:N0} | **{Percent(detectedAt.Count, shiftRuns)}**, median **{median:N0}** episodes (both arms) to detection, 90th percentile {p90:N0} | {BenchReport.N(100 * dLow, "F1")}-{BenchReport.N(100 * dHigh, "F1")}% |");
        }

        report.Line("");
        report.Line($"({watch.Elapsed.TotalSeconds:F0} s.)");
        return Task.CompletedTask;
    }

    private static string Percent(int part, int whole) => BenchReport.N(100.0 * part / whole, "F1") + "%";
}
