using System.Text.Json.Serialization;

namespace Lore;

/// <summary>
/// The running sums of one arm's outcomes (scores in [0, 1]: 1 for a success, 0 for a failure). They are all the
/// sequential test needs, so evaluation costs O(1) per episode and counts can come from a store query as easily as
/// from memory.
/// </summary>
public readonly record struct ArmOutcomes
{
    /// <summary>
    /// Counts of pass/fail outcomes (or scores whose squares are unknown): the squared sum is taken to be the success
    /// sum, exact for 0/1 outcomes and, for scores, the largest variance scores with that mean can have (so the test
    /// stays conservative).
    /// </summary>
    public ArmOutcomes(int episodes, double successSum)
        : this(episodes, successSum, successSum)
    {
    }

    /// <summary>Sums of scores in [0, 1]; throws naming the first sum that no set of such scores could produce.</summary>
    [JsonConstructor]
    public ArmOutcomes(int episodes, double successSum, double squaredSum)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(episodes);
        if (double.IsNaN(successSum) || successSum < 0 || successSum > episodes)
        {
            throw new ArgumentOutOfRangeException(nameof(successSum), successSum, $"The success sum of {episodes} episodes must lie in [0, {episodes}].");
        }

        if (double.IsNaN(squaredSum) || squaredSum < 0 || squaredSum > successSum)
        {
            throw new ArgumentOutOfRangeException(nameof(squaredSum), squaredSum, $"The squared sum must lie in [0, success sum {successSum}] (scores lie in [0, 1]).");
        }

        Episodes = episodes;
        SuccessSum = successSum;
        SquaredSum = squaredSum;
    }

    /// <summary>How many judged episodes the arm has.</summary>
    public int Episodes { get; }

    /// <summary>The sum of their scores (the number of successes for pass/fail outcomes).</summary>
    public double SuccessSum { get; }

    /// <summary>The sum of their squared scores (equal to <see cref="SuccessSum"/> for pass/fail outcomes).</summary>
    public double SquaredSum { get; }

    /// <summary>The success rate (mean score), or 0 when the arm has no episodes.</summary>
    [JsonIgnore]
    public double Mean => Episodes == 0 ? 0 : SuccessSum / Episodes;

    /// <summary>These outcomes plus one more episode with <paramref name="score"/> (in [0, 1]).</summary>
    public ArmOutcomes Add(double score)
    {
        if (double.IsNaN(score) || score < 0 || score > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "An outcome score must lie in [0, 1].");
        }

        return new ArmOutcomes(checked(Episodes + 1), SuccessSum + score, SquaredSum + score * score);
    }

    /// <summary>The outcomes of both populations together.</summary>
    public static ArmOutcomes operator +(ArmOutcomes left, ArmOutcomes right)
        => new(checked(left.Episodes + right.Episodes), left.SuccessSum + right.SuccessSum, left.SquaredSum + right.SquaredSum);

    /// <summary>The outcomes of both populations together.</summary>
    public static ArmOutcomes Add(ArmOutcomes left, ArmOutcomes right) => left + right;

    /// <summary>
    /// <paramref name="whole"/> without the episodes of <paramref name="part"/>, which must be among them; the sums are
    /// clamped into range so that rounding in scores never makes the remainder invalid.
    /// </summary>
    internal static ArmOutcomes Remainder(ArmOutcomes whole, ArmOutcomes part)
    {
        var episodes = whole.Episodes - part.Episodes;
        if (episodes < 0)
        {
            throw new ArgumentException($"The part ({part.Episodes} episodes) is larger than the whole ({whole.Episodes}).", nameof(part));
        }

        var sum = Math.Clamp(whole.SuccessSum - part.SuccessSum, 0, episodes);
        var squares = Math.Clamp(whole.SquaredSum - part.SquaredSum, 0, sum);
        return new ArmOutcomes(episodes, sum, squares);
    }

    public override string ToString() => $"{SuccessSum:0.##}/{Episodes}";
}

/// <summary>The names of the two rollout arms as episodes record them in <see cref="Episode.Arm"/>.</summary>
public static class RolloutArms
{
    /// <summary>Units served the snapshot in effect before the rollout.</summary>
    public const string Baseline = "baseline";

    /// <summary>Units served the snapshot being rolled out.</summary>
    public const string Candidate = "candidate";
}

/// <summary>One slice's outcomes in each arm; slices are the values of the <c>slice</c> label.</summary>
public sealed record SliceOutcomes
{
    public SliceOutcomes(string slice, ArmOutcomes baseline, ArmOutcomes candidate)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(slice);
        if (slice == SliceVerdict.Overall)
        {
            throw new ArgumentException($"'{SliceVerdict.Overall}' names the whole population and cannot be a slice.", nameof(slice));
        }

        Slice = slice;
        Baseline = baseline;
        Candidate = candidate;
    }

    public string Slice { get; }

    public ArmOutcomes Baseline { get; }

    public ArmOutcomes Candidate { get; }
}

/// <summary>
/// What a rollout has observed so far: each slice's outcomes per arm, and the whole population's. Slices partition the
/// episodes (each episode has one slice label), so the overall outcomes are the sum of the slices'.
/// </summary>
public sealed class RolloutOutcomes
{
    /// <summary>Takes the slices' outcomes; throws when a slice appears twice.</summary>
    public RolloutOutcomes(IEnumerable<SliceOutcomes> slices)
    {
        ArgumentNullException.ThrowIfNull(slices);
        var list = slices.ToList();
        foreach (var slice in list)
        {
            ArgumentNullException.ThrowIfNull(slice, nameof(slices));
        }

        // Sorted before summing, so that the same slices give bit-identical totals whatever order they came in.
        list.Sort((a, b) => string.CompareOrdinal(a.Slice, b.Slice));
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0 && list[i].Slice == list[i - 1].Slice)
            {
                throw new ArgumentException($"Slice '{list[i].Slice}' appears more than once.", nameof(slices));
            }

            Baseline += list[i].Baseline;
            Candidate += list[i].Candidate;
        }

        Slices = list;
    }

    /// <summary>The baseline arm over all slices.</summary>
    public ArmOutcomes Baseline { get; }

    /// <summary>The candidate arm over all slices.</summary>
    public ArmOutcomes Candidate { get; }

    /// <summary>The slices in ordinal order of their names.</summary>
    public IReadOnlyList<SliceOutcomes> Slices { get; }

    /// <summary>
    /// Counts stored episodes by arm (<see cref="RolloutArms"/>, compared without regard to case) and slice, using each
    /// episode's <see cref="Episode.Score"/>. Episodes in no arm or not yet judged are not counted. The caller chooses
    /// the window: typically the episodes since the candidate snapshot's rollout began.
    /// </summary>
    public static RolloutOutcomes FromEpisodes(IEnumerable<Episode> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var tally = new OutcomeTally();
        foreach (var episode in episodes)
        {
            tally.Add(episode);
        }

        return tally.ToOutcomes();
    }
}
