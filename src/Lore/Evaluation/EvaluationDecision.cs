using System.Globalization;
using System.Text.Json.Serialization;

namespace Lore;

/// <summary>Which way the evidence points, once it is strong enough to say.</summary>
public enum ComparisonVerdict
{
    /// <summary>Not enough data, or no difference the test can tell from chance yet.</summary>
    Inconclusive,

    /// <summary>The candidate's success rate is significantly below the baseline's.</summary>
    CandidateWorse,

    /// <summary>The candidate's success rate is significantly above the baseline's.</summary>
    CandidateBetter,
}

/// <summary>
/// The always-valid comparison of the two arms on one population: the evidence an operator or the audit log needs to
/// see why the control plane acted (counts, effect, interval, p-value and the level they were judged at).
/// </summary>
/// <param name="Baseline">The baseline arm's outcomes.</param>
/// <param name="Candidate">The candidate arm's outcomes.</param>
/// <param name="Effect">The candidate's success rate minus the baseline's (0 when an arm has no episodes).</param>
/// <param name="IntervalLow">Low end of the always-valid confidence interval for the difference, at level <paramref name="Alpha"/>.</param>
/// <param name="IntervalHigh">High end of that interval.</param>
/// <param name="PValue">The always-valid one-sided p-value in the direction of the effect ("worse" when it is negative, "better" otherwise): valid whenever it is read, however often it has been looked at.</param>
/// <param name="Alpha">The level this comparison was judged at, after the correction for testing several slices.</param>
/// <param name="HasEnoughData">Whether both arms reached the minimum episodes and units; without it the verdict is inconclusive.</param>
/// <param name="Verdict">The direction, when the interval excludes 0 and there is enough data.</param>
public sealed record ArmComparison(
    ArmOutcomes Baseline,
    ArmOutcomes Candidate,
    double Effect,
    double IntervalLow,
    double IntervalHigh,
    double PValue,
    double Alpha,
    bool HasEnoughData,
    ComparisonVerdict Verdict)
{
    /// <summary>A one-line account of the evidence, e.g. "0.702 vs 0.801 baseline (-0.099, 98.3% interval [-0.180, -0.018], p = 0.0041; 512 vs 498 episodes)".</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"{Candidate.Mean:0.000} vs {Baseline.Mean:0.000} baseline ({Effect:+0.000;-0.000;0.000}, {(1 - Alpha) * 100:0.##}% interval [{IntervalLow:0.000}, {IntervalHigh:0.000}], one-sided p = {PValue:0.####}; {Candidate.Episodes} vs {Baseline.Episodes} episodes from {Candidate.Units} vs {Baseline.Units} units)");
    }
}

/// <summary>The comparison on one slice (or, named <see cref="Overall"/>, on the whole population).</summary>
public sealed record SliceVerdict(string Slice, ArmComparison Comparison)
{
    /// <summary>The name the whole population goes by; no slice may use it.</summary>
    public const string Overall = "(all)";

    /// <summary>The comparison's verdict on this slice, lifted out for callers that only need the decision.</summary>
    [JsonIgnore]
    public ComparisonVerdict Verdict => Comparison.Verdict;
}

/// <summary>What continuous evaluation recommends for the candidate now.</summary>
public enum EvaluationAction
{
    /// <summary>Keep the rollout as it is and keep watching.</summary>
    Continue,

    /// <summary>The candidate is significantly worse overall or on a slice with enough data.</summary>
    Rollback,

    /// <summary>The candidate is significantly better overall and worse nowhere; whether to act is the rollout policy's call.</summary>
    Promote,
}

/// <summary>
/// A decision with its reason and evidence, ready for the audit log: what to do, why in one sentence, and every
/// comparison behind it.
/// </summary>
/// <param name="Action">What to do.</param>
/// <param name="Reason">One sentence naming the slice, the effect and the evidence that decided it.</param>
/// <param name="Overall">The comparison on the whole population (the primary metric).</param>
/// <param name="Slices">Each slice's comparison, in ordinal order of slice names.</param>
/// <param name="Evidence">The comparisons that decided the action, most significant first: every regression for a rollback, the overall improvement for a promotion, none to continue.</param>
/// <param name="TestCount">How many tests the family-wise error was split between (the overall test and one per slice).</param>
public sealed record EvaluationDecision(
    EvaluationAction Action,
    string Reason,
    SliceVerdict Overall,
    IReadOnlyList<SliceVerdict> Slices,
    IReadOnlyList<SliceVerdict> Evidence,
    int TestCount);
