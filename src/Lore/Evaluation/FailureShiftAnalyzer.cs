using Lore.Evaluation;

namespace Lore;

/// <summary>
/// Measures how the mix of failures moved between the arms of a rollout (see <see cref="FailureShift"/>): for each
/// failure mode, overall and per slice, the candidate's rate of episodes failing that way against the baseline's.
/// </summary>
/// <remarks>
/// <para>
/// A mode's rate is the mean of a 0/1 score per episode (1 when the episode failed in that mode), so each comparison is
/// the same two-sample mixture sequential probability ratio test, with the same cluster-robust variance over units, as
/// the success comparison of <see cref="RolloutEvaluator"/> (Johari, Pekelis and Walsh, "Always Valid Inference"),
/// with mixing spread <see cref="EvaluationPolicy.FailureModeSpread"/>. Its p-values stay valid however often they are
/// read, so the analysis may run after every episode. Each direction is tested one-sided at the full level of its test:
/// "grew" is acted on (it holds or rolls back the candidate), "shrank" is reported.
/// </para>
/// <para>
/// Multiplicity, by a plan fixed before the data: <see cref="EvaluationPolicy.FailureShiftAlpha"/> is split between
/// the periods of constant canary share as the success test's level is (<see cref="RolloutEvaluator.PeriodShare"/>),
/// then between modes: the severe modes and the first <see cref="EvaluationPolicy.ExpectedFailureModes"/> modes to
/// appear get <c>(1 - LateSliceReserve)/slots</c> each and the j-th later mode <c>LateSliceReserve/(j(j+1))</c>; then
/// each mode's part between the overall test and the slices exactly as the success test splits its level. The parts sum
/// to at most the level, so by the union bound the chance that any mode is ever reported grown (or shrunk) without a
/// real change is at most <see cref="EvaluationPolicy.FailureShiftAlpha"/>.
/// </para>
/// <para>
/// The distance between the arms' outcome distributions (success or one of the modes seen) is the total variation
/// distance <c>(sum_m |d_m| + |sum_m d_m|) / 2</c>, where d_m is mode m's rate difference (the success rate moves by
/// minus the sum). Its interval takes every overall d_m over its always-valid interval: those intervals hold together
/// with probability at least one minus the sum of their levels, which is the level reported.
/// </para>
/// </remarks>
public sealed class FailureShiftAnalyzer
{
    private readonly RolloutEvaluator _plan;
    private readonly double _alpha;
    private readonly double _spread;
    private readonly int _minimum;
    private readonly int _minimumUnits;
    private readonly int _expectedModes;
    private readonly double _lateReserve;
    private readonly HashSet<string> _severe;
    private readonly int _severeSlots;

    /// <summary>Copies and validates <paramref name="policy"/> (the defaults when null).</summary>
    public FailureShiftAnalyzer(EvaluationPolicy? policy = null)
    {
        policy ??= new EvaluationPolicy();
        policy.Validate();
        _plan = new RolloutEvaluator(policy);
        _alpha = policy.FailureShiftAlpha;
        _spread = policy.FailureModeSpread;
        _minimum = policy.MinimumEpisodesPerArm;
        _minimumUnits = policy.MinimumUnitsPerArm;
        _expectedModes = policy.ExpectedFailureModes;
        _lateReserve = policy.LateSliceReserve;
        _severeSlots = policy.SevereFailureModes.Count;
        _severe = new HashSet<string>(StringComparer.Ordinal);
        foreach (var entry in policy.SevereFailureModes)
        {
            var text = entry.Trim();
            _severe.Add(text.ToLowerInvariant());
            var normalised = FailureModes.Text(text);
            _severe.Add("category: " + normalised);
            _severe.Add("label: " + normalised);
            _severe.Add("reason: " + normalised);
        }
    }

    /// <summary>True when <paramref name="mode"/> is one the policy marks severe.</summary>
    public bool IsSevere(string mode) => _severe.Contains(mode);

    /// <summary>The shift the counts show so far.</summary>
    public FailureShift Analyze(FailureCounts counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.ModesInOrderSeen.Count == 0)
        {
            return FailureShift.Empty;
        }

        var periodAlpha = _alpha * _plan.PeriodShare(counts.Period);
        var sliceLevels = _plan.SliceLevels(counts.SlicesInOrderSeen, 1.0, out var overallShare, out _);
        var modeShares = ModeShares(counts.ModesInOrderSeen);
        var overall = new List<FailureModeShift>();
        var bySlice = new List<FailureModeShift>();
        foreach (var mode in counts.ModesInOrderSeen)
        {
            var index = counts.ModeIndex(mode);
            var modeAlpha = periodAlpha * modeShares[mode];
            overall.Add(Compare(counts, mode, index, SliceVerdict.Overall, 0, modeAlpha * overallShare));
            if (sliceLevels is null)
            {
                continue;
            }

            for (var s = 0; s < counts.SlicesInOrderSeen.Count; s++)
            {
                var slice = counts.SlicesInOrderSeen[s];
                bySlice.Add(Compare(counts, mode, index, slice, s + 1, modeAlpha * sliceLevels[slice]));
            }
        }

        // Total variation over success and the modes: success moves by minus the modes' total.
        double distance = 0, low = 0, high = 0, sumEffect = 0, sumLow = 0, sumHigh = 0, distanceAlpha = 0;
        foreach (var shift in overall)
        {
            var c = shift.Comparison;
            distance += Math.Abs(c.Effect);
            low += DistanceFromZero(c.IntervalLow, c.IntervalHigh);
            high += Math.Max(Math.Abs(c.IntervalLow), Math.Abs(c.IntervalHigh));
            sumEffect += c.Effect;
            sumLow += c.IntervalLow;
            sumHigh += c.IntervalHigh;
            distanceAlpha += c.Alpha;
        }

        distance = (distance + Math.Abs(sumEffect)) / 2;
        low = (low + DistanceFromZero(sumLow, sumHigh)) / 2;
        high = (high + Math.Max(Math.Abs(sumLow), Math.Abs(sumHigh))) / 2;
        var tests = counts.ModesInOrderSeen.Count * (sliceLevels is null ? 1 : 1 + counts.SlicesInOrderSeen.Count);
        return new FailureShift([.. overall, .. bySlice], distance, Math.Clamp(low, 0, 1), Math.Clamp(Math.Max(high, distance), 0, 1), Math.Min(1, distanceAlpha), tests);
    }

    /// <summary>Each seen mode's part of a period's level: severe and expected modes equal slots, later ones the reserve's 1/(j(j+1)).</summary>
    private Dictionary<string, double> ModeShares(IReadOnlyList<string> modes)
    {
        var slots = _severeSlots + _expectedModes;
        var primary = slots == 0 ? 0 : (1 - _lateReserve) / slots;
        var shares = new Dictionary<string, double>(StringComparer.Ordinal);
        int expected = 0, late = 0;
        foreach (var mode in modes)
        {
            if (_severe.Contains(mode))
            {
                shares[mode] = primary;
            }
            else if (expected < _expectedModes)
            {
                expected++;
                shares[mode] = primary;
            }
            else
            {
                late++;
                shares[mode] = _lateReserve / (late * (late + 1.0));
            }
        }

        return shares;
    }

    private FailureModeShift Compare(FailureCounts counts, string mode, int index, string slice, int scope, double level)
    {
        var baseline = counts.Outcomes(candidate: false, scope, index);
        var candidate = counts.Outcomes(candidate: true, scope, index);
        var isNew = baseline.SuccessSum == 0 && candidate.SuccessSum > 0;
        var severe = _severe.Contains(mode);
        if (baseline.Episodes == 0 || candidate.Episodes == 0 || level <= 0)
        {
            var none = new ArmComparison(baseline, candidate, candidate.Mean - baseline.Mean, -1, 1, 1, level, false, ComparisonVerdict.Inconclusive);
            return new FailureModeShift(mode, slice, none, isNew, severe, FailureModeChange.Inconclusive);
        }

        var enough = baseline.Episodes >= _minimum && candidate.Episodes >= _minimum && baseline.Units >= _minimumUnits && candidate.Units >= _minimumUnits;
        var estimate = MixtureSequentialTest.Difference(baseline, candidate);
        var result = MixtureSequentialTest.Test(estimate, _spread, level);

        // "Better" for the candidate's mean is a higher rate of this failure: growth.
        var pValue = estimate.Effect > 0 ? result.BetterPValue : result.WorsePValue;
        var change = !enough || pValue > level || estimate.Effect == 0 ? FailureModeChange.Inconclusive
            : estimate.Effect > 0 ? FailureModeChange.Grew
            : FailureModeChange.Shrank;
        var verdict = change switch
        {
            FailureModeChange.Grew => ComparisonVerdict.CandidateWorse,
            FailureModeChange.Shrank => ComparisonVerdict.CandidateBetter,
            _ => ComparisonVerdict.Inconclusive,
        };
        var comparison = new ArmComparison(baseline, candidate, estimate.Effect, result.Low, result.High, pValue, level, enough, verdict);
        return new FailureModeShift(mode, slice, comparison, isNew, severe, change);
    }

    private static double DistanceFromZero(double low, double high) => low > 0 ? low : high < 0 ? -high : 0;
}
