using System.Text.Json;
using Xunit;
using static Lore.Tests.Evaluation.EvaluationData;

namespace Lore.Tests.Evaluation;

/// <summary>Decisions over slices: rollback on any slice's regression, promotion on an overall gain, and the correction.</summary>
public sealed class RolloutEvaluatorTests
{
    private static readonly RolloutEvaluator Evaluator = new();

    private static SliceOutcomes Slice(string name, (int Episodes, int Successes) baseline, (int Episodes, int Successes) candidate)
        => new(name, Binary(baseline.Episodes, baseline.Successes), Binary(candidate.Episodes, candidate.Successes));

    [Fact]
    public void With_no_outcomes_it_waits_for_data()
    {
        var decision = Evaluator.Evaluate(new RolloutOutcomes([]));

        Assert.Equal(EvaluationAction.Continue, decision.Action);
        Assert.StartsWith("Waiting for data", decision.Reason, StringComparison.Ordinal);
        Assert.Empty(decision.Evidence);
    }

    [Fact]
    public void A_regression_on_one_slice_rolls_back_naming_the_slice_with_its_evidence()
    {
        var outcomes = new RolloutOutcomes(
        [
            Slice("billing", (2000, 1700), (2000, 1710)),
            Slice("refunds", (500, 400), (500, 300)),
            Slice("shipping", (1500, 1100), (1500, 1110)),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        Assert.Equal(EvaluationAction.Rollback, decision.Action);
        var evidence = decision.Evidence[0];
        Assert.Equal("refunds", evidence.Slice);
        Assert.Equal(Binary(500, 400), evidence.Comparison.Baseline);
        Assert.Equal(Binary(500, 300), evidence.Comparison.Candidate);
        Assert.Equal(-0.2, evidence.Comparison.Effect, 12);
        Assert.True(evidence.Comparison.IntervalHigh < 0);
        Assert.True(evidence.Comparison.PValue <= evidence.Comparison.Alpha);
        Assert.Contains("slice 'refunds'", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("-0.200", decision.Reason, StringComparison.Ordinal);
        Assert.Contains("500 vs 500 episodes", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_regression_on_a_slice_below_the_minimum_does_not_roll_back()
    {
        var outcomes = new RolloutOutcomes(
        [
            Slice("billing", (2000, 1700), (2000, 1700)),
            Slice("refunds", (60, 60), (60, 0)),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        var refunds = decision.Slices.Single(s => s.Slice == "refunds");
        Assert.False(refunds.Comparison.HasEnoughData);
        Assert.Equal(ComparisonVerdict.Inconclusive, refunds.Verdict);
        Assert.NotEqual(EvaluationAction.Rollback, decision.Action);
        Assert.Contains("1 of 2 slice(s)", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_regression_overall_rolls_back_even_when_no_slice_alone_shows_it()
    {
        // Eight slices each 3 points worse: too little per slice at alpha/9, unmistakable together.
        var slices = Enumerable.Range(0, 8).Select(i => Slice($"s{i}", (1200, 960), (1200, 924))).ToArray();

        var decision = Evaluator.Evaluate(new RolloutOutcomes(slices));

        Assert.All(decision.Slices, s => Assert.Equal(ComparisonVerdict.Inconclusive, s.Verdict));
        Assert.Equal(EvaluationAction.Rollback, decision.Action);
        Assert.Equal(SliceVerdict.Overall, Assert.Single(decision.Evidence).Slice);
        Assert.StartsWith("The candidate regressed overall", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_significant_overall_gain_with_no_slice_regression_is_a_promotion()
    {
        var outcomes = new RolloutOutcomes(
        [
            Slice("billing", (2000, 1400), (2000, 1600)),
            Slice("refunds", (1000, 700), (1000, 800)),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        Assert.Equal(EvaluationAction.Promote, decision.Action);
        Assert.Equal(SliceVerdict.Overall, Assert.Single(decision.Evidence).Slice);
        Assert.True(decision.Overall.Comparison.IntervalLow > 0);
    }

    [Fact]
    public void An_overall_gain_that_hides_a_slice_regression_rolls_back()
    {
        var outcomes = new RolloutOutcomes(
        [
            Slice("billing", (4000, 2800), (4000, 3400)),
            Slice("refunds", (600, 480), (600, 360)),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        Assert.Equal(ComparisonVerdict.CandidateBetter, decision.Overall.Verdict);
        Assert.Equal(EvaluationAction.Rollback, decision.Action);
        Assert.Equal("refunds", decision.Evidence[0].Slice);
    }

    [Fact]
    public void Every_regression_is_in_the_evidence_most_significant_first()
    {
        var outcomes = new RolloutOutcomes(
        [
            Slice("a", (800, 640), (800, 560)),
            Slice("b", (800, 640), (800, 400)),
            Slice("c", (800, 640), (800, 640)),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        Assert.Equal(EvaluationAction.Rollback, decision.Action);
        Assert.Equal(["b", SliceVerdict.Overall, "a"], decision.Evidence.Select(e => e.Slice));
        Assert.Contains("2 more regression(s)", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void Declared_slices_share_the_level_equally_and_late_ones_spend_the_reserve_in_the_order_they_appear()
    {
        var outcomes = new RolloutOutcomes(Enumerable.Range(0, 4).Select(i => Slice($"s{i}", (10, 5), (10, 5))));
        var policy = new EvaluationPolicy { DeclaredSlices = ["s1", "s3"], LateSliceReserve = 0.2, ShareChangeReserve = 0 };

        var decision = new RolloutEvaluator(policy).Evaluate(outcomes);
        var level = decision.Slices.ToDictionary(s => s.Slice, s => s.Comparison.Alpha);

        Assert.Equal(5, decision.TestCount);
        Assert.Equal(0.05 * 0.8 / 3, decision.Overall.Comparison.Alpha, 15);
        Assert.Equal(0.05 * 0.8 / 3, level["s1"], 15);
        Assert.Equal(0.05 * 0.8 / 3, level["s3"], 15);
        Assert.Equal(0.05 * 0.2 / 2, level["s0"], 15);
        Assert.Equal(0.05 * 0.2 / 6, level["s2"], 15);
        Assert.True(decision.Slices.Append(decision.Overall).Sum(s => s.Comparison.Alpha) <= 0.05);
    }

    [Fact]
    public void The_level_planned_for_a_slice_does_not_loosen_as_more_slices_appear()
    {
        var policy = new EvaluationPolicy { ExpectedSlices = 2 };
        var early = new RolloutEvaluator(policy).Evaluate(new RolloutOutcomes([Slice("a", (10, 5), (10, 5)), Slice("b", (10, 5), (10, 5))]));
        var late = new RolloutEvaluator(policy).Evaluate(new RolloutOutcomes([Slice("a", (10, 5), (10, 5)), Slice("b", (10, 5), (10, 5)), Slice("c", (10, 5), (10, 5))]));

        Assert.Equal(early.Overall.Comparison.Alpha, late.Overall.Comparison.Alpha, 15);
        Assert.Equal(early.Slices[0].Comparison.Alpha, late.Slices[0].Comparison.Alpha, 15);
        Assert.Equal(0.05 * 0.75 * 0.5 / 3, early.Overall.Comparison.Alpha, 15);
        Assert.Equal(0.05 * 0.75 * 0.5 / 2, late.Slices.Single(s => s.Slice == "c").Comparison.Alpha, 15);
    }

    [Fact]
    public void Each_share_period_spends_its_planned_part_of_the_level_and_all_periods_together_at_most_alpha()
    {
        var evaluator = new RolloutEvaluator(new EvaluationPolicy { ShareChangeReserve = 0.25 });
        var levels = Enumerable.Range(0, 200)
            .Select(period => evaluator.Evaluate(new RolloutOutcomes([Slice("(none)", (500, 400), (500, 390))], null, null, period)).Overall.Comparison.Alpha)
            .ToArray();

        Assert.Equal(0.05 * 0.75, levels[0], 15);
        Assert.Equal(0.05 * 0.25 / 2, levels[1], 15);
        Assert.Equal(0.05 * 0.25 / 6, levels[2], 15);
        Assert.InRange(levels.Sum(), 0.05 * 0.99, 0.05);
    }

    [Fact]
    public void A_single_slice_is_the_whole_population_and_is_tested_once()
    {
        var decision = Evaluator.Evaluate(new RolloutOutcomes([Slice("(none)", (500, 400), (500, 300))]));

        Assert.Equal(1, decision.TestCount);
        Assert.Equal(0.05 * 0.75, decision.Overall.Comparison.Alpha, 15);
        Assert.Same(decision.Overall.Comparison, Assert.Single(decision.Slices).Comparison);
        Assert.Equal(SliceVerdict.Overall, Assert.Single(decision.Evidence).Slice);
    }

    [Fact]
    public void A_difference_significant_on_its_own_is_not_enough_among_several_tests()
    {
        // The smallest drop the test calls significant at the full alpha on one population of 1000 + 1000 episodes.
        var successes = Enumerable.Range(0, 800).Reverse().First(c => Evaluator.Compare(Binary(1000, 800), Binary(1000, c)).Verdict == ComparisonVerdict.CandidateWorse);
        var alone = Evaluator.Compare(Binary(1000, 800), Binary(1000, successes));
        var outcomes = new RolloutOutcomes(
        [
            Slice("a", (1000, 800), (1000, successes)),
            .. Enumerable.Range(0, 4).Select(i => Slice($"other{i}", (1000, 800), (1000, 800))),
        ]);

        var decision = Evaluator.Evaluate(outcomes);

        Assert.True(alone.PValue > 0.05 / 6);
        Assert.Equal(EvaluationAction.Continue, decision.Action);
        Assert.StartsWith("No significant difference yet", decision.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void A_decision_round_trips_through_the_shared_json_shape_for_the_audit_log()
    {
        var decision = Evaluator.Evaluate(new RolloutOutcomes([Slice("billing", (900, 700), (900, 710)), Slice("refunds", (500, 400), (500, 300))]));

        var json = JsonSerializer.Serialize(decision, LoreJson.Options);
        var back = JsonSerializer.Deserialize<EvaluationDecision>(json, LoreJson.Options)!;

        Assert.Contains("\"action\":\"rollback\"", json, StringComparison.Ordinal);
        Assert.Equal(decision.Action, back.Action);
        Assert.Equal(decision.Reason, back.Reason);
        Assert.Equal(decision.Overall, back.Overall);
        Assert.Equal(decision.Evidence, back.Evidence);
        Assert.Equal(decision.Slices, back.Slices);
    }

    [Fact]
    public void Later_changes_to_the_policy_do_not_change_an_evaluator_already_built()
    {
        var policy = new EvaluationPolicy { MinimumEpisodesPerArm = 10, MinimumUnitsPerArm = 10 };
        var evaluator = new RolloutEvaluator(policy);
        policy.MinimumEpisodesPerArm = 1_000;
        policy.MinimumUnitsPerArm = 1_000;

        Assert.True(evaluator.Compare(Binary(10, 10), Binary(10, 0)).HasEnoughData);
    }

    [Theory]
    [InlineData(nameof(EvaluationPolicy.Alpha))]
    [InlineData(nameof(EvaluationPolicy.MinimumEpisodesPerArm))]
    [InlineData(nameof(EvaluationPolicy.MixtureSpread))]
    [InlineData(nameof(EvaluationPolicy.ExpectedSlices))]
    [InlineData(nameof(EvaluationPolicy.MinimumUnitsPerArm))]
    [InlineData(nameof(EvaluationPolicy.LateSliceReserve))]
    [InlineData(nameof(EvaluationPolicy.ShareChangeReserve))]
    [InlineData(nameof(EvaluationPolicy.LessonHoldoutShare))]
    public void A_policy_option_out_of_range_is_refused_by_name(string option)
    {
        var policy = option switch
        {
            nameof(EvaluationPolicy.Alpha) => new EvaluationPolicy { Alpha = 1 },
            nameof(EvaluationPolicy.MinimumEpisodesPerArm) => new EvaluationPolicy { MinimumEpisodesPerArm = 0 },
            nameof(EvaluationPolicy.MixtureSpread) => new EvaluationPolicy { MixtureSpread = 0 },
            nameof(EvaluationPolicy.MinimumUnitsPerArm) => new EvaluationPolicy { MinimumUnitsPerArm = 1 },
            nameof(EvaluationPolicy.LateSliceReserve) => new EvaluationPolicy { LateSliceReserve = 1 },
            nameof(EvaluationPolicy.ShareChangeReserve) => new EvaluationPolicy { ShareChangeReserve = double.NaN },
            nameof(EvaluationPolicy.LessonHoldoutShare) => new EvaluationPolicy { LessonHoldoutShare = 0.7 },
            _ => new EvaluationPolicy { ExpectedSlices = -1 },
        };

        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new RolloutEvaluator(policy));
        Assert.Equal(option, error.ParamName);
    }

    [Fact]
    public void The_default_policy_is_valid_and_has_the_documented_values()
    {
        var policy = new EvaluationPolicy();

        policy.Validate();
        Assert.Equal((0.05, 100, 0.1, 0), (policy.Alpha, policy.MinimumEpisodesPerArm, policy.MixtureSpread, policy.ExpectedSlices));
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvaluationPolicy { Alpha = double.NaN }.Validate());
        Assert.Throws<ArgumentOutOfRangeException>(() => new EvaluationPolicy { MixtureSpread = 1.5 }.Validate());
        Assert.Equal((20, 0.5, 0.25, 0.0), (policy.MinimumUnitsPerArm, policy.LateSliceReserve, policy.ShareChangeReserve, policy.LessonHoldoutShare));
    }

    [Fact]
    public void Declared_slices_that_cannot_name_a_slice_or_repeat_are_refused()
    {
        Assert.Equal("DeclaredSlices", Assert.Throws<ArgumentException>(() => new EvaluationPolicy { DeclaredSlices = ["refunds", "refunds"] }.Validate()).ParamName);
        Assert.Contains("'(all)'", Assert.Throws<ArgumentException>(() => new EvaluationPolicy { DeclaredSlices = [SliceVerdict.Overall] }.Validate()).Message, StringComparison.Ordinal);
    }
}
