using System.Globalization;
using System.Text.Json.Serialization;

namespace Lore;

/// <summary>What the measured success of episodes with a lesson says about the lesson.</summary>
public enum LessonImpact
{
    /// <summary>Not enough data, or no difference the test can tell from chance yet.</summary>
    Inconclusive,

    /// <summary>Episodes with the lesson succeed significantly less often than comparable episodes without it.</summary>
    Harmful,

    /// <summary>Episodes with the lesson succeed significantly more often than comparable episodes without it.</summary>
    Helpful,
}

/// <summary>
/// The observed success of episodes that had a lesson injected against comparable episodes that did not: a
/// description of where a lesson went and how those episodes did, for reports. It is observational (retrieval
/// decides where a lesson goes), so nothing retires a lesson on it; the per-lesson holdout experiment
/// (<c>LessonHarmTest</c>) is the evidence for that.
/// </summary>
/// <remarks>
/// Lessons are injected where retrieval finds them relevant, not at random, so a raw with/without comparison mixes the
/// lesson's effect with the kind of task it is injected into. The effect is therefore compared within each slice and
/// averaged with weights proportional to the episodes with the lesson (the effect on the episodes that got it); only
/// slices where both sides reach the minimum episodes count. The interval and p-value come from the same always-valid
/// mixture test as rollout evaluation, at a level divided (Bonferroni) by the number of lessons attributed at once.
/// </remarks>
/// <param name="LessonId">The lesson.</param>
/// <param name="With">Judged episodes (all slices) that had the lesson injected.</param>
/// <param name="Without">Judged episodes (all slices) that did not.</param>
/// <param name="SlicesCompared">Slices where both sides had enough episodes to be compared.</param>
/// <param name="Effect">Success with the lesson minus without, averaged over the compared slices (the raw difference when none could be compared).</param>
/// <param name="IntervalLow">Low end of the always-valid confidence interval for the effect, at level <paramref name="Alpha"/>.</param>
/// <param name="IntervalHigh">High end of that interval.</param>
/// <param name="PValue">The always-valid p-value of "no effect".</param>
/// <param name="Alpha">The level the lesson was judged at, after the correction for attributing several lessons.</param>
/// <param name="HasEnoughData">Whether at least one slice could be compared; without it the impact is inconclusive.</param>
/// <param name="Impact">The verdict.</param>
public sealed record LessonAttribution(
    string LessonId,
    ArmOutcomes With,
    ArmOutcomes Without,
    int SlicesCompared,
    double Effect,
    double IntervalLow,
    double IntervalHigh,
    double PValue,
    double Alpha,
    bool HasEnoughData,
    LessonImpact Impact)
{
    /// <summary>True when episodes with the lesson did significantly worse than comparable ones without it (observational: not a reason to retire it).</summary>
    [JsonIgnore]
    public bool Harmful => Impact == LessonImpact.Harmful;

    /// <summary>The raw rates in the shape a <see cref="Lesson"/> records them.</summary>
    public LessonEffect ToLessonEffect() => new(With.Episodes, With.Mean, Without.Episodes, Without.Mean);

    /// <summary>A one-line account of the evidence for an audit record or a CLI listing.</summary>
    public string Describe()
    {
        var c = CultureInfo.InvariantCulture;
        return string.Create(c, $"lesson {LessonId}: {With.Mean:0.000} with vs {Without.Mean:0.000} without ({Effect:+0.000;-0.000;0.000} within {SlicesCompared} slice(s), {(1 - Alpha) * 100:0.##}% interval [{IntervalLow:0.000}, {IntervalHigh:0.000}], p = {PValue:0.####}; {With.Episodes} vs {Without.Episodes} episodes)");
    }
}
