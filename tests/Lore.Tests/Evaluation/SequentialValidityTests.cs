using CsCheck;
using Xunit;

namespace Lore.Tests.Evaluation;

/// <summary>
/// The guarantees that make continuous evaluation safe, checked by seeded simulation: with no real difference, checking
/// after every episode rolls back no more often than alpha; the intervals hold the truth at all times; real drops are
/// caught. Each rate is asserted against its nominal level plus a Monte Carlo tolerance of three standard errors (the
/// chance that an exactly nominal procedure fails such an assertion is about 0.1%).
/// </summary>
public sealed class SequentialValidityTests
{
    /// <summary>One simulated rollout: slices (traffic share, success rate), the candidate's share and the policy.</summary>
    private sealed record Stream(int Seed, (double Share, double Rate)[] Slices, double CandidateShare, int Minimum, double Spread);

    private static readonly Gen<Stream> Streams =
        Gen.Select(
            Gen.Int[0, int.MaxValue],
            Gen.Select(Gen.Double[0.2, 1.0], Gen.Double[0.3, 0.97]).Array[1, 5],
            Gen.Double[0.1, 0.6],
            Gen.Int[20, 150],
            Gen.Double[0.05, 0.3],
            (seed, slices, share, minimum, spread) =>
            {
                var total = slices.Sum(s => s.Item1);
                return new Stream(seed, slices.Select(s => (s.Item1 / total, s.Item2)).ToArray(), share, minimum, spread);
            });

    private static Stream[] Sample(Gen<Stream> gen, int count, ulong seed)
    {
        var pcg = new PCG(1, seed);
        return Enumerable.Range(0, count).Select(i => gen.Generate(pcg, null, out _)).ToArray();
    }

    private static double Tolerance(double alpha, int runs) => 3 * Math.Sqrt(alpha * (1 - alpha) / runs);

    /// <summary>Draws one episode of <paramref name="stream"/>: its slice index, arm and pass/fail outcome.</summary>
    private static (int Slice, bool Candidate, int Outcome) Draw(Random random, Stream stream, Func<int, bool, double> rate)
    {
        var u = random.NextDouble();
        var slice = 0;
        while (slice < stream.Slices.Length - 1 && u >= stream.Slices[slice].Share)
        {
            u -= stream.Slices[slice].Share;
            slice++;
        }

        var candidate = random.NextDouble() < stream.CandidateShare;
        return (slice, candidate, random.NextDouble() < rate(slice, candidate) ? 1 : 0);
    }

    [Fact]
    public void In_AA_runs_checked_after_every_episode_the_false_rollback_rate_stays_within_alpha()
    {
        const double alpha = 0.05;
        const int horizon = 1500;
        var streams = Sample(Streams, 300, seed: 20260301);
        var rolledBack = new bool[streams.Length];
        var naiveAlarm = new bool[streams.Length];

        Parallel.For(0, streams.Length, i =>
        {
            var stream = streams[i];
            var evaluator = new RolloutEvaluator(new EvaluationPolicy { Alpha = alpha, MinimumEpisodesPerArm = stream.Minimum, MixtureSpread = stream.Spread });
            var random = new Random(stream.Seed);
            var tally = new OutcomeTally();
            for (var episode = 0; episode < horizon && !rolledBack[i]; episode++)
            {
                var (slice, candidate, outcome) = Draw(random, stream, (s, _) => stream.Slices[s].Rate);
                tally.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, $"slice-{slice}", outcome);
                var outcomes = tally.ToOutcomes();
                rolledBack[i] = evaluator.Evaluate(outcomes).Action == EvaluationAction.Rollback;
                naiveAlarm[i] |= NaiveTestRejects(outcomes.Baseline, outcomes.Candidate, stream.Minimum);
            }
        });

        var rate = rolledBack.Count(r => r) / (double)streams.Length;
        var naive = naiveAlarm.Count(r => r) / (double)streams.Length;
        TestContext.Current.TestOutputHelper?.WriteLine($"false rollback rate {rate:P2}; naive z test checked as often {naive:P2}; {streams.Length} runs of {horizon} episodes");
        Assert.True(rate <= alpha + Tolerance(alpha, streams.Length), $"false rollback rate {rate:P1} over {streams.Length} A/A runs exceeds {alpha:P0} + {Tolerance(alpha, streams.Length):P1}");

        // The same streams do catch the peeking problem: a fixed-sample z test checked as often is far above its level.
        Assert.True(naive > 2 * alpha, $"a naive z test checked after every episode alarmed in only {naive:P1} of the runs");
    }

    [Fact]
    public void A_single_comparison_without_correction_keeps_its_level_when_checked_after_every_episode()
    {
        const double alpha = 0.1;
        const int horizon = 2000;
        var streams = Sample(Streams, 400, seed: 20260302);
        var alarms = new bool[streams.Length];

        Parallel.For(0, streams.Length, i =>
        {
            var stream = streams[i];
            var evaluator = new RolloutEvaluator(new EvaluationPolicy { Alpha = alpha, MinimumEpisodesPerArm = stream.Minimum, MixtureSpread = stream.Spread });
            var random = new Random(stream.Seed);
            var rate = stream.Slices[0].Rate;
            ArmOutcomes baseline = default, candidate = default;
            for (var episode = 0; episode < horizon && !alarms[i]; episode++)
            {
                var outcome = random.NextDouble() < rate ? 1 : 0;
                if (random.NextDouble() < stream.CandidateShare)
                {
                    candidate = candidate.Add(outcome);
                }
                else
                {
                    baseline = baseline.Add(outcome);
                }

                alarms[i] = evaluator.Compare(baseline, candidate).Verdict != ComparisonVerdict.Inconclusive;
            }
        });

        var observed = alarms.Count(a => a) / (double)streams.Length;
        TestContext.Current.TestOutputHelper?.WriteLine($"two-sided false alarm rate {observed:P2} at alpha {alpha}; {streams.Length} runs of {horizon} episodes");
        Assert.True(observed <= alpha + Tolerance(alpha, streams.Length), $"two-sided false alarm rate {observed:P1} exceeds {alpha:P0} + {Tolerance(alpha, streams.Length):P1}");
    }

    [Fact]
    public void The_interval_holds_the_true_difference_at_every_check_in_simulation()
    {
        const double alpha = 0.05;
        const int horizon = 2000;
        var differences = Gen.Select(Streams, Gen.Double[-0.25, 0.25], (stream, difference) => (stream, difference));
        var pcg = new PCG(1, 20260303);
        var runs = Enumerable.Range(0, 300).Select(i => differences.Generate(pcg, null, out _)).ToArray();
        var missed = new bool[runs.Length];

        Parallel.For(0, runs.Length, i =>
        {
            var (stream, difference) = runs[i];
            var evaluator = new RolloutEvaluator(new EvaluationPolicy { Alpha = alpha, MinimumEpisodesPerArm = stream.Minimum, MixtureSpread = stream.Spread });
            var random = new Random(stream.Seed);
            var baselineRate = Math.Clamp(stream.Slices[0].Rate, Math.Max(0, -difference), Math.Min(1, 1 - difference));
            ArmOutcomes baseline = default, candidate = default;
            for (var episode = 0; episode < horizon && !missed[i]; episode++)
            {
                var isCandidate = random.NextDouble() < stream.CandidateShare;
                var outcome = random.NextDouble() < baselineRate + (isCandidate ? difference : 0) ? 1 : 0;
                if (isCandidate)
                {
                    candidate = candidate.Add(outcome);
                }
                else
                {
                    baseline = baseline.Add(outcome);
                }

                var c = evaluator.Compare(baseline, candidate);
                missed[i] = c.HasEnoughData && (c.IntervalLow > difference || c.IntervalHigh < difference);
            }
        });

        var rate = missed.Count(m => m) / (double)runs.Length;
        TestContext.Current.TestOutputHelper?.WriteLine($"the interval missed the truth at some check in {rate:P2} of {runs.Length} runs");
        Assert.True(rate <= alpha + Tolerance(alpha, runs.Length), $"the interval missed the truth at some check in {rate:P1} of the runs");
    }

    [Fact]
    public void A_large_drop_on_one_slice_is_caught_and_blamed_on_that_slice()
    {
        var evaluator = new RolloutEvaluator();
        (string Name, double Share, double Rate)[] slices = [("billing", 0.4, 0.85), ("refunds", 0.3, 0.85), ("shipping", 0.3, 0.75)];
        for (var run = 0; run < 40; run++)
        {
            var random = new Random(run);
            var tally = new OutcomeTally();
            EvaluationDecision? decision = null;
            for (var episode = 0; episode < 4000 && decision?.Action != EvaluationAction.Rollback; episode++)
            {
                var u = random.NextDouble();
                var slice = u < 0.4 ? 0 : u < 0.7 ? 1 : 2;
                var candidate = random.NextDouble() < 0.5;
                var rate = slices[slice].Rate - (candidate && slice == 1 ? 0.3 : 0);
                tally.Add(candidate ? RolloutArms.Candidate : RolloutArms.Baseline, slices[slice].Name, random.NextDouble() < rate ? 1 : 0);
                decision = evaluator.Evaluate(tally.ToOutcomes());
            }

            // The overall test may cross first (the drop shows there too), but no other slice is blamed and refunds
            // carries the strongest evidence of all slices.
            Assert.Equal(EvaluationAction.Rollback, decision!.Action);
            Assert.All(decision.Evidence, e => Assert.Contains(e.Slice, new[] { "refunds", SliceVerdict.Overall }));
            var strongest = decision.Slices.MinBy(s => s.Comparison.PValue)!;
            Assert.Equal("refunds", strongest.Slice);
            Assert.True(strongest.Comparison.Effect < -0.1);
        }
    }

    /// <summary>A fixed-sample two-proportion z test at 5% (pooled variance), the check that peeking breaks.</summary>
    private static bool NaiveTestRejects(ArmOutcomes baseline, ArmOutcomes candidate, int minimum)
    {
        if (baseline.Episodes < minimum || candidate.Episodes < minimum)
        {
            return false;
        }

        var pooled = (baseline.SuccessSum + candidate.SuccessSum) / (baseline.Episodes + candidate.Episodes);
        var variance = pooled * (1 - pooled) * (1.0 / baseline.Episodes + 1.0 / candidate.Episodes);
        return variance > 0 && Math.Abs(candidate.Mean - baseline.Mean) / Math.Sqrt(variance) > 1.959963984540054;
    }
}
