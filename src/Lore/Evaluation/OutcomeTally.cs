namespace Lore;

/// <summary>
/// Counts rollout outcomes as they arrive, one episode at a time in O(1), by arm, slice and unit: evaluating after every
/// episode costs one pass over the slices, never a pass over the episodes or units. Each unit's running totals are kept
/// so that the cluster-robust variance (units, not episodes, are what the rollout randomises) is exact. Safe to use
/// from several threads.
/// </summary>
public sealed class OutcomeTally
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _sliceIndex = new(StringComparer.Ordinal);
    private readonly List<string> _slices = [];
    private readonly Dictionary<(bool Candidate, int Slice, string Unit), (int Episodes, double Sum)> _unitSlices = [];
    private readonly Dictionary<(bool Candidate, string Unit), (int Episodes, double Sum)> _units = [];
    private ArmOutcomes[] _baseline = new ArmOutcomes[4];
    private ArmOutcomes[] _candidate = new ArmOutcomes[4];
    private ArmOutcomes _baselineOverall;
    private ArmOutcomes _candidateOverall;

    /// <summary>Starts an empty tally for the given period of constant canary share (see <see cref="RolloutOutcomes.Period"/>).</summary>
    public OutcomeTally(int period = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(period);
        Period = period;
    }

    /// <summary>How many outcomes have been counted.</summary>
    public int Episodes { get; private set; }

    /// <summary>The period of constant canary share these counts belong to.</summary>
    public int Period { get; }

    /// <summary>
    /// Counts one outcome from a unit of its own (episodes treated as independent): <paramref name="arm"/> is
    /// <see cref="RolloutArms.Baseline"/> or <see cref="RolloutArms.Candidate"/> (any case), <paramref name="score"/> lies
    /// in [0, 1] (1 or 0 for a pass/fail outcome). Throws naming the bad argument and counts nothing when one is out of range.
    /// </summary>
    public void Add(string arm, string slice, double score) => Add(arm, slice, null, score);

    /// <summary>
    /// Counts one outcome of <paramref name="unit"/> (the key the rollout assigned arms by; null: a unit of its own).
    /// Throws naming the bad argument and counts nothing when one is out of range.
    /// </summary>
    public void Add(string arm, string slice, string? unit, double score)
    {
        var candidate = IsCandidate(arm) ?? throw new ArgumentException($"Unknown arm '{arm}': expected '{RolloutArms.Baseline}' or '{RolloutArms.Candidate}'.", nameof(arm));
        ArgumentException.ThrowIfNullOrWhiteSpace(slice);
        if (slice == SliceVerdict.Overall)
        {
            throw new ArgumentException($"'{SliceVerdict.Overall}' names the whole population and cannot be a slice.", nameof(slice));
        }

        if (double.IsNaN(score) || score < 0 || score > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "An outcome score must lie in [0, 1].");
        }

        lock (_gate)
        {
            if (!_sliceIndex.TryGetValue(slice, out var index))
            {
                index = _slices.Count;
                if (index == _baseline.Length)
                {
                    Array.Resize(ref _baseline, index * 2);
                    Array.Resize(ref _candidate, index * 2);
                }

                _sliceIndex.Add(slice, index);
                _slices.Add(slice);
            }

            var arms = candidate ? _candidate : _baseline;
            if (unit is null)
            {
                arms[index] = arms[index].Add(score);
                if (candidate)
                {
                    _candidateOverall = _candidateOverall.Add(score);
                }
                else
                {
                    _baselineOverall = _baselineOverall.Add(score);
                }
            }
            else
            {
                var sliceKey = (candidate, index, unit);
                var before = _unitSlices.GetValueOrDefault(sliceKey);
                _unitSlices[sliceKey] = (before.Episodes + 1, before.Sum + score);
                arms[index] = Grow(arms[index], before, score);

                var unitKey = (candidate, unit);
                var total = _units.GetValueOrDefault(unitKey);
                _units[unitKey] = (total.Episodes + 1, total.Sum + score);
                if (candidate)
                {
                    _candidateOverall = Grow(_candidateOverall, total, score);
                }
                else
                {
                    _baselineOverall = Grow(_baselineOverall, total, score);
                }
            }

            Episodes++;
        }
    }

    /// <summary>
    /// Counts an episode by its <see cref="Episode.Arm"/>, <see cref="Episode.Slice"/>, <see cref="Episode.UnitKey"/>
    /// (a blank key is a unit of its own, as the rollout treats it) and <see cref="Episode.Score"/>; returns false
    /// (counting nothing) when it is in neither arm or has not been judged yet.
    /// </summary>
    public bool Add(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (episode.Score is not { } score || IsCandidate(episode.Arm) is null)
        {
            return false;
        }

        Add(episode.Arm!, episode.Slice, string.IsNullOrWhiteSpace(episode.UnitKey) ? "episode:" + episode.Id : episode.UnitKey, Math.Clamp(score, 0, 1));
        return true;
    }

    /// <summary>The outcomes counted so far, per slice and overall.</summary>
    public RolloutOutcomes ToOutcomes()
    {
        lock (_gate)
        {
            var slices = new SliceOutcomes[_slices.Count];
            for (var i = 0; i < slices.Length; i++)
            {
                slices[i] = new SliceOutcomes(_slices[i], _baseline[i], _candidate[i]);
            }

            return new RolloutOutcomes(slices, _baselineOverall, _candidateOverall, Period);
        }
    }

    /// <summary>The arm's sums after one more episode scoring <paramref name="score"/> from a unit that had <paramref name="before"/>.</summary>
    internal static ArmOutcomes Grow(ArmOutcomes arm, (int Episodes, double Sum) before, double score)
    {
        var (n, y) = before;
        var after = y + score;
        return new ArmOutcomes(
            checked(arm.Episodes + 1),
            arm.SuccessSum + score,
            arm.SquaredSum + score * score,
            n == 0 ? arm.Units + 1 : arm.Units,
            Math.Max(0, arm.UnitSquaredSum + after * after - y * y),
            Math.Max(0, arm.UnitCrossSum + after * (n + 1) - y * n),
            arm.UnitSizeSquaredSum + 2.0 * n + 1);
    }

    /// <summary>True for the candidate arm, false for the baseline, null for anything else.</summary>
    private static bool? IsCandidate(string? arm) =>
        string.Equals(arm, RolloutArms.Candidate, StringComparison.OrdinalIgnoreCase) ? true
        : string.Equals(arm, RolloutArms.Baseline, StringComparison.OrdinalIgnoreCase) ? false
        : null;
}
