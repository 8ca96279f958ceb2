using System.Text.Json.Serialization;

namespace Lore;

/// <summary>
/// The running sums of one arm's outcomes (scores in [0, 1]: 1 for a success, 0 for a failure), per episode and per
/// unit. They are all the sequential test needs, so evaluation costs O(1) per episode and counts can come from a store
/// query as easily as from memory. The unit sums (over units i with n_i episodes and score sum y_i: the number of
/// units, the sums of y_i^2, y_i n_i and n_i^2) give the cluster-robust variance of the arm's mean: units are assigned
/// to arms, so their episodes are not independent, and a variance that treats them as independent is too small.
/// </summary>
public readonly record struct ArmOutcomes
{
    /// <summary>
    /// Counts of pass/fail outcomes (or scores whose squares are unknown), each episode its own unit: the squared sum
    /// is taken to be the success sum, exact for 0/1 outcomes and, for scores, the largest variance scores with that
    /// mean can have (so the test stays conservative).
    /// </summary>
    public ArmOutcomes(int episodes, double successSum)
        : this(episodes, successSum, successSum)
    {
    }

    /// <summary>Sums of scores in [0, 1], each episode its own unit; throws naming the first sum that no set of such scores could produce.</summary>
    public ArmOutcomes(int episodes, double successSum, double squaredSum)
        : this(episodes, successSum, squaredSum, episodes, squaredSum, successSum, episodes)
    {
    }

    /// <summary>
    /// Sums of scores in [0, 1] grouped into units: <paramref name="units"/> units, <paramref name="unitSquaredSum"/>
    /// = sum of y_i^2, <paramref name="unitCrossSum"/> = sum of y_i n_i, <paramref name="unitSizeSquaredSum"/> = sum
    /// of n_i^2. Throws naming the first sum that is out of range.
    /// </summary>
    [JsonConstructor]
    public ArmOutcomes(int episodes, double successSum, double squaredSum, int units, double unitSquaredSum, double unitCrossSum, double unitSizeSquaredSum)
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

        if (units < 0 || units > episodes || (units == 0) != (episodes == 0))
        {
            throw new ArgumentOutOfRangeException(nameof(units), units, $"{episodes} episodes come from between 1 and {episodes} units (none without episodes).");
        }

        if (double.IsNaN(unitSquaredSum) || unitSquaredSum < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(unitSquaredSum), unitSquaredSum, "The sum of squared unit totals must not be negative.");
        }

        if (double.IsNaN(unitCrossSum) || unitCrossSum < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(unitCrossSum), unitCrossSum, "The sum of unit totals times unit sizes must not be negative.");
        }

        if (double.IsNaN(unitSizeSquaredSum) || unitSizeSquaredSum < episodes || unitSizeSquaredSum > (double)episodes * episodes)
        {
            throw new ArgumentOutOfRangeException(nameof(unitSizeSquaredSum), unitSizeSquaredSum, $"The sum of squared unit sizes of {episodes} episodes must lie in [{episodes}, {(double)episodes * episodes}].");
        }

        Episodes = episodes;
        SuccessSum = successSum;
        SquaredSum = squaredSum;
        Units = units;
        UnitSquaredSum = unitSquaredSum;
        UnitCrossSum = unitCrossSum;
        UnitSizeSquaredSum = unitSizeSquaredSum;
    }

    /// <summary>How many judged episodes the arm has.</summary>
    public int Episodes { get; }

    /// <summary>The sum of their scores (the number of successes for pass/fail outcomes).</summary>
    public double SuccessSum { get; }

    /// <summary>The sum of their squared scores (equal to <see cref="SuccessSum"/> for pass/fail outcomes).</summary>
    public double SquaredSum { get; }

    /// <summary>How many distinct units (users, sessions: what the rollout assigns) those episodes came from.</summary>
    public int Units { get; }

    /// <summary>The sum over units of the square of the unit's score total.</summary>
    public double UnitSquaredSum { get; }

    /// <summary>The sum over units of the unit's score total times its number of episodes.</summary>
    public double UnitCrossSum { get; }

    /// <summary>The sum over units of the square of the unit's number of episodes.</summary>
    public double UnitSizeSquaredSum { get; }

    /// <summary>The success rate (mean score), or 0 when the arm has no episodes.</summary>
    [JsonIgnore]
    public double Mean => Episodes == 0 ? 0 : SuccessSum / Episodes;

    /// <summary>These outcomes plus one more episode with <paramref name="score"/> (in [0, 1]) from a unit of its own.</summary>
    public ArmOutcomes Add(double score)
    {
        if (double.IsNaN(score) || score < 0 || score > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "An outcome score must lie in [0, 1].");
        }

        return new ArmOutcomes(checked(Episodes + 1), SuccessSum + score, SquaredSum + score * score, Units + 1, UnitSquaredSum + score * score, UnitCrossSum + score, UnitSizeSquaredSum + 1);
    }

    /// <summary>
    /// The outcomes of both populations together, which must come from different units (two arms, two periods of
    /// different units, or per-episode units); a unit in both would be counted as two.
    /// </summary>
    public static ArmOutcomes operator +(ArmOutcomes left, ArmOutcomes right)
        => new(
            checked(left.Episodes + right.Episodes),
            left.SuccessSum + right.SuccessSum,
            left.SquaredSum + right.SquaredSum,
            checked(left.Units + right.Units),
            left.UnitSquaredSum + right.UnitSquaredSum,
            left.UnitCrossSum + right.UnitCrossSum,
            left.UnitSizeSquaredSum + right.UnitSizeSquaredSum);

    /// <summary>The outcomes of both populations together (see the + operator).</summary>
    public static ArmOutcomes Add(ArmOutcomes left, ArmOutcomes right) => left + right;

    /// <summary>
    /// <paramref name="whole"/> without the episodes of <paramref name="part"/>, which must be among them as whole
    /// units; the sums are clamped into range so that rounding in scores never makes the remainder invalid.
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
        var units = episodes == 0 ? 0 : Math.Clamp(whole.Units - part.Units, 1, episodes);
        var sizes = Math.Clamp(whole.UnitSizeSquaredSum - part.UnitSizeSquaredSum, episodes, (double)episodes * episodes);
        return new ArmOutcomes(episodes, sum, squares, units, Math.Max(0, whole.UnitSquaredSum - part.UnitSquaredSum), Math.Max(0, whole.UnitCrossSum - part.UnitCrossSum), sizes);
    }

    /// <summary>The arm's successes over its episodes (and units, when they differ), for logs and the CLI.</summary>
    public override string ToString() => Units == Episodes ? $"{SuccessSum:0.##}/{Episodes}" : $"{SuccessSum:0.##}/{Episodes} ({Units} units)";
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
    /// <summary>One slice's outcomes; <paramref name="slice"/> may not be the name reserved for the whole population.</summary>
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

    /// <summary>The slice's name (a value of the <c>slice</c> label).</summary>
    public string Slice { get; }

    /// <summary>Outcomes of the slice's episodes served the stable snapshot.</summary>
    public ArmOutcomes Baseline { get; }

    /// <summary>Outcomes of the slice's episodes served the candidate.</summary>
    public ArmOutcomes Candidate { get; }
}

/// <summary>
/// What a rollout has observed so far: each slice's outcomes per arm, and the whole population's. Slices partition the
/// episodes (each episode has one slice label). When the outcomes carry units, a unit may have episodes in several
/// slices, so the overall outcomes are given separately (merging each unit's slices); otherwise they are the sum of the
/// slices'. <see cref="Period"/> says which period of constant canary share the counts belong to: a share change moves
/// units between arms, so each period is tested on its own and spends its own planned part of the false-alarm level.
/// </summary>
public sealed class RolloutOutcomes
{
    /// <summary>Takes the slices' outcomes (in the order the slices were first seen); throws when a slice appears twice.</summary>
    public RolloutOutcomes(IEnumerable<SliceOutcomes> slices)
        : this(slices, null, null, 0)
    {
    }

    /// <summary>
    /// Takes the slices' outcomes (in the order the slices were first seen), the overall outcomes of each arm (null:
    /// the sum of the slices') and the ordinal of the share period (0 for the first share the candidate ran at).
    /// </summary>
    public RolloutOutcomes(IEnumerable<SliceOutcomes> slices, ArmOutcomes? baseline, ArmOutcomes? candidate, int period)
    {
        ArgumentNullException.ThrowIfNull(slices);
        ArgumentOutOfRangeException.ThrowIfNegative(period);
        var list = slices.ToList();
        foreach (var slice in list)
        {
            ArgumentNullException.ThrowIfNull(slice, nameof(slices));
        }

        SlicesInOrderSeen = list.Select(s => s.Slice).ToArray();

        // Sorted before summing, so that the same slices give bit-identical totals whatever order they came in.
        list.Sort((a, b) => string.CompareOrdinal(a.Slice, b.Slice));
        ArmOutcomes baselineSum = default, candidateSum = default;
        for (var i = 0; i < list.Count; i++)
        {
            if (i > 0 && list[i].Slice == list[i - 1].Slice)
            {
                throw new ArgumentException($"Slice '{list[i].Slice}' appears more than once.", nameof(slices));
            }

            baselineSum += list[i].Baseline;
            candidateSum += list[i].Candidate;
        }

        Baseline = baseline ?? baselineSum;
        Candidate = candidate ?? candidateSum;
        if (Baseline.Episodes != baselineSum.Episodes || Candidate.Episodes != candidateSum.Episodes)
        {
            throw new ArgumentException($"The overall outcomes ({Baseline.Episodes} baseline, {Candidate.Episodes} candidate episodes) do not match the slices' ({baselineSum.Episodes}, {candidateSum.Episodes}).");
        }

        Slices = list;
        Period = period;
    }

    /// <summary>The baseline arm over all slices.</summary>
    public ArmOutcomes Baseline { get; }

    /// <summary>The candidate arm over all slices.</summary>
    public ArmOutcomes Candidate { get; }

    /// <summary>The slices in ordinal order of their names.</summary>
    public IReadOnlyList<SliceOutcomes> Slices { get; }

    /// <summary>The slice names in the order they were first seen (undeclared slices spend the late-slice reserve in this order).</summary>
    public IReadOnlyList<string> SlicesInOrderSeen { get; }

    /// <summary>The ordinal of the period of constant canary share these counts belong to (0: the first).</summary>
    public int Period { get; }

    /// <summary>
    /// Counts stored episodes by arm (<see cref="RolloutArms"/>, compared without regard to case), slice and unit, using
    /// each episode's <see cref="Episode.Score"/>. Episodes in no arm or not yet judged are not counted. The caller
    /// chooses the window: typically the episodes since the candidate's canary share last changed.
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
