using System.Text.Json;
using CsCheck;
using Lore.Testing;
using Xunit;
using static Lore.Tests.Evaluation.EvaluationData;

namespace Lore.Tests.Evaluation;

public sealed class ArmOutcomesTests
{
    [Fact]
    public void Pass_fail_counts_take_the_success_count_as_the_squared_sum()
    {
        var arm = new ArmOutcomes(10, 7);

        Assert.Equal(7, arm.SquaredSum);
        Assert.Equal(0.7, arm.Mean, 12);
    }

    [Fact]
    public void An_empty_arm_has_mean_zero()
    {
        Assert.Equal(0, default(ArmOutcomes).Mean);
        Assert.Equal(0, new ArmOutcomes(0, 0).Mean);
    }

    [Fact]
    public void Adding_scores_keeps_their_sum_and_sum_of_squares()
    {
        var arm = default(ArmOutcomes).Add(1).Add(0).Add(0.5).Add(0.25);

        Assert.Equal(4, arm.Episodes);
        Assert.Equal(1.75, arm.SuccessSum, 12);
        Assert.Equal(1 + 0.25 + 0.0625, arm.SquaredSum, 12);
    }

    [Theory]
    [InlineData(-0.01)]
    [InlineData(1.01)]
    [InlineData(double.NaN)]
    public void A_score_outside_zero_to_one_is_refused(double score)
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => default(ArmOutcomes).Add(score));
        Assert.Equal("score", error.ParamName);
    }

    [Fact]
    public void Sums_no_set_of_scores_could_produce_are_refused_naming_the_sum()
    {
        Assert.Equal("episodes", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(-1, 0)).ParamName);
        Assert.Equal("successSum", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(5, 6)).ParamName);
        Assert.Equal("successSum", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(5, -1)).ParamName);
        Assert.Equal("successSum", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(5, double.NaN)).ParamName);
        Assert.Equal("squaredSum", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(5, 2, 3)).ParamName);
        Assert.Equal("squaredSum", Assert.Throws<ArgumentOutOfRangeException>(() => new ArmOutcomes(5, 2, -0.5)).ParamName);
    }

    [Fact]
    public void Outcomes_of_two_populations_add_up()
    {
        var sum = new ArmOutcomes(10, 7, 6) + new ArmOutcomes(5, 2, 1.5);

        Assert.Equal(new ArmOutcomes(15, 9, 7.5), sum);
    }

    [Fact]
    public void Outcomes_round_trip_through_the_shared_json_shape()
    {
        var arm = default(ArmOutcomes).Add(0.75).Add(1);

        var json = JsonSerializer.Serialize(arm, LoreJson.Options);
        var back = JsonSerializer.Deserialize<ArmOutcomes>(json, LoreJson.Options);

        Assert.Equal(arm, back);
        Assert.DoesNotContain("mean", json, StringComparison.Ordinal);
    }

    [Fact]
    public void Counting_stored_episodes_splits_them_by_arm_and_slice_and_uses_their_scores()
    {
        Episode[] episodes =
        [
            Judged(RolloutArms.Baseline, "refunds", 1),
            Judged(RolloutArms.Baseline, "refunds", 0),
            Judged(RolloutArms.Candidate, "refunds", 0.5),
            Judged("CANDIDATE", "billing", 1),
            Judged(RolloutArms.Baseline, "billing", 1),
        ];

        var outcomes = RolloutOutcomes.FromEpisodes(episodes);

        Assert.Equal(["billing", "refunds"], outcomes.Slices.Select(s => s.Slice));
        var refunds = outcomes.Slices[1];
        Assert.Equal(new ArmOutcomes(2, 1), refunds.Baseline);
        Assert.Equal(new ArmOutcomes(1, 0.5, 0.25), refunds.Candidate);
        Assert.Equal(new ArmOutcomes(1, 1), outcomes.Slices[0].Candidate);
        Assert.Equal(new ArmOutcomes(3, 2), outcomes.Baseline);
        Assert.Equal(new ArmOutcomes(2, 1.5, 1.25), outcomes.Candidate);
    }

    [Fact]
    public void Episodes_in_no_arm_or_not_yet_judged_are_not_counted()
    {
        Episode[] episodes =
        [
            Judged(null, "refunds", 1),
            Judged("shadow", "refunds", 1),
            Unjudged(RolloutArms.Candidate, "refunds"),
            Judged(RolloutArms.Candidate, "refunds", 1),
        ];

        var outcomes = RolloutOutcomes.FromEpisodes(episodes);

        Assert.Equal(new ArmOutcomes(1, 1), outcomes.Candidate);
        Assert.Equal(default, outcomes.Baseline);
    }

    [Fact]
    public void Episodes_without_a_slice_label_count_in_the_none_slice()
    {
        var episode = Judged(RolloutArms.Candidate, "x", 1) with { Labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty };

        var outcomes = RolloutOutcomes.FromEpisodes([episode]);

        Assert.Equal("(none)", Assert.Single(outcomes.Slices).Slice);
    }

    [Fact]
    public void A_slice_given_twice_or_named_like_the_whole_population_is_refused()
    {
        var slice = new SliceOutcomes("refunds", Binary(1, 1), Binary(1, 1));

        var twice = Assert.Throws<ArgumentException>(() => new RolloutOutcomes([slice, slice]));
        Assert.Contains("refunds", twice.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => new SliceOutcomes(SliceVerdict.Overall, default, default));
        Assert.Throws<ArgumentException>(() => new SliceOutcomes(" ", default, default));
    }

    [Fact]
    public void The_tally_refuses_an_unknown_arm_or_a_bad_score_and_counts_nothing()
    {
        var tally = new OutcomeTally();

        var arm = Assert.Throws<ArgumentException>(() => tally.Add("shadow", "refunds", 1));
        Assert.Contains("shadow", arm.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentOutOfRangeException>(() => tally.Add(RolloutArms.Baseline, "refunds", 2));
        Assert.Throws<ArgumentException>(() => tally.Add(RolloutArms.Baseline, SliceVerdict.Overall, 1));

        Assert.Equal(0, tally.Episodes);
        Assert.Empty(tally.ToOutcomes().Slices);
    }

    [Fact]
    public void The_tally_tells_which_episodes_it_counted()
    {
        var tally = new OutcomeTally();

        Assert.True(tally.Add(Judged(RolloutArms.Baseline, "refunds", 1)));
        Assert.False(tally.Add(Judged(null, "refunds", 1)));
        Assert.False(tally.Add(Unjudged(RolloutArms.Baseline, "refunds")));
        Assert.Equal(1, tally.Episodes);
    }

    [Fact]
    public void Counting_one_at_a_time_gives_the_same_outcomes_as_counting_stored_episodes()
    {
        var episode = Gen.Select(Gen.OneOf<string?>(RolloutArms.Baseline, RolloutArms.Candidate, null, "shadow"), Gen.OneOf("a", "b", "c", "d", "e", "f"), Gen.Double[0, 1],
            (arm, slice, score) => (arm, slice, score));
        SeededCheck.ForAll(episode.Array[0, 300], sample =>
        {
            var episodes = sample.Select(e => Judged(e.arm, e.slice, e.score)).ToArray();
            var tally = new OutcomeTally();
            foreach (var e in episodes)
            {
                tally.Add(e);
            }

            var stored = RolloutOutcomes.FromEpisodes(episodes);
            var counted = tally.ToOutcomes();

            Assert.Equal(stored.Baseline, counted.Baseline);
            Assert.Equal(stored.Candidate, counted.Candidate);
            Assert.Equal(stored.Slices, counted.Slices);
            var slices = stored.Slices.Aggregate(default(ArmOutcomes), (sum, s) => sum + s.Baseline + s.Candidate);
            Assert.Equal(stored.Baseline.Episodes + stored.Candidate.Episodes, slices.Episodes);
            Assert.Equal(stored.Baseline.SuccessSum + stored.Candidate.SuccessSum, slices.SuccessSum, 9);
        }, iterations: 100);
    }

    [Fact]
    public void The_tally_loses_no_outcome_when_threads_add_at_once()
    {
        var tally = new OutcomeTally();

        Parallel.For(0, 20_000, i => tally.Add(i % 3 == 0 ? RolloutArms.Candidate : RolloutArms.Baseline, $"slice-{i % 7}", i % 2));

        var outcomes = tally.ToOutcomes();
        Assert.Equal(20_000, tally.Episodes);
        Assert.Equal(20_000, outcomes.Baseline.Episodes + outcomes.Candidate.Episodes);
        Assert.Equal(10_000, outcomes.Baseline.SuccessSum + outcomes.Candidate.SuccessSum);
        Assert.Equal(7, outcomes.Slices.Count);
    }
}
