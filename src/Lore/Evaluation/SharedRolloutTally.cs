namespace Lore;

/// <summary>
/// Turns the store's shared rollout tally (per canary share, arm, slice and unit) into the outcomes of one period, so
/// that every host evaluates the same sums. Periods and slices are ordered by their first record, which every host
/// reads the same way, so the alpha plan (period k, the j-th late slice) is the same everywhere.
/// </summary>
public static class SharedRolloutTally
{
    /// <summary>
    /// The outcomes of the period that ran at <paramref name="canaryShare"/>, with its ordinal among the candidate's
    /// periods; null when nothing has been counted at that share yet.
    /// </summary>
    public static RolloutOutcomes? ToOutcomes(IReadOnlyList<RolloutUnitTally> rows, double canaryShare)
    {
        ArgumentNullException.ThrowIfNull(rows);
        var periods = rows.GroupBy(r => r.CanaryShare).Select(g => (Share: g.Key, First: g.Min(r => r.FirstSequence))).OrderBy(p => p.First).ToList();
        var period = periods.FindIndex(p => p.Share.Equals(canaryShare));
        if (period < 0)
        {
            return null;
        }

        var inPeriod = rows.Where(r => r.CanaryShare.Equals(canaryShare)).ToList();
        var slices = new List<SliceOutcomes>();
        foreach (var slice in inPeriod.GroupBy(r => r.Slice, StringComparer.Ordinal).OrderBy(g => g.Min(r => r.FirstSequence)))
        {
            slices.Add(new SliceOutcomes(slice.Key, Sum(slice, RolloutArms.Baseline), Sum(slice, RolloutArms.Candidate)));
        }

        // Overall, a unit is one cluster however many slices its episodes fell in.
        var merged = inPeriod.GroupBy(r => (r.Arm, r.UnitKey))
            .Select(g => new RolloutUnitTally(canaryShare, g.Key.Arm, "", g.Key.UnitKey, g.Sum(r => r.Episodes), g.Sum(r => r.ScoreSum), g.Sum(r => r.SquaredSum), g.Min(r => r.FirstSequence)))
            .ToList();
        return new RolloutOutcomes(slices, Sum(merged, RolloutArms.Baseline), Sum(merged, RolloutArms.Candidate), period);
    }

    /// <summary>One arm's sums over units (each row a distinct unit).</summary>
    internal static ArmOutcomes Sum(IEnumerable<RolloutUnitTally> units, string arm)
    {
        int episodes = 0, count = 0;
        double sum = 0, squares = 0, unitSquares = 0, cross = 0, sizes = 0;
        foreach (var unit in units)
        {
            if (!string.Equals(unit.Arm, arm, StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }

            episodes = checked(episodes + unit.Episodes);
            count++;
            sum += unit.ScoreSum;
            squares += unit.SquaredSum;
            unitSquares += unit.ScoreSum * unit.ScoreSum;
            cross += unit.ScoreSum * unit.Episodes;
            sizes += (double)unit.Episodes * unit.Episodes;
        }

        return new ArmOutcomes(episodes, Math.Clamp(sum, 0, episodes), Math.Clamp(squares, 0, Math.Clamp(sum, 0, episodes)), count, unitSquares, cross, sizes);
    }
}
