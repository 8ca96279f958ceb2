using Xunit;
using static Lore.Tests.Evaluation.EvaluationData;

namespace Lore.Tests.Evaluation;

/// <summary>Per-lesson attribution: a single harmful lesson is singled out, and where lessons are injected does not fool it.</summary>
public sealed class LessonAttributionTests
{
    private static readonly RolloutEvaluator Evaluator = new();

    /// <summary>
    /// Two slices of different difficulty; "stale" is injected into half of the refunds episodes and costs 30 points,
    /// "tip" into half of the billing episodes and adds 20, "style" into a third of all episodes and changes nothing.
    /// </summary>
    private static List<Episode> Workplace(int seed, int count = 4000)
    {
        var random = new Random(seed);
        var episodes = new List<Episode>(count);
        for (var i = 0; i < count; i++)
        {
            var refunds = random.NextDouble() < 0.5;
            var lessons = new List<string>();
            var rate = refunds ? 0.85 : 0.55;
            if (refunds && random.NextDouble() < 0.5)
            {
                lessons.Add("stale");
                rate -= 0.3;
            }

            if (!refunds && random.NextDouble() < 0.5)
            {
                lessons.Add("tip");
                rate += 0.2;
            }

            if (random.NextDouble() < 1.0 / 3)
            {
                lessons.Add("style");
            }

            var arm = lessons.Count > 0 ? RolloutArms.Candidate : RolloutArms.Baseline;
            episodes.Add(Judged(arm, refunds ? "refunds" : "billing", random.NextDouble() < rate ? 1 : 0, [.. lessons]));
        }

        return episodes;
    }

    [Fact]
    public void A_single_harmful_lesson_is_singled_out_among_neutral_and_helpful_ones()
    {
        var attributions = Evaluator.AttributeLessons(Workplace(seed: 1)).ToDictionary(a => a.LessonId);

        Assert.Equal(["stale", "style", "tip"], attributions.Keys.Order(StringComparer.Ordinal));
        Assert.Equal(LessonImpact.Harmful, attributions["stale"].Impact);
        Assert.True(attributions["stale"].Harmful);
        Assert.InRange(attributions["stale"].Effect, -0.4, -0.2);
        Assert.True(attributions["stale"].IntervalHigh < 0);
        Assert.Equal(LessonImpact.Inconclusive, attributions["style"].Impact);
        Assert.Equal(LessonImpact.Helpful, attributions["tip"].Impact);
        Assert.All(attributions.Values, a => Assert.Equal(0.05 / 3, a.Alpha, 15));
    }

    [Fact]
    public void A_lesson_injected_mostly_into_hard_tasks_is_not_blamed_for_their_difficulty()
    {
        // "hard-tasks" does nothing, but goes into 90% of billing (55% success) and 10% of refunds (90% success).
        var random = new Random(3);
        var episodes = new List<Episode>();
        for (var i = 0; i < 6000; i++)
        {
            var refunds = random.NextDouble() < 0.5;
            var injected = random.NextDouble() < (refunds ? 0.1 : 0.9);
            var success = random.NextDouble() < (refunds ? 0.9 : 0.55) ? 1 : 0;
            string[] lessons = injected ? ["hard-tasks"] : [];
            episodes.Add(Judged(RolloutArms.Candidate, refunds ? "refunds" : "billing", success, lessons));
        }

        var attribution = Assert.Single(Evaluator.AttributeLessons(episodes));
        var raw = attribution.With.Mean - attribution.Without.Mean;

        Assert.True(raw < -0.2, $"the raw difference {raw:0.000} should look harmful");
        Assert.Equal(2, attribution.SlicesCompared);
        Assert.Equal(LessonImpact.Inconclusive, attribution.Impact);
        Assert.True(attribution.IntervalLow < 0 && attribution.IntervalHigh > 0);
    }

    [Fact]
    public void A_lesson_with_no_comparable_episodes_without_it_is_reported_but_never_flagged()
    {
        // Injected into every billing episode: nothing in billing to compare with, refunds is a different population.
        var episodes = Enumerable.Range(0, 400).Select(i => Judged(RolloutArms.Candidate, "billing", i % 10 < 3 ? 1 : 0, "everywhere"))
            .Concat(Enumerable.Range(0, 400).Select(i => Judged(RolloutArms.Candidate, "refunds", i % 10 < 9 ? 1 : 0)))
            .ToList();

        var attribution = Assert.Single(Evaluator.AttributeLessons(episodes));

        Assert.False(attribution.HasEnoughData);
        Assert.Equal(0, attribution.SlicesCompared);
        Assert.Equal(LessonImpact.Inconclusive, attribution.Impact);
        Assert.Equal(-0.6, attribution.Effect, 9);
        var effect = attribution.ToLessonEffect();
        Assert.Equal((400, 400), (effect.WithCount, effect.WithoutCount));
        Assert.Equal(0.3, effect.WithSuccessRate, 9);
        Assert.Equal(0.9, effect.WithoutSuccessRate, 9);
    }

    [Fact]
    public void A_lesson_injected_at_several_calls_of_one_episode_counts_once_and_unjudged_episodes_not_at_all()
    {
        Episode[] episodes =
        [
            Judged(RolloutArms.Candidate, "refunds", 1, "a", "a", "b"),
            Judged(RolloutArms.Candidate, "refunds", 0, "b"),
            Unjudged(RolloutArms.Candidate, "refunds") with { InjectedLessonIds = ["a", "c"] },
        ];

        var attributions = Evaluator.AttributeLessons(episodes);

        Assert.Equal(["a", "b"], attributions.Select(a => a.LessonId));
        Assert.Equal(new ArmOutcomes(1, 1), attributions[0].With);
        Assert.Equal(new ArmOutcomes(1, 0), attributions[0].Without);
        Assert.Equal(new ArmOutcomes(2, 1), attributions[1].With);
        Assert.Equal(default, attributions[1].Without);
    }

    [Fact]
    public void Attribution_is_the_same_whatever_order_the_episodes_come_in()
    {
        var episodes = Workplace(seed: 5, count: 1500);
        var shuffled = episodes.OrderBy(e => e.Id.GetHashCode(StringComparison.Ordinal)).ToList();

        var inOrder = Evaluator.AttributeLessons(episodes);
        var reordered = Evaluator.AttributeLessons(shuffled);

        Assert.Equal(inOrder.Select(a => (a.LessonId, a.With.Episodes, a.Impact)), reordered.Select(a => (a.LessonId, a.With.Episodes, a.Impact)));
        Assert.Equal(inOrder.Select(a => a.Effect), reordered.Select(a => a.Effect), (x, y) => Math.Abs(x - y) < 1e-9);
    }

    [Fact]
    public void The_description_carries_the_evidence()
    {
        var stale = Evaluator.AttributeLessons(Workplace(seed: 1)).Single(a => a.LessonId == "stale");

        var text = stale.Describe();

        Assert.StartsWith("lesson stale: ", text, StringComparison.Ordinal);
        Assert.Contains($"{stale.With.Episodes} vs {stale.Without.Episodes} episodes", text, StringComparison.Ordinal);
        Assert.Contains("within 1 slice(s)", text, StringComparison.Ordinal);
    }
}
