namespace Lore.Simulation.ErrorShift;

/// <summary>
/// Simulated canary traffic for the failure-mode shift analysis (seeded, through the real <see cref="FailureCounts"/>
/// and <see cref="FailureShiftAnalyzer"/>, no store): units of 1-6 episodes on two slices, half of them in the
/// candidate arm, failing in three established modes. In an A/A trial the candidate fails exactly like the baseline;
/// in a shift trial it fails less often in the established modes (better overall success) while a new mode appears
/// on one slice. Used by the <c>error-shift</c> benchmark and the statistical tests.
/// </summary>
internal static class ErrorShiftTrial
{
    /// <summary>The mode the shift trial introduces.</summary>
    public const string NewMode = "category: refund without approval";

    private static readonly string[] Slices = ["billing", "refunds"];

    /// <summary>The established modes and their rate per episode in both arms (20% failures in all).</summary>
    private static readonly (string Mode, double Rate)[] Established =
    [
        ("tool lookup_order: order <id> not found", 0.10),
        ("after transfer_to_human", 0.06),
        (FailureModes.NoToolError, 0.04),
    ];

    /// <summary>What one trial saw: the episodes at the first look where the new mode (shift) or any mode (A/A) grew, or null.</summary>
    /// <param name="DetectedAt">Episodes (both arms) when the growth was first reported; null when it never was within the horizon.</param>
    /// <param name="AnyGrowth">Whether any mode was ever reported grown (in an A/A trial, a false block).</param>
    /// <param name="CandidateSuccess">The candidate's success rate at the end.</param>
    /// <param name="BaselineSuccess">The baseline's success rate at the end.</param>
    public sealed record Result(int? DetectedAt, bool AnyGrowth, double CandidateSuccess, double BaselineSuccess);

    /// <summary>
    /// Runs one trial of <paramref name="horizon"/> episodes, analysing every <paramref name="look"/> episodes. With
    /// <paramref name="newModeRate"/> &gt; 0 the candidate fails in <see cref="NewMode"/> in that share of its episodes
    /// and its established modes drop by <paramref name="improvement"/> of their rate.
    /// </summary>
    public static Result Run(FailureShiftAnalyzer analyzer, int seed, int horizon, int look, double newModeRate, double improvement = 0)
    {
        ArgumentNullException.ThrowIfNull(analyzer);
        var random = new Random(seed);
        var counts = new FailureCounts();
        int unit = 0, left = 0;
        var candidate = false;
        var slice = Slices[0];
        int[] episodes = [0, 0], successes = [0, 0];
        for (var i = 1; i <= horizon; i++)
        {
            if (left == 0)
            {
                unit++;
                left = random.Next(1, 7);
                candidate = random.NextDouble() < 0.5;
                slice = Slices[random.Next(Slices.Length)];
            }

            left--;
            var mode = Draw(random, candidate ? newModeRate : 0, candidate ? 1 - improvement : 1);
            counts.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, slice, "u" + unit, mode);
            var arm = candidate ? 1 : 0;
            episodes[arm]++;
            successes[arm] += mode is null ? 1 : 0;
            if (i % look != 0)
            {
                continue;
            }

            var shift = analyzer.Analyze(counts);
            var grown = shift.Grown;
            if (grown.Count > 0 && (newModeRate == 0 || grown.Any(g => g.Mode == NewMode)))
            {
                return new Result(i, true, Rate(successes[1], episodes[1]), Rate(successes[0], episodes[0]));
            }
        }

        return new Result(null, false, Rate(successes[1], episodes[1]), Rate(successes[0], episodes[0]));
    }

    private static string? Draw(Random random, double newModeRate, double scale)
    {
        var u = random.NextDouble();
        if (u < newModeRate)
        {
            return NewMode;
        }

        u -= newModeRate;
        foreach (var (mode, rate) in Established)
        {
            if (u < rate * scale)
            {
                return mode;
            }

            u -= rate * scale;
        }

        return null;
    }

    private static double Rate(int part, int whole) => whole == 0 ? 0 : (double)part / whole;
}
