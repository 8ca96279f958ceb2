using CsCheck;
using Lore.Evaluation;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Evaluation;

/// <summary>
/// Units (users, sessions) are what a canary randomises: the variance of an arm's mean must be the cluster-robust one
/// over units, computed the same way from an in-process tally and from the store's shared per-unit rows.
/// </summary>
public sealed class ClusteredUnitTests
{
    private static readonly string[] Slices = ["billing", "refunds", "shipping"];

    /// <summary>Episodes as (arm, slice, unit, score); units may span slices, never arms.</summary>
    private static readonly Gen<(bool Candidate, int Slice, int Unit, double Score)[]> Traffic =
        Gen.Select(Gen.Int[0, 40], Gen.Bool, Gen.Int[0, 2], Gen.OneOf(Gen.Const(0.0), Gen.Const(1.0), Gen.Double[0, 1]))
            .Select(e => (Candidate: e.Item1 % 2 == 1, Slice: e.Item3, Unit: e.Item1, Score: e.Item4))
            .Array[1, 300];

    /// <summary>The textbook computation: group the episodes by unit, then G/(G-1) * sum (y_i - m n_i)^2 / N^2.</summary>
    private static double DirectClusterVariance(IEnumerable<(int Unit, double Score)> episodes)
    {
        var units = episodes.GroupBy(e => e.Unit).Select(g => (N: g.Count(), Y: g.Sum(e => e.Score))).ToArray();
        double total = units.Sum(u => u.N), mean = units.Sum(u => u.Y) / total;
        if (units.Length < 2)
        {
            return 0;
        }

        var residuals = units.Sum(u => (u.Y - mean * u.N) * (u.Y - mean * u.N));
        return units.Length / (units.Length - 1.0) * residuals / (total * total);
    }

    private static OutcomeTally Tally((bool Candidate, int Slice, int Unit, double Score)[] episodes)
    {
        var tally = new OutcomeTally();
        foreach (var e in episodes)
        {
            tally.Add(e.Candidate ? RolloutArms.Candidate : RolloutArms.Baseline, Slices[e.Slice], $"user-{e.Unit}", e.Score);
        }

        return tally;
    }

    private static void AssertClose(double expected, double actual)
        => Assert.True(Math.Abs(expected - actual) <= 1e-9 * Math.Max(1, Math.Abs(expected)), $"expected {expected}, got {actual}");

    [Fact]
    public void The_cluster_robust_variance_of_a_tally_equals_the_direct_computation_overall_and_per_slice()
    {
        SeededCheck.ForAll(Traffic, episodes =>
        {
            var outcomes = Tally(episodes).ToOutcomes();
            foreach (var candidate in new[] { false, true })
            {
                var arm = episodes.Where(e => e.Candidate == candidate).ToArray();
                var overall = candidate ? outcomes.Candidate : outcomes.Baseline;
                Assert.Equal(arm.Length, overall.Episodes);
                Assert.Equal(arm.Select(e => e.Unit).Distinct().Count(), overall.Units);
                if (arm.Length > 0)
                {
                    AssertClose(DirectClusterVariance(arm.Select(e => (e.Unit, e.Score))), MixtureSequentialTest.ClusterVariance(overall, overall.Mean));
                }

                foreach (var slice in outcomes.Slices)
                {
                    var inSlice = arm.Where(e => Slices[e.Slice] == slice.Slice).ToArray();
                    var sliceArm = candidate ? slice.Candidate : slice.Baseline;
                    Assert.Equal(inSlice.Select(e => e.Unit).Distinct().Count(), sliceArm.Units);
                    if (inSlice.Length > 0)
                    {
                        AssertClose(DirectClusterVariance(inSlice.Select(e => (e.Unit, e.Score))), MixtureSequentialTest.ClusterVariance(sliceArm, sliceArm.Mean));
                    }
                }
            }
        }, iterations: 300);
    }

    [Fact]
    public void The_shared_tally_rows_of_the_store_give_the_same_outcomes_as_an_in_process_tally()
    {
        SeededCheck.ForAll(Traffic, episodes =>
        {
            var rows = episodes
                .Select((e, i) => (e, i))
                .GroupBy(x => (x.e.Candidate, x.e.Slice, x.e.Unit))
                .Select(g => new RolloutUnitTally(0.5, g.Key.Candidate ? RolloutArms.Candidate : RolloutArms.Baseline, Slices[g.Key.Slice], $"user-{g.Key.Unit}",
                    g.Count(), g.Sum(x => x.e.Score), g.Sum(x => x.e.Score * x.e.Score), g.Min(x => x.i)))
                .ToList();

            var shared = SharedRolloutTally.ToOutcomes(rows, 0.5)!;
            var local = Tally(episodes).ToOutcomes();

            Assert.Equal(local.SlicesInOrderSeen, shared.SlicesInOrderSeen);
            foreach (var (a, b) in new[] { (local.Baseline, shared.Baseline), (local.Candidate, shared.Candidate) }
                .Concat(local.Slices.Zip(shared.Slices).SelectMany(p => new[] { (p.First.Baseline, p.Second.Baseline), (p.First.Candidate, p.Second.Candidate) })))
            {
                Assert.Equal((a.Episodes, a.Units), (b.Episodes, b.Units));
                AssertClose(a.SuccessSum, b.SuccessSum);
                AssertClose(a.UnitSquaredSum, b.UnitSquaredSum);
                AssertClose(a.UnitCrossSum, b.UnitCrossSum);
                AssertClose(a.UnitSizeSquaredSum, b.UnitSizeSquaredSum);
            }
        }, iterations: 300);
    }

    [Fact]
    public void The_variance_of_a_difference_is_never_below_the_cluster_robust_or_the_episode_level_one()
    {
        SeededCheck.ForAll(Traffic, episodes =>
        {
            var outcomes = Tally(episodes).ToOutcomes();
            if (outcomes.Baseline.Episodes == 0 || outcomes.Candidate.Episodes == 0)
            {
                return;
            }

            var estimate = MixtureSequentialTest.Difference(outcomes.Baseline, outcomes.Candidate);
            var cluster = MixtureSequentialTest.ClusterVariance(outcomes.Baseline, outcomes.Baseline.Mean) + MixtureSequentialTest.ClusterVariance(outcomes.Candidate, outcomes.Candidate.Mean);
            var independent = MixtureSequentialTest.ObservationVariance(outcomes.Baseline) / outcomes.Baseline.Episodes + MixtureSequentialTest.ObservationVariance(outcomes.Candidate) / outcomes.Candidate.Episodes;
            Assert.True(estimate.Variance >= cluster * (1 - 1e-12));
            Assert.True(estimate.Variance >= independent * (1 - 1e-12));
            AssertClose(outcomes.Candidate.Mean - outcomes.Baseline.Mean, estimate.Effect);
        }, iterations: 300);
    }

    [Fact]
    public void Episodes_without_a_unit_are_each_a_unit_of_their_own_and_leave_the_independent_test_unchanged()
    {
        var anonymous = new OutcomeTally();
        var legacy = default(ArmOutcomes);
        var random = new Random(5);
        for (var i = 0; i < 200; i++)
        {
            var score = random.NextDouble() < 0.7 ? 1.0 : 0.0;
            anonymous.Add(RolloutArms.Baseline, "all", score);
            legacy = legacy.Add(score);
        }

        Assert.Equal(legacy, anonymous.ToOutcomes().Baseline);
        Assert.Equal(200, legacy.Units);
    }

    [Fact]
    public void A_candidate_no_worse_is_rarely_rolled_back_when_units_have_their_own_success_rates()
    {
        // A fixed population of 200 returning units with success propensities from 0.2 to 1 and 100 episodes each:
        // an episode-level test sees 20,000 nearly independent episodes and calls chance differences between the
        // units each arm happened to get a regression; the unit-level test does not.
        const int runs = 60;
        var clustered = new RolloutEvaluator(new EvaluationPolicy { ShareChangeReserve = 0 });
        int unitLevel = 0, episodeLevel = 0;
        for (var run = 0; run < runs; run++)
        {
            var random = new Random(1_000 + run);
            var propensity = Enumerable.Range(0, 200).Select(_ => 0.2 + 0.8 * random.NextDouble()).ToArray();
            var byUnit = new OutcomeTally();
            var byEpisode = new OutcomeTally();
            bool unitAlarm = false, episodeAlarm = false;
            for (var episode = 0; episode < 20_000; episode++)
            {
                var unit = random.Next(200);
                var arm = unit % 2 == 0 ? RolloutArms.Candidate : RolloutArms.Baseline;
                var score = random.NextDouble() < propensity[unit] ? 1.0 : 0.0;
                byUnit.Add(arm, "all", $"u{unit}", score);
                byEpisode.Add(arm, "all", score);
                if (episode % 200 == 199)
                {
                    unitAlarm |= clustered.Evaluate(byUnit.ToOutcomes()).Action == EvaluationAction.Rollback;
                    episodeAlarm |= clustered.Evaluate(byEpisode.ToOutcomes()).Action == EvaluationAction.Rollback;
                }
            }

            unitLevel += unitAlarm ? 1 : 0;
            episodeLevel += episodeAlarm ? 1 : 0;
        }

        Assert.True(unitLevel <= 4, $"{unitLevel} of {runs} A/A runs rolled back with unit-level inference");
        Assert.True(episodeLevel >= 3 * Math.Max(1, unitLevel), $"episode-level inference rolled back {episodeLevel} of {runs}, unit-level {unitLevel}: the test does not show the difference clustering makes");
    }

    [Fact]
    public void A_slice_of_a_handful_of_units_is_reported_but_never_decides()
    {
        var tally = new OutcomeTally();
        for (var i = 0; i < 2_000; i++)
        {
            // Six units, each arm's three with very different rates: a huge episode-level "effect".
            var unit = i % 6;
            tally.Add(unit < 3 ? RolloutArms.Candidate : RolloutArms.Baseline, "vip", $"vip-{unit}", unit < 3 ? (i % 10 < 3 ? 1 : 0) : (i % 10 < 9 ? 1 : 0));
        }

        var decision = new RolloutEvaluator().Evaluate(tally.ToOutcomes());

        Assert.Equal(EvaluationAction.Continue, decision.Action);
        Assert.False(decision.Overall.Comparison.HasEnoughData);
        Assert.Contains("from 20 units", decision.Reason, StringComparison.Ordinal);
    }
}
