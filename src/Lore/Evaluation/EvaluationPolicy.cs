namespace Lore;

/// <summary>
/// How strict continuous evaluation is: the family-wise false-alarm level, how much data a slice needs before it can
/// trigger anything, and the mixing spread that tunes the sequential test to the effect sizes worth catching.
/// </summary>
public sealed class EvaluationPolicy
{
    /// <summary>
    /// The chance, over the whole rollout and however often it is checked, of any false alarm: rolling back a
    /// candidate that is no worse on any slice, or (separately) promoting one that is no better overall. It is split
    /// equally (Bonferroni) between the overall test and each slice's test.
    /// </summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>
    /// Episodes each arm needs in a slice (or overall) before that comparison can decide anything. The test's variance
    /// is estimated from the data, which is only trustworthy once both arms have some episodes.
    /// </summary>
    public int MinimumEpisodesPerArm { get; set; } = 100;

    /// <summary>
    /// The standard deviation of the normal mixing distribution over the true difference in success rate (the mSPRT's
    /// tau). The test reaches a decision fastest for differences around this size; the default suits drops of about
    /// ten points. Any positive value keeps the false-alarm guarantee.
    /// </summary>
    public double MixtureSpread { get; set; } = 0.1;

    /// <summary>
    /// The number of slices to correct for even before they have appeared. The correction divides <see cref="Alpha"/>
    /// by one more than the larger of this and the number of slices observed; setting it to the number of slices the
    /// rollout can see keeps the guarantee exact when slices appear one by one.
    /// </summary>
    public int ExpectedSlices { get; set; }

    /// <summary>Throws naming the first option that is out of range.</summary>
    public void Validate()
    {
        if (double.IsNaN(Alpha) || Alpha <= 0 || Alpha >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must lie strictly between 0 and 1.");
        }

        if (MinimumEpisodesPerArm < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumEpisodesPerArm), MinimumEpisodesPerArm, "MinimumEpisodesPerArm must be at least 1.");
        }

        if (double.IsNaN(MixtureSpread) || MixtureSpread <= 0 || MixtureSpread > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MixtureSpread), MixtureSpread, "MixtureSpread must lie in (0, 1] (it is a spread of differences between success rates).");
        }

        if (ExpectedSlices < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpectedSlices), ExpectedSlices, "ExpectedSlices must not be negative.");
        }
    }
}
