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
    /// by a plan fixed before any data: between the periods of constant canary share (the first gets all but
    /// <see cref="ShareChangeReserve"/>, period k after k share changes gets <c>ShareChangeReserve/(k(k+1))</c>), and within a period between the overall test and the declared slices (equally) and the slices nobody
    /// declared (the <see cref="LateSliceReserve"/>, the j-th such slice to appear getting 1/(j(j+1)) of it).
    /// </summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>
    /// Episodes each arm needs in a slice (or overall) before that comparison can decide anything. The test's variance
    /// is estimated from the data, which is only trustworthy once both arms have some episodes.
    /// </summary>
    public int MinimumEpisodesPerArm { get; set; } = 100;

    /// <summary>
    /// Distinct units (what the rollout assigns arms by: users, sessions) each arm needs in a slice (or overall) before
    /// that comparison can decide anything. The variance of an arm's mean is estimated from its units, which is only
    /// trustworthy once there are a few dozen of them; a slice made of a handful of units is reported, never acted on.
    /// </summary>
    public int MinimumUnitsPerArm { get; set; } = 20;

    /// <summary>
    /// The slices the rollout is expected to see (values of the <c>slice</c> label), declared up front so that each gets
    /// an equal share of the level from the first look. Slices that appear without being declared share
    /// <see cref="LateSliceReserve"/>.
    /// </summary>
    public IList<string> DeclaredSlices { get; init; } = [];

    /// <summary>
    /// The part of the level kept for the periods after share changes (and stage re-entries at a new share); the first
    /// period of a candidate spends the rest. The k-th later period gets <c>ShareChangeReserve/(k(k+1))</c>, so any
    /// number of changes together never spend more than <see cref="Alpha"/>.
    /// </summary>
    public double ShareChangeReserve { get; set; } = 0.25;

    /// <summary>
    /// The part of each period's level kept for slices nobody declared; the rest is split equally between the overall
    /// test and the declared slices (or the <see cref="ExpectedSlices"/> first slices to appear).
    /// </summary>
    public double LateSliceReserve { get; set; } = 0.5;

    /// <summary>
    /// The standard deviation of the normal mixing distribution over the true difference in success rate (the mSPRT's
    /// tau). The test reaches a decision fastest for differences around this size; the default suits drops of about
    /// ten points. Any positive value keeps the false-alarm guarantee.
    /// </summary>
    public double MixtureSpread { get; set; } = 0.1;

    /// <summary>
    /// When no <see cref="DeclaredSlices"/> are named, the number of slices to plan for anyway: the first this many
    /// slices to appear are treated as declared (an equal share each, from the first look), later ones as late.
    /// </summary>
    public int ExpectedSlices { get; set; }

    /// <summary>
    /// The share of units each lesson is withheld from where retrieval would inject it (deterministic by a hash of the
    /// tenant, the lesson and the unit, recorded on the episode's model-call steps). It turns every lesson into a small
    /// randomised experiment, the only evidence on which a lesson is retired for harm; 0 (the default) runs no
    /// experiment, and then no lesson is ever retired for harm. 0.05-0.1 is typical.
    /// </summary>
    public double LessonHoldoutShare { get; set; }

    /// <summary>
    /// The chance, over the whole rollout and however often it is checked, that the failure-mode shift analysis
    /// reports any failure mode as grown (or shrunk) when its rate did not change: the family-wise level of all the
    /// per-mode, per-slice tests together. It is split like <see cref="Alpha"/> (by share period, then between the
    /// overall test and the slices), and between modes: the <see cref="SevereFailureModes"/> and the first
    /// <see cref="ExpectedFailureModes"/> modes to appear share all but <see cref="LateSliceReserve"/> equally, the
    /// j-th later mode gets <c>LateSliceReserve/(j(j+1))</c> of it.
    /// </summary>
    public double FailureShiftAlpha { get; set; } = 0.05;

    /// <summary>
    /// The mSPRT mixing spread for a change in one failure mode's rate per episode: failure modes are rarer than
    /// failures overall, so the default tunes the test to changes of about five points.
    /// </summary>
    public double FailureModeSpread { get; set; } = 0.05;

    /// <summary>How many failure modes to plan for before any appear: the first this many to appear get an equal share of the level from the first look.</summary>
    public int ExpectedFailureModes { get; set; } = 8;

    /// <summary>
    /// Failure modes whose growth is severe: it rolls the candidate back (when the rollout policy allows automatic
    /// rollback) instead of only holding it. Each entry is a mode as reported (<c>tool issue_refund: amount exceeds
    /// limit</c>) or a category, label or reason as judges give it (<c>wrong_refund</c>); severe modes get their
    /// share of the level from the first look, like declared slices.
    /// </summary>
    public IList<string> SevereFailureModes { get; init; } = [];

    /// <summary>A copy (with its own slice list), so a runtime keeps the policy it was opened with.</summary>
    public EvaluationPolicy Clone() => new()
    {
        Alpha = Alpha,
        MinimumEpisodesPerArm = MinimumEpisodesPerArm,
        MinimumUnitsPerArm = MinimumUnitsPerArm,
        DeclaredSlices = [.. DeclaredSlices],
        ShareChangeReserve = ShareChangeReserve,
        LateSliceReserve = LateSliceReserve,
        MixtureSpread = MixtureSpread,
        ExpectedSlices = ExpectedSlices,
        LessonHoldoutShare = LessonHoldoutShare,
        FailureShiftAlpha = FailureShiftAlpha,
        FailureModeSpread = FailureModeSpread,
        ExpectedFailureModes = ExpectedFailureModes,
        SevereFailureModes = [.. SevereFailureModes],
    };

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

        if (MinimumUnitsPerArm < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumUnitsPerArm), MinimumUnitsPerArm, "MinimumUnitsPerArm must be at least 2 (a variance over units needs two).");
        }

        if (double.IsNaN(LateSliceReserve) || LateSliceReserve < 0 || LateSliceReserve >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(LateSliceReserve), LateSliceReserve, "LateSliceReserve must lie in [0, 1).");
        }

        if (double.IsNaN(ShareChangeReserve) || ShareChangeReserve < 0 || ShareChangeReserve >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(ShareChangeReserve), ShareChangeReserve, "ShareChangeReserve must lie in [0, 1).");
        }

        ArgumentNullException.ThrowIfNull(DeclaredSlices);
        foreach (var slice in DeclaredSlices)
        {
            if (string.IsNullOrWhiteSpace(slice) || slice == SliceVerdict.Overall)
            {
                throw new ArgumentException($"DeclaredSlices holds '{slice}', which cannot name a slice.", nameof(DeclaredSlices));
            }
        }

        if (DeclaredSlices.Distinct(StringComparer.Ordinal).Count() != DeclaredSlices.Count)
        {
            throw new ArgumentException("DeclaredSlices names a slice more than once.", nameof(DeclaredSlices));
        }

        if (double.IsNaN(LessonHoldoutShare) || LessonHoldoutShare < 0 || LessonHoldoutShare > 0.5)
        {
            throw new ArgumentOutOfRangeException(nameof(LessonHoldoutShare), LessonHoldoutShare, "LessonHoldoutShare must lie in [0, 0.5] (a holdout, not the main arm).");
        }

        if (double.IsNaN(FailureShiftAlpha) || FailureShiftAlpha <= 0 || FailureShiftAlpha >= 1)
        {
            throw new ArgumentOutOfRangeException(nameof(FailureShiftAlpha), FailureShiftAlpha, "FailureShiftAlpha must lie strictly between 0 and 1.");
        }

        if (double.IsNaN(FailureModeSpread) || FailureModeSpread <= 0 || FailureModeSpread > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(FailureModeSpread), FailureModeSpread, "FailureModeSpread must lie in (0, 1] (it is a spread of differences between rates).");
        }

        if (ExpectedFailureModes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpectedFailureModes), ExpectedFailureModes, "ExpectedFailureModes must not be negative.");
        }

        ArgumentNullException.ThrowIfNull(SevereFailureModes);
        if (SevereFailureModes.FirstOrDefault(string.IsNullOrWhiteSpace) is { } blank)
        {
            throw new ArgumentException($"SevereFailureModes holds '{blank}', which cannot name a failure mode.", nameof(SevereFailureModes));
        }

        if (ExpectedSlices < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ExpectedSlices), ExpectedSlices, "ExpectedSlices must not be negative.");
        }
    }
}
