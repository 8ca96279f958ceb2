using CsCheck;
using Lore.Testing;
using Xunit;
using static Lore.Tests.Evaluation.EvaluationData;

namespace Lore.Tests.Evaluation;

/// <summary>The comparison of two arms on one population: known cases, edge cases and the invariants of the test.</summary>
public sealed class SequentialComparisonTests
{
    private static readonly RolloutEvaluator Evaluator = new();

    [Fact]
    public void Arms_with_no_episodes_compare_as_inconclusive_with_p_one_and_the_widest_interval()
    {
        var comparison = Evaluator.Compare(default, default);

        Assert.Equal(ComparisonVerdict.Inconclusive, comparison.Verdict);
        Assert.False(comparison.HasEnoughData);
        Assert.Equal(1, comparison.PValue);
        Assert.Equal((-1.0, 1.0), (comparison.IntervalLow, comparison.IntervalHigh));
        Assert.Equal(0, comparison.Effect);
    }

    [Fact]
    public void Two_arms_that_always_succeed_show_no_difference_however_large()
    {
        var comparison = Evaluator.Compare(Binary(50_000, 50_000), Binary(50_000, 50_000));

        Assert.Equal(ComparisonVerdict.Inconclusive, comparison.Verdict);
        Assert.True(comparison.HasEnoughData);
        Assert.Equal(1, comparison.PValue);
        Assert.True(comparison.IntervalLow < 0 && comparison.IntervalHigh > 0);
    }

    [Fact]
    public void A_large_true_drop_is_detected_with_the_right_direction_and_an_interval_below_zero()
    {
        var comparison = Evaluator.Compare(Binary(1000, 800), Binary(1000, 650));

        Assert.Equal(ComparisonVerdict.CandidateWorse, comparison.Verdict);
        Assert.Equal(-0.15, comparison.Effect, 12);
        Assert.True(comparison.IntervalHigh < 0);
        Assert.True(comparison.IntervalLow < -0.15);
        Assert.True(comparison.PValue < 1e-6);
    }

    [Fact]
    public void A_large_true_gain_is_detected_as_better()
    {
        var comparison = Evaluator.Compare(Binary(1000, 650), Binary(1000, 800));

        Assert.Equal(ComparisonVerdict.CandidateBetter, comparison.Verdict);
        Assert.True(comparison.IntervalLow > 0);
    }

    [Fact]
    public void Equal_rates_are_not_called_different()
    {
        var comparison = Evaluator.Compare(Binary(5000, 4000), Binary(5000, 4000));

        Assert.Equal(ComparisonVerdict.Inconclusive, comparison.Verdict);
        Assert.Equal(1, comparison.PValue);
    }

    [Fact]
    public void No_decision_is_made_below_the_minimum_episodes_however_strong_the_evidence_looks()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 100 });

        var below = evaluator.Compare(Binary(99, 99), Binary(500, 0));
        var reached = evaluator.Compare(Binary(100, 100), Binary(500, 0));

        Assert.Equal(ComparisonVerdict.Inconclusive, below.Verdict);
        Assert.False(below.HasEnoughData);
        Assert.True(below.PValue < 1e-6, "the evidence is still reported");
        Assert.Equal(ComparisonVerdict.CandidateWorse, reached.Verdict);
    }

    [Fact]
    public void All_successes_against_all_failures_is_a_regression_once_the_minimum_is_reached()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 20 });

        Assert.Equal(ComparisonVerdict.CandidateWorse, evaluator.Compare(Binary(20, 20), Binary(20, 0)).Verdict);
        Assert.Equal(ComparisonVerdict.CandidateBetter, evaluator.Compare(Binary(20, 0), Binary(20, 20)).Verdict);
    }

    [Fact]
    public void A_drop_in_continuous_scores_is_detected()
    {
        var random = new Random(7);
        ArmOutcomes baseline = default, candidate = default;
        for (var i = 0; i < 600; i++)
        {
            baseline = baseline.Add(0.6 + 0.4 * random.NextDouble());
            candidate = candidate.Add(0.5 + 0.4 * random.NextDouble());
        }

        var comparison = Evaluator.Compare(baseline, candidate);

        Assert.Equal(ComparisonVerdict.CandidateWorse, comparison.Verdict);
        Assert.InRange(comparison.Effect, -0.15, -0.05);
    }

    [Fact]
    public void Scores_with_a_known_squared_sum_give_a_tighter_interval_than_the_conservative_pass_fail_bound()
    {
        var baseline = Enumerable.Repeat(0.8, 400).Aggregate(default(ArmOutcomes), (a, s) => a.Add(s));
        var candidate = Enumerable.Repeat(0.75, 400).Aggregate(default(ArmOutcomes), (a, s) => a.Add(s));

        var exact = Evaluator.Compare(baseline, candidate);
        var bound = Evaluator.Compare(new ArmOutcomes(400, baseline.SuccessSum), new ArmOutcomes(400, candidate.SuccessSum));

        Assert.Equal(exact.Effect, bound.Effect, 12);
        Assert.True(exact.IntervalHigh - exact.IntervalLow < bound.IntervalHigh - bound.IntervalLow);
        Assert.Equal(ComparisonVerdict.CandidateWorse, exact.Verdict);
    }

    [Fact]
    public void The_p_value_and_interval_are_consistent_and_in_range_for_any_counts()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 10, MinimumUnitsPerArm = 2 });
        SeededCheck.ForAll(Gen.Select(BinaryArm(0, 3000), BinaryArm(0, 3000)), sample =>
        {
            var (baseline, candidate) = sample;
            var c = evaluator.Compare(baseline, candidate);

            Assert.InRange(c.PValue, 0, 1);
            Assert.InRange(c.IntervalLow, -1, c.Effect);
            Assert.InRange(c.IntervalHigh, c.Effect, 1);
            // The interval is two-sided at the level; the verdict one-sided, so excluding 0 is enough but not needed.
            var excludesZero = c.IntervalLow > 0 || c.IntervalHigh < 0;
            Assert.True(!(c.HasEnoughData && excludesZero) || c.Verdict != ComparisonVerdict.Inconclusive);
            Assert.Equal(c.HasEnoughData && c.PValue <= c.Alpha, c.Verdict != ComparisonVerdict.Inconclusive);
            if (c.Verdict != ComparisonVerdict.Inconclusive)
            {
                Assert.Equal(c.Effect < 0, c.Verdict == ComparisonVerdict.CandidateWorse);
            }
        }, iterations: 500);
    }

    [Fact]
    public void Scores_in_zero_to_one_keep_the_same_invariants()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 5, MinimumUnitsPerArm = 2 });
        SeededCheck.ForAll(Gen.Select(ScoredArm(200), ScoredArm(200)), sample =>
        {
            var c = evaluator.Compare(sample.Item1, sample.Item2);

            Assert.InRange(c.PValue, 0, 1);
            Assert.InRange(c.IntervalLow, -1, c.Effect);
            Assert.InRange(c.IntervalHigh, c.Effect, 1);
            Assert.Equal(c.HasEnoughData && c.PValue <= c.Alpha, c.Verdict != ComparisonVerdict.Inconclusive);
        }, iterations: 200);
    }

    [Fact]
    public void Swapping_the_arms_mirrors_the_comparison()
    {
        SeededCheck.ForAll(Gen.Select(BinaryArm(1, 2000), BinaryArm(1, 2000)), sample =>
        {
            var (a, b) = sample;
            var forward = Evaluator.Compare(a, b);
            var backward = Evaluator.Compare(b, a);

            Assert.Equal(-forward.Effect, backward.Effect, 12);
            Assert.Equal(forward.PValue, backward.PValue, 12);
            Assert.Equal(-forward.IntervalHigh, backward.IntervalLow, 12);
            var mirrored = forward.Verdict switch
            {
                ComparisonVerdict.CandidateWorse => ComparisonVerdict.CandidateBetter,
                ComparisonVerdict.CandidateBetter => ComparisonVerdict.CandidateWorse,
                _ => ComparisonVerdict.Inconclusive,
            };
            Assert.Equal(mirrored, backward.Verdict);
        }, iterations: 300);
    }

    [Fact]
    public void A_significant_regression_stays_significant_when_the_same_rates_hold_over_more_episodes()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { MinimumEpisodesPerArm = 10, MinimumUnitsPerArm = 2 });
        var sample = Gen.Select(BinaryArm(10, 1500), BinaryArm(10, 1500), Gen.Int[2, 5]);
        var significant = 0;
        SeededCheck.ForAll(sample, s =>
        {
            var (a, b, k) = s;
            if (evaluator.Compare(a, b).Verdict != ComparisonVerdict.CandidateWorse)
            {
                return;
            }

            significant++;
            var more = evaluator.Compare(new ArmOutcomes(a.Episodes * k, a.SuccessSum * k), new ArmOutcomes(b.Episodes * k, b.SuccessSum * k));
            Assert.Equal(ComparisonVerdict.CandidateWorse, more.Verdict);
            Assert.True(more.PValue <= evaluator.Compare(a, b).PValue);
        }, iterations: 500);

        Assert.True(significant > 50, $"only {significant} samples exercised the property");
    }
}
