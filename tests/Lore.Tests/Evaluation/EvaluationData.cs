using System.Collections.Immutable;
using CsCheck;

namespace Lore.Tests.Evaluation;

/// <summary>Episodes and outcome counts for evaluation tests, in a line each.</summary>
internal static class EvaluationData
{
    private static int _next;

    /// <summary>A judged episode in <paramref name="arm"/> and <paramref name="slice"/> with the given score and injected lessons.</summary>
    public static Episode Judged(string? arm, string slice, double score, params string[] lessons) => new()
    {
        Id = $"ep-{Interlocked.Increment(ref _next)}",
        Labels = ImmutableSortedDictionary<string, string>.Empty.Add("slice", slice),
        Outcomes = [Outcome.Scored(score)],
        Arm = arm,
        InjectedLessonIds = lessons,
    };

    /// <summary>An episode that has not been judged yet.</summary>
    public static Episode Unjudged(string arm, string slice) => Judged(arm, slice, 1) with { Outcomes = [] };

    /// <summary>Pass/fail outcomes: <paramref name="successes"/> out of <paramref name="episodes"/>.</summary>
    public static ArmOutcomes Binary(int episodes, int successes) => new(episodes, successes);

    /// <summary>Any pass/fail arm of up to <paramref name="max"/> episodes.</summary>
    public static Gen<ArmOutcomes> BinaryArm(int min, int max) =>
        Gen.Int[min, max].SelectMany(n => Gen.Int[0, n].Select(s => new ArmOutcomes(n, s)));

    /// <summary>Any arm of scores in [0, 1], built one score at a time (the sums a real tally produces).</summary>
    public static Gen<ArmOutcomes> ScoredArm(int maxEpisodes) =>
        Gen.Double[0, 1].Array[0, maxEpisodes].Select(scores => scores.Aggregate(default(ArmOutcomes), (arm, s) => arm.Add(s)));
}
