namespace Lore;

/// <summary>
/// Counts rollout outcomes as they arrive, one episode at a time in O(1), for in-process monitoring: evaluating after
/// every episode costs one pass over the slices, never a pass over the episodes. Safe to use from several threads.
/// </summary>
public sealed class OutcomeTally
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, int> _sliceIndex = new(StringComparer.Ordinal);
    private readonly List<string> _slices = [];
    private ArmOutcomes[] _baseline = new ArmOutcomes[4];
    private ArmOutcomes[] _candidate = new ArmOutcomes[4];

    /// <summary>How many outcomes have been counted.</summary>
    public int Episodes { get; private set; }

    /// <summary>
    /// Counts one outcome: <paramref name="arm"/> is <see cref="RolloutArms.Baseline"/> or
    /// <see cref="RolloutArms.Candidate"/> (any case), <paramref name="score"/> lies in [0, 1] (1 or 0 for a pass/fail
    /// outcome). Throws naming the bad argument and counts nothing when one is out of range.
    /// </summary>
    public void Add(string arm, string slice, double score)
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
            arms[index] = arms[index].Add(score);
            Episodes++;
        }
    }

    /// <summary>
    /// Counts an episode by its <see cref="Episode.Arm"/>, <see cref="Episode.Slice"/> and <see cref="Episode.Score"/>;
    /// returns false (counting nothing) when it is in neither arm or has not been judged yet.
    /// </summary>
    public bool Add(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (episode.Score is not { } score || IsCandidate(episode.Arm) is null)
        {
            return false;
        }

        Add(episode.Arm!, episode.Slice, score);
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

            return new RolloutOutcomes(slices);
        }
    }

    /// <summary>True for the candidate arm, false for the baseline, null for anything else.</summary>
    private static bool? IsCandidate(string? arm) =>
        string.Equals(arm, RolloutArms.Candidate, StringComparison.OrdinalIgnoreCase) ? true
        : string.Equals(arm, RolloutArms.Baseline, StringComparison.OrdinalIgnoreCase) ? false
        : null;
}
