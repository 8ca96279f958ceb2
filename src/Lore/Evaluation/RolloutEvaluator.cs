using Lore.Evaluation;

namespace Lore;

/// <summary>
/// Continuous evaluation of a candidate snapshot against the baseline: decides, as often as it is asked, whether the
/// candidate should be rolled back, may be promoted, or needs more data, without watching inflating false alarms.
/// </summary>
/// <remarks>
/// <para>
/// Each comparison is the two-sample mixture sequential probability ratio test of Johari, Pekelis and Walsh ("Always
/// Valid Inference", arXiv:1512.04922; Operations Research 70(3), 2022) on the difference of success rates, with a
/// normal mixing distribution of spread <see cref="EvaluationPolicy.MixtureSpread"/> and a plug-in variance. Its
/// p-value and confidence interval are always valid: the chance that a comparison ever shows a difference that is not
/// there is at most its level, however often it is checked, so evaluating after every episode is safe.
/// </para>
/// <para>
/// Family-wise error: a decision runs one test overall and one per slice, each at level
/// <c>Alpha / (1 + max(ExpectedSlices, slices observed))</c> (Bonferroni; a single slice is the overall population and
/// is tested once). The chance that a rollout with no real difference anywhere is ever rolled back, or ever promoted,
/// is therefore at most <see cref="EvaluationPolicy.Alpha"/>. A comparison only decides once both its arms have
/// <see cref="EvaluationPolicy.MinimumEpisodesPerArm"/> episodes; slices below it are reported and not acted on.
/// </para>
/// <para>
/// Rollback: the candidate is significantly worse overall or on any slice with enough data. Promote: significantly
/// better overall and significantly worse nowhere. Otherwise continue. The evaluator holds no state: the same counts
/// always give the same decision, whether they come from stored episodes or an <see cref="OutcomeTally"/>.
/// </para>
/// </remarks>
public sealed class RolloutEvaluator
{
    private readonly double _alpha;
    private readonly int _minimum;
    private readonly double _spread;
    private readonly int _expectedSlices;

    /// <summary>Copies and validates <paramref name="policy"/> (the defaults when null); later changes to it have no effect.</summary>
    public RolloutEvaluator(EvaluationPolicy? policy = null)
    {
        policy ??= new EvaluationPolicy();
        policy.Validate();
        _alpha = policy.Alpha;
        _minimum = policy.MinimumEpisodesPerArm;
        _spread = policy.MixtureSpread;
        _expectedSlices = policy.ExpectedSlices;
    }

    /// <summary>Compares two arms on one population at the policy's full <see cref="EvaluationPolicy.Alpha"/>.</summary>
    public ArmComparison Compare(ArmOutcomes baseline, ArmOutcomes candidate) => Compare(baseline, candidate, _alpha);

    /// <summary>The decision for a rollout's outcomes so far, with its reason and evidence.</summary>
    public EvaluationDecision Evaluate(RolloutOutcomes outcomes)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        var slicesTested = outcomes.Slices.Count == 1 && _expectedSlices <= 1 ? 0 : Math.Max(_expectedSlices, outcomes.Slices.Count);
        var tests = slicesTested + 1;
        var level = _alpha / tests;

        var overall = new SliceVerdict(SliceVerdict.Overall, Compare(outcomes.Baseline, outcomes.Candidate, level));
        var slices = new SliceVerdict[outcomes.Slices.Count];
        var regressions = new List<SliceVerdict>();
        if (overall.Verdict == ComparisonVerdict.CandidateWorse)
        {
            regressions.Add(overall);
        }

        for (var i = 0; i < slices.Length; i++)
        {
            var slice = outcomes.Slices[i];
            var comparison = slicesTested == 0 ? overall.Comparison : Compare(slice.Baseline, slice.Candidate, level);
            slices[i] = new SliceVerdict(slice.Slice, comparison);
            if (slicesTested > 0 && comparison.Verdict == ComparisonVerdict.CandidateWorse)
            {
                regressions.Add(slices[i]);
            }
        }

        if (regressions.Count > 0)
        {
            regressions.Sort((a, b) => a.Comparison.PValue != b.Comparison.PValue
                ? a.Comparison.PValue.CompareTo(b.Comparison.PValue)
                : string.CompareOrdinal(a.Slice, b.Slice));
            var first = regressions[0];
            var where = first.Slice == SliceVerdict.Overall ? "The candidate regressed overall" : $"The candidate regressed on slice '{first.Slice}'";
            var more = regressions.Count > 1 ? $"; {regressions.Count - 1} more regression(s) in the evidence" : "";
            return new EvaluationDecision(EvaluationAction.Rollback, $"{where}: {first.Comparison.Describe()}{more}.", overall, slices, regressions, tests);
        }

        if (overall.Verdict == ComparisonVerdict.CandidateBetter)
        {
            return new EvaluationDecision(EvaluationAction.Promote, $"The candidate is better overall with no slice regression: {overall.Comparison.Describe()}.", overall, slices, [overall], tests);
        }

        string reason;
        if (!overall.Comparison.HasEnoughData)
        {
            reason = $"Waiting for data: decisions need {_minimum} episodes in each arm (baseline has {outcomes.Baseline.Episodes}, candidate {outcomes.Candidate.Episodes}).";
        }
        else
        {
            var ready = slicesTested == 0 ? slices.Length : slices.Count(s => s.Comparison.HasEnoughData);
            reason = $"No significant difference yet: {overall.Comparison.Describe()}; {ready} of {slices.Length} slice(s) have enough data to be tested.";
        }

        return new EvaluationDecision(EvaluationAction.Continue, reason, overall, slices, [], tests);
    }

    /// <summary>
    /// Measures, for every lesson injected into any of <paramref name="episodes"/>, the success of the judged episodes
    /// with it against comparable ones without it (see <see cref="LessonAttribution"/>), in ordinal order of lesson id.
    /// Pass the episodes whose comparison is meaningful, typically both arms of one rollout.
    /// </summary>
    public IReadOnlyList<LessonAttribution> AttributeLessons(IEnumerable<Episode> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var sliceTotals = new Dictionary<string, ArmOutcomes>(StringComparer.Ordinal);
        var withLesson = new Dictionary<string, Dictionary<string, ArmOutcomes>>(StringComparer.Ordinal);
        var all = default(ArmOutcomes);
        foreach (var episode in episodes)
        {
            if (episode.Score is not { } score)
            {
                continue;
            }

            var slice = episode.Slice;
            sliceTotals[slice] = sliceTotals.GetValueOrDefault(slice).Add(score);
            all = all.Add(score);
            var ids = episode.InjectedLessonIds;
            for (var i = 0; i < ids.Count; i++)
            {
                if (IndexOf(ids, ids[i]) < i)
                {
                    continue; // the same lesson injected at several model calls counts once
                }

                if (!withLesson.TryGetValue(ids[i], out var bySlice))
                {
                    withLesson[ids[i]] = bySlice = new Dictionary<string, ArmOutcomes>(StringComparer.Ordinal);
                }

                bySlice[slice] = bySlice.GetValueOrDefault(slice).Add(score);
            }
        }

        var level = _alpha / Math.Max(1, withLesson.Count);
        var results = new List<LessonAttribution>(withLesson.Count);
        foreach (var (lessonId, bySlice) in withLesson.OrderBy(p => p.Key, StringComparer.Ordinal))
        {
            results.Add(Attribute(lessonId, bySlice, sliceTotals, all, level));
        }

        return results;
    }

    private LessonAttribution Attribute(string lessonId, Dictionary<string, ArmOutcomes> bySlice, Dictionary<string, ArmOutcomes> sliceTotals, ArmOutcomes all, double level)
    {
        var with = default(ArmOutcomes);
        var strata = new List<(ArmOutcomes With, ArmOutcomes Without)>();
        foreach (var (slice, sliceWith) in bySlice)
        {
            with += sliceWith;
            var sliceWithout = ArmOutcomes.Remainder(sliceTotals[slice], sliceWith);
            if (sliceWith.Episodes >= _minimum && sliceWithout.Episodes >= _minimum)
            {
                strata.Add((sliceWith, sliceWithout));
            }
        }

        var without = ArmOutcomes.Remainder(all, with);
        if (strata.Count == 0)
        {
            // Reported for information only: the raw difference, judged as if no slice could be compared.
            var raw = Compare(without, with, level);
            return new LessonAttribution(lessonId, with, without, 0, raw.Effect, raw.IntervalLow, raw.IntervalHigh, raw.PValue, level, false, LessonImpact.Inconclusive);
        }

        // Post-stratified difference: slices weighted by their episodes with the lesson, variances by the squared weights.
        double treated = strata.Sum(s => s.With.Episodes);
        double effect = 0, variance = 0;
        foreach (var (sliceWith, sliceWithout) in strata)
        {
            var weight = sliceWith.Episodes / treated;
            var estimate = MixtureSequentialTest.Difference(sliceWithout, sliceWith);
            effect += weight * estimate.Effect;
            variance += weight * weight * estimate.Variance;
        }

        var result = MixtureSequentialTest.Test(new DifferenceEstimate(effect, variance), _spread, level);
        var impact = result.PValue > level ? LessonImpact.Inconclusive : effect < 0 ? LessonImpact.Harmful : LessonImpact.Helpful;
        return new LessonAttribution(lessonId, with, without, strata.Count, effect, result.Low, result.High, result.PValue, level, true, impact);
    }

    private ArmComparison Compare(ArmOutcomes baseline, ArmOutcomes candidate, double level)
    {
        var enough = baseline.Episodes >= _minimum && candidate.Episodes >= _minimum;
        if (baseline.Episodes == 0 || candidate.Episodes == 0)
        {
            return new ArmComparison(baseline, candidate, 0, -1, 1, 1, level, false, ComparisonVerdict.Inconclusive);
        }

        var estimate = MixtureSequentialTest.Difference(baseline, candidate);
        var result = MixtureSequentialTest.Test(estimate, _spread, level);
        var verdict = !enough || result.PValue > level ? ComparisonVerdict.Inconclusive
            : estimate.Effect < 0 ? ComparisonVerdict.CandidateWorse
            : ComparisonVerdict.CandidateBetter;
        return new ArmComparison(baseline, candidate, estimate.Effect, result.Low, result.High, result.PValue, level, enough, verdict);
    }

    private static int IndexOf(IReadOnlyList<string> ids, string id)
    {
        for (var i = 0; i < ids.Count; i++)
        {
            if (string.Equals(ids[i], id, StringComparison.Ordinal))
            {
                return i;
            }
        }

        return -1;
    }
}
