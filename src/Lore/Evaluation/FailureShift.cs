using System.Globalization;
using System.Text.Json.Serialization;

namespace Lore;

/// <summary>How one failure mode's rate per episode moved under the candidate, once the evidence says so.</summary>
public enum FailureModeChange
{
    /// <summary>Not enough data, or no change the test can tell from chance yet.</summary>
    Inconclusive,

    /// <summary>The candidate fails this way significantly more often than the baseline.</summary>
    Grew,

    /// <summary>The candidate fails this way significantly less often than the baseline.</summary>
    Shrank,
}

/// <summary>
/// One failure mode compared between the arms on one slice (or overall): each arm's rate of episodes failing this way
/// (the <see cref="ArmComparison"/>'s means), the difference with its always-valid interval and p-value at the level
/// the multiplicity plan gave this test.
/// </summary>
/// <param name="Mode">The normalised failure mode (see <see cref="FailureModes"/>).</param>
/// <param name="Slice">The slice, or <see cref="SliceVerdict.Overall"/>.</param>
/// <param name="Comparison">The candidate's rate of this mode against the baseline's ("worse" is a higher rate).</param>
/// <param name="IsNew">Seen under the candidate and never under the baseline in this scope.</param>
/// <param name="Severe">Listed in <see cref="EvaluationPolicy.SevereFailureModes"/>.</param>
/// <param name="Change">The significant direction, if any.</param>
public sealed record FailureModeShift(string Mode, string Slice, ArmComparison Comparison, bool IsNew, bool Severe, FailureModeChange Change)
{
    /// <summary>One line, e.g. "'tool issue_refund: limit exceeded' on slice 'billing' (new): 0.0% -> 5.2% of episodes (+5.2 points, 99.9% interval [+1.1, +9.3], p = 0.0003)".</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        var where = Slice == SliceVerdict.Overall ? "overall" : $"on slice '{Slice}'";
        var tags = (IsNew ? " (new)" : "") + (Severe ? " (severe)" : "");
        return string.Create(c, $"'{Mode}' {where}{tags}: {Comparison.Baseline.Mean * 100:0.0}% -> {Comparison.Candidate.Mean * 100:0.0}% of episodes ({Comparison.Effect * 100:+0.0;-0.0;0.0} points, {(1 - Comparison.Alpha) * 100:0.###}% interval [{Comparison.IntervalLow * 100:+0.0;-0.0;0.0}, {Comparison.IntervalHigh * 100:+0.0;-0.0;0.0}], p = {Comparison.PValue:0.####}; {Comparison.Candidate.Episodes} vs {Comparison.Baseline.Episodes} episodes)");
    }
}

/// <summary>
/// Whether a candidate removed errors or merely moved them: every failure mode's rate per episode under the candidate
/// against the baseline, overall and per slice, with always-valid intervals at levels that together keep the chance of
/// any false "grew" or "shrank" below <see cref="EvaluationPolicy.FailureShiftAlpha"/>, and the total variation distance
/// between the arms' distributions of outcome (success or each failure mode) with its interval.
/// </summary>
/// <param name="Modes">Every mode's comparison: overall first, then per slice, each in the order the modes were first seen.</param>
/// <param name="Distance">Total variation distance between the arms' outcome distributions over success and the modes seen: half the sum of the absolute rate differences.</param>
/// <param name="DistanceLow">Low end of its interval (from the simultaneous per-mode intervals overall).</param>
/// <param name="DistanceHigh">High end of that interval.</param>
/// <param name="DistanceAlpha">At most this chance that the distance's interval misses (the sum of the overall tests' levels).</param>
/// <param name="TestCount">How many mode-by-scope tests the level was split between.</param>
public sealed record FailureShift(IReadOnlyList<FailureModeShift> Modes, double Distance, double DistanceLow, double DistanceHigh, double DistanceAlpha, int TestCount)
{
    /// <summary>No episodes, no modes.</summary>
    public static FailureShift Empty { get; } = new([], 0, 0, 0, 0, 0);

    /// <summary>Modes that grew significantly, the most significant first.</summary>
    [JsonIgnore]
    public IReadOnlyList<FailureModeShift> Grown => [.. Modes.Where(m => m.Change == FailureModeChange.Grew).OrderBy(m => m.Comparison.PValue).ThenBy(m => m.Mode, StringComparer.Ordinal)];

    /// <summary>Modes that shrank significantly, the most significant first.</summary>
    [JsonIgnore]
    public IReadOnlyList<FailureModeShift> Shrunk => [.. Modes.Where(m => m.Change == FailureModeChange.Shrank).OrderBy(m => m.Comparison.PValue).ThenBy(m => m.Mode, StringComparer.Ordinal)];

    /// <summary>Modes seen under the candidate only (overall), whether or not significant yet.</summary>
    [JsonIgnore]
    public IReadOnlyList<FailureModeShift> New => [.. Modes.Where(m => m.IsNew && m.Slice == SliceVerdict.Overall)];

    /// <summary>True when some mode grew significantly: the candidate may not be promoted automatically.</summary>
    [JsonIgnore]
    public bool BlocksPromotion => Modes.Any(m => m.Change == FailureModeChange.Grew);

    /// <summary>True when a severe mode grew significantly.</summary>
    [JsonIgnore]
    public bool SevereGrowth => Modes.Any(m => m.Change == FailureModeChange.Grew && m.Severe);

    /// <summary>
    /// One sentence for the candidate page: whether the change improved the target, shifted errors, or both, given the
    /// success comparison overall (null when unknown).
    /// </summary>
    public string Verdict(ArmComparison? success)
    {
        var c = CultureInfo.InvariantCulture;
        var grown = Grown;
        var successText = success is null || success.Candidate.Episodes == 0 || success.Baseline.Episodes == 0 ? ""
            : string.Create(c, $"success {success.Candidate.Mean:0.000} vs {success.Baseline.Mean:0.000} baseline ({(success.Verdict == ComparisonVerdict.CandidateBetter ? "significantly better" : success.Verdict == ComparisonVerdict.CandidateWorse ? "significantly worse" : "no significant difference yet")})");
        if (grown.Count > 0)
        {
            var lead = success?.Verdict == ComparisonVerdict.CandidateBetter ? "The candidate improved the target but shifted errors" : "The candidate shifted errors";
            var more = grown.Count > 1 ? $"; {grown.Count - 1} more mode(s) grew" : "";
            return $"{lead}: {grown[0].Describe()}{more}{(successText.Length > 0 ? "; " + successText : "")}.";
        }

        var shrunk = Shrunk.Count;
        var distance = string.Create(c, $"failure-mix distance {Distance:0.000} [{DistanceLow:0.000}, {DistanceHigh:0.000}]");
        if (success?.Verdict == ComparisonVerdict.CandidateBetter)
        {
            return $"The candidate improved the target without growing any failure mode ({shrunk} mode(s) shrank; {distance}); {successText}.";
        }

        return Modes.Count == 0
            ? $"No failures recorded yet in either arm{(successText.Length > 0 ? "; " + successText : "")}."
            : $"No failure mode grew significantly ({shrunk} shrank; {distance}){(successText.Length > 0 ? "; " + successText : "")}.";
    }
}
