namespace Lore;

/// <summary>
/// How a new snapshot reaches users and what the control plane may do on its own while it does: where learning's
/// snapshots enter (served at once, shadow or canary), and whether continuous evaluation may roll back, promote or
/// retire a harmful lesson without a person. The defaults keep the behaviour of a plain runtime: new snapshots are
/// served at once, and a candidate an operator starts is rolled back automatically on a significant regression.
/// </summary>
public sealed class RolloutPolicy
{
    /// <summary>
    /// Where a snapshot made by learning (or by retiring a harmful lesson) starts: <see cref="RolloutStage.None"/>
    /// serves it to everyone at once, <see cref="RolloutStage.Shadow"/> logs what it would inject, and
    /// <see cref="RolloutStage.Canary"/> serves it to <see cref="CanaryShare"/> of the units.
    /// </summary>
    public RolloutStage EntryStage { get; set; } = RolloutStage.None;

    /// <summary>The share of units (in (0, 1]) a canary serves the candidate to.</summary>
    public double CanaryShare { get; set; } = 0.1;

    /// <summary>
    /// Moves a shadow candidate into canary after this many episodes of shadow in this process (0: stays in shadow
    /// until an operator runs <c>lore canary</c>).
    /// </summary>
    public int ShadowEpisodes { get; set; }

    /// <summary>
    /// When a new snapshot arrives while another candidate is in canary: true replaces the running candidate (its
    /// evidence is discarded), false (the default) leaves the canary to finish and keeps the new snapshot out of rollout.
    /// </summary>
    public bool ReplaceRunningCanary { get; set; }

    /// <summary>
    /// A check a snapshot must pass before it enters canary automatically (for example an offline replay against the
    /// stable snapshot: <c>OfflineEvaluation.CanaryGate(runner)</c>). Given the stable snapshot (null when none) and the
    /// candidate. A failed check keeps the snapshot out of rollout, audited with the reason. Operators can still start a
    /// canary by hand with <c>lore canary</c>.
    /// </summary>
    public Func<Snapshot?, Snapshot, CancellationToken, Task<CanaryGateResult>>? CanaryGate { get; set; }

    /// <summary>Roll a canary back at once when evaluation finds a significant regression overall or on a slice.</summary>
    public bool AutoRollback { get; set; } = true;

    /// <summary>Promote a canary when evaluation finds it significantly better overall and worse nowhere.</summary>
    public bool AutoPromote { get; set; }

    /// <summary>
    /// Whether a significant growth of any failure mode rolls the candidate back (with <see cref="AutoRollback"/>). Off by
    /// default: such a growth holds the candidate in canary (no automatic promotion) and is audited, and only the growth
    /// of a mode listed in <c>EvaluationPolicy.SevereFailureModes</c> rolls back.
    /// </summary>
    public bool RollbackOnFailureModeGrowth { get; set; }

    /// <summary>Judged canary episodes (both arms) this process must have seen before it promotes automatically.</summary>
    public int MinimumCanaryEpisodes { get; set; }

    /// <summary>How long a canary must have run in this process before it is promoted automatically.</summary>
    public TimeSpan MinimumCanaryDuration { get; set; } = TimeSpan.Zero;

    /// <summary>
    /// Retire a served lesson that per-lesson attribution finds significantly harmful, through a new snapshot without
    /// it that enters the rollout at <see cref="EntryStage"/>; the snapshot's other lessons stay.
    /// </summary>
    public bool RetireHarmfulLessons { get; set; } = true;

    /// <summary>Judged episodes between two per-lesson attribution passes.</summary>
    public int AttributionEvery { get; set; } = 200;

    /// <summary>How many of the most recent ended episodes an attribution pass reads.</summary>
    public int AttributionWindow { get; set; } = 5000;

    /// <summary>A copy, so a runtime keeps the policy it was opened with while the caller's instance changes.</summary>
    public RolloutPolicy Clone() => (RolloutPolicy)MemberwiseClone();

    /// <summary>Throws naming the first option that is out of range.</summary>
    public RolloutPolicy Validate()
    {
        if (!Enum.IsDefined(EntryStage))
        {
            throw new ArgumentOutOfRangeException(nameof(EntryStage), EntryStage, "EntryStage must be None, Shadow or Canary.");
        }

        if (double.IsNaN(CanaryShare) || CanaryShare <= 0 || CanaryShare > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(CanaryShare), CanaryShare, "CanaryShare must lie in (0, 1].");
        }

        if (ShadowEpisodes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(ShadowEpisodes), ShadowEpisodes, "ShadowEpisodes must be 0 (manual) or positive.");
        }

        if (MinimumCanaryEpisodes < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumCanaryEpisodes), MinimumCanaryEpisodes, "MinimumCanaryEpisodes must not be negative.");
        }

        if (MinimumCanaryDuration < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(MinimumCanaryDuration), MinimumCanaryDuration, "MinimumCanaryDuration must not be negative.");
        }

        if (AttributionEvery < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(AttributionEvery), AttributionEvery, "AttributionEvery must be at least 1.");
        }

        if (AttributionWindow < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(AttributionWindow), AttributionWindow, "AttributionWindow must be at least 1.");
        }

        return this;
    }
}

/// <summary>The verdict of a <see cref="RolloutPolicy.CanaryGate"/>: whether the snapshot may enter canary, and why.</summary>
public sealed record CanaryGateResult(bool Passed, string Reason, string DetailsJson = "{}");
