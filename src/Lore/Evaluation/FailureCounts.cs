namespace Lore;

/// <summary>
/// Counts judged rollout episodes by arm, slice, unit and failure mode, in O(1) per episode (plus the unit's few modes),
/// keeping for every mode the unit sums the cluster-robust sequential test needs: the rate of a mode per episode is a
/// mean of 0/1 scores like the success rate, over units assigned to arms. Feeds <see cref="FailureShiftAnalyzer"/>,
/// from episodes (offline, status, diff) or from the store's shared tally (a running canary). Not thread-safe.
/// </summary>
public sealed class FailureCounts
{
    private readonly Dictionary<string, int> _sliceIndex = new(StringComparer.Ordinal);
    private readonly List<string> _slices = [];
    private readonly Dictionary<string, int> _modeIndex = new(StringComparer.Ordinal);
    private readonly List<string> _modes = [];
    private readonly Dictionary<(bool Candidate, int Scope, string Unit), UnitCell> _units = [];
    private readonly Dictionary<(bool Candidate, int Scope), (int Episodes, int Units, double SizeSquares)> _common = [];
    private readonly Dictionary<(bool Candidate, int Scope, int Mode), (int Failures, double Squares, double Cross)> _modeSums = [];

    /// <summary>Starts empty, for the given period of constant canary share (see <see cref="RolloutOutcomes.Period"/>).</summary>
    public FailureCounts(int period = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(period);
        Period = period;
    }

    /// <summary>The period of constant canary share these counts belong to.</summary>
    public int Period { get; }

    /// <summary>How many episodes have been counted.</summary>
    public int Episodes { get; private set; }

    /// <summary>The slices in the order they were first seen.</summary>
    public IReadOnlyList<string> SlicesInOrderSeen => _slices;

    /// <summary>The failure modes in the order they were first seen.</summary>
    public IReadOnlyList<string> ModesInOrderSeen => _modes;

    /// <summary>
    /// Counts one judged episode of <paramref name="unit"/> in <paramref name="arm"/> and <paramref name="slice"/>, failed
    /// in <paramref name="mode"/> (null for a success). Throws naming the bad argument and counts nothing when one is invalid.
    /// </summary>
    public void Add(string arm, string slice, string unit, string? mode)
    {
        var candidate = IsCandidate(arm) ?? throw new ArgumentException($"Unknown arm '{arm}': expected '{RolloutArms.Baseline}' or '{RolloutArms.Candidate}'.", nameof(arm));
        ArgumentException.ThrowIfNullOrWhiteSpace(slice);
        ArgumentException.ThrowIfNullOrWhiteSpace(unit);
        if (slice == SliceVerdict.Overall)
        {
            throw new ArgumentException($"'{SliceVerdict.Overall}' names the whole population and cannot be a slice.", nameof(slice));
        }

        if (mode is not null && string.IsNullOrWhiteSpace(mode))
        {
            throw new ArgumentException("A failure mode must not be blank (pass null for a success).", nameof(mode));
        }

        var scope = RegisterSlice(slice) + 1;
        var modeIndex = mode is null ? -1 : RegisterMode(mode);
        AddTo(candidate, 0, unit, modeIndex);
        AddTo(candidate, scope, unit, modeIndex);
        Episodes++;
    }

    /// <summary>
    /// Counts an episode by its arm, slice and unit (a blank unit is a unit of its own) with the given mode (null for a
    /// success); returns false, counting nothing, when it is in neither arm or has not been judged.
    /// </summary>
    public bool Add(Episode episode, string? mode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (episode.Succeeded is not { } succeeded || IsCandidate(episode.Arm) is null)
        {
            return false;
        }

        Add(episode.Arm!, episode.Slice, string.IsNullOrWhiteSpace(episode.UnitKey) ? "episode:" + episode.Id : episode.UnitKey, succeeded ? null : mode ?? FailureModes.NoToolError);
        return true;
    }

    /// <summary>Counts the episodes in an arm with their built-in failure modes (<see cref="FailureModes.Of"/>).</summary>
    public static FailureCounts FromEpisodes(IEnumerable<Episode> episodes)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        var counts = new FailureCounts();
        foreach (var episode in episodes)
        {
            counts.Add(episode, FailureModes.Of(episode));
        }

        return counts;
    }

    /// <summary>
    /// Counts the judged episodes served <paramref name="fromSnapshotId"/> as the baseline and those served
    /// <paramref name="toSnapshotId"/> as the candidate (whatever rollout arm they were in), for comparing two snapshots
    /// that both served traffic. A blank unit is a unit of its own.
    /// </summary>
    public static FailureCounts BetweenSnapshots(IEnumerable<Episode> episodes, string fromSnapshotId, string toSnapshotId)
    {
        ArgumentNullException.ThrowIfNull(episodes);
        ArgumentException.ThrowIfNullOrWhiteSpace(fromSnapshotId);
        ArgumentException.ThrowIfNullOrWhiteSpace(toSnapshotId);
        var counts = new FailureCounts();
        foreach (var episode in episodes)
        {
            var arm = episode.SnapshotId == toSnapshotId ? RolloutArms.Candidate : episode.SnapshotId == fromSnapshotId ? RolloutArms.Baseline : null;
            if (arm is not null && episode.Succeeded is not null)
            {
                counts.Add(arm, episode.Slice, string.IsNullOrWhiteSpace(episode.UnitKey) ? "episode:" + episode.Id : episode.UnitKey, FailureModes.Of(episode));
            }
        }

        return counts;
    }

    /// <summary>
    /// The counts of the period that ran at <paramref name="canaryShare"/> in the store's shared tally (unit sums and
    /// their failures), with slices and modes in the order of their first record, as every host reads them; null when
    /// nothing was counted at that share.
    /// </summary>
    public static FailureCounts? FromSharedTally(IReadOnlyList<RolloutUnitTally> units, IReadOnlyList<RolloutFailureTally> failures, double canaryShare)
    {
        ArgumentNullException.ThrowIfNull(units);
        ArgumentNullException.ThrowIfNull(failures);
        var periods = units.GroupBy(r => r.CanaryShare).Select(g => (Share: g.Key, First: g.Min(r => r.FirstSequence))).OrderBy(p => p.First).ToList();
        var period = periods.FindIndex(p => p.Share.Equals(canaryShare));
        if (period < 0)
        {
            return null;
        }

        var counts = new FailureCounts(period);
        var inPeriod = units.Where(r => r.CanaryShare.Equals(canaryShare)).OrderBy(r => r.FirstSequence).ToList();
        foreach (var row in inPeriod)
        {
            counts.RegisterSlice(row.Slice);
        }

        var failed = failures.Where(f => f.CanaryShare.Equals(canaryShare)).OrderBy(f => f.FirstSequence).ToList();
        var byUnit = new Dictionary<(string Arm, string Slice, string Unit), List<RolloutFailureTally>>();
        foreach (var row in failed)
        {
            counts.RegisterMode(row.FailureMode);
            var key = (row.Arm, row.Slice, row.UnitKey);
            if (!byUnit.TryGetValue(key, out var list))
            {
                byUnit[key] = list = [];
            }

            list.Add(row);
        }

        foreach (var row in inPeriod)
        {
            var rowFailures = byUnit.GetValueOrDefault((row.Arm, row.Slice, row.UnitKey)) ?? [];
            var successes = row.Episodes - rowFailures.Sum(f => f.Episodes);
            foreach (var failure in rowFailures)
            {
                for (var i = 0; i < failure.Episodes; i++)
                {
                    counts.Add(row.Arm, row.Slice, row.UnitKey, failure.FailureMode);
                }
            }

            for (var i = 0; i < successes; i++)
            {
                counts.Add(row.Arm, row.Slice, row.UnitKey, null);
            }
        }

        return counts;
    }

    /// <summary>One arm's outcomes for a mode (score 1 when the episode failed in it) over a slice, or overall when <paramref name="slice"/> is null.</summary>
    public ArmOutcomes ModeOutcomes(string arm, string? slice, string mode)
    {
        var candidate = IsCandidate(arm) ?? throw new ArgumentException($"Unknown arm '{arm}'.", nameof(arm));
        ArgumentNullException.ThrowIfNull(mode);
        var scope = slice is null ? 0 : _sliceIndex.TryGetValue(slice, out var s) ? s + 1 : -1;
        return scope < 0 || !_modeIndex.TryGetValue(mode, out var m) ? default : Outcomes(candidate, scope, m);
    }

    /// <summary>The outcomes of one arm in one scope (0: overall, i + 1: the i-th slice) for mode <paramref name="mode"/>.</summary>
    internal ArmOutcomes Outcomes(bool candidate, int scope, int mode)
    {
        var common = _common.GetValueOrDefault((candidate, scope));
        if (common.Episodes == 0)
        {
            return default;
        }

        var sums = _modeSums.GetValueOrDefault((candidate, scope, mode));
        return new ArmOutcomes(common.Episodes, sums.Failures, sums.Failures, common.Units, sums.Squares, sums.Cross, common.SizeSquares);
    }

    internal int ModeIndex(string mode) => _modeIndex[mode];

    private int RegisterSlice(string slice)
    {
        if (!_sliceIndex.TryGetValue(slice, out var index))
        {
            index = _slices.Count;
            _sliceIndex.Add(slice, index);
            _slices.Add(slice);
        }

        return index;
    }

    private int RegisterMode(string mode)
    {
        if (!_modeIndex.TryGetValue(mode, out var index))
        {
            index = _modes.Count;
            _modeIndex.Add(mode, index);
            _modes.Add(mode);
        }

        return index;
    }

    /// <summary>
    /// One more episode for a unit: its size n grows by one, so every mode it already failed in gains y in the sum of
    /// y n; the mode of this episode (if any) gains 1 in y, 2y + 1 in the sum of y^2 and y + n + 1 in the sum of y n.
    /// </summary>
    private void AddTo(bool candidate, int scope, string unit, int mode)
    {
        var key = (candidate, scope, unit);
        if (!_units.TryGetValue(key, out var cell))
        {
            _units[key] = cell = new UnitCell();
        }

        var n = cell.Episodes;
        var common = _common.GetValueOrDefault((candidate, scope));
        _common[(candidate, scope)] = (common.Episodes + 1, n == 0 ? common.Units + 1 : common.Units, common.SizeSquares + 2.0 * n + 1);
        if (cell.Failures is { } failures)
        {
            foreach (var (other, y) in failures)
            {
                if (other != mode)
                {
                    var sums = _modeSums[(candidate, scope, other)];
                    _modeSums[(candidate, scope, other)] = (sums.Failures, sums.Squares, sums.Cross + y);
                }
            }
        }

        if (mode >= 0)
        {
            cell.Failures ??= [];
            var y = cell.Failures.GetValueOrDefault(mode);
            var sums = _modeSums.GetValueOrDefault((candidate, scope, mode));
            _modeSums[(candidate, scope, mode)] = (sums.Failures + 1, sums.Squares + 2.0 * y + 1, sums.Cross + y + n + 1);
            cell.Failures[mode] = y + 1;
        }

        cell.Episodes = n + 1;
    }

    private static bool? IsCandidate(string? arm) =>
        string.Equals(arm, RolloutArms.Candidate, StringComparison.OrdinalIgnoreCase) ? true
        : string.Equals(arm, RolloutArms.Baseline, StringComparison.OrdinalIgnoreCase) ? false
        : null;

    private sealed class UnitCell
    {
        public int Episodes { get; set; }

        public Dictionary<int, int>? Failures { get; set; }
    }
}
