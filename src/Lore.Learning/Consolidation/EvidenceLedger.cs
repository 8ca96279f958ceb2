using System.Collections.Immutable;

namespace Lore.Learning.Consolidation;

/// <summary>What evidence accounting needs of one stored episode.</summary>
internal sealed record EvidenceEpisode(string Id, string Source, string Task, ImmutableSortedDictionary<string, string> Labels);

/// <summary>Counts of a set of cited episodes, as the store resolved them.</summary>
internal sealed record EvidenceTally(IReadOnlyList<string> Resolved, int DistinctSources, int DistinctTasks, double LargestSourceShare, ImmutableSortedDictionary<string, string> SharedLabels)
{
    public static EvidenceTally Empty { get; } = new([], 0, 0, 0, ImmutableSortedDictionary<string, string>.Empty);
}

/// <summary>
/// Evidence is counted where the data lives: every episode id a candidate cites is resolved against the window or
/// the store, ids that do not exist (or belong to another tenant, or have not ended) are dropped, and distinct sources,
/// distinct tasks, each source's share and the labels all the evidence shares are computed here, never taken from
/// what an extractor reports. A source is <see cref="Episode.EvidenceSource"/> (trusted unit, or the API key that sent
/// the episode); a task is the <c>task_id</c> label when the episode has one, else its task text.
/// </summary>
internal sealed class EvidenceLedger
{
    /// <summary>Episodes looked up in the store per pass at most; citations beyond it are not counted (bounded work for hostile claims).</summary>
    internal const int MaxLoads = 2000;

    private readonly string _tenant;
    private readonly IReadOnlySet<string> _episodeLabels;
    private readonly Dictionary<string, EvidenceEpisode?> _byId = new(StringComparer.Ordinal);
    private int _loads;

    public EvidenceLedger(string tenant, IEnumerable<Episode> window, IReadOnlySet<string> episodeLabels)
    {
        _tenant = tenant;
        _episodeLabels = episodeLabels;
        foreach (var episode in window)
        {
            _byId[episode.Id] = Describe(episode);
        }
    }

    /// <summary>
    /// The task an episode counts toward: its <c>task_id</c> label (benchmarks label repeated trials), else its unit and
    /// task text folded (one customer asking the same thing again is another trial, another customer asking it is
    /// another task), else the episode itself.
    /// </summary>
    public static string TaskKey(Episode episode)
    {
        if (episode.Labels.TryGetValue("task_id", out var id) && !string.IsNullOrWhiteSpace(id))
        {
            return "id:" + id.Trim();
        }

        var text = string.Join(' ', episode.Task.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToLowerInvariant();
        return text.Length > 0 ? "text:" + episode.EvidenceSource + "\u001f" + text : "episode:" + episode.Id;
    }

    private static EvidenceEpisode Describe(Episode episode)
        => new(episode.Id, episode.EvidenceSource, TaskKey(episode), episode.Labels);

    /// <summary>Looks up, in the store, the cited ids the window does not hold (within <see cref="MaxLoads"/>).</summary>
    public async Task ResolveAsync(IEnumerable<string> ids, Func<string, CancellationToken, Task<Episode?>>? load, CancellationToken cancellationToken)
    {
        foreach (var id in ids)
        {
            if (_byId.ContainsKey(id))
            {
                continue;
            }

            if (load is null || _loads >= MaxLoads || string.IsNullOrEmpty(id))
            {
                continue;
            }

            _loads++;
            var episode = await load(id, cancellationToken).ConfigureAwait(false);
            _byId[id] = episode is not null && episode.Tenant == _tenant && episode.EndedAt is not null ? Describe(episode) : null;
        }
    }

    /// <summary>True when the id resolved to an ended episode of the tenant.</summary>
    public bool Exists(string id) => _byId.TryGetValue(id, out var e) && e is not null;

    /// <summary>The evidence source of a resolved episode.</summary>
    public string? SourceOf(string id) => _byId.TryGetValue(id, out var e) ? e?.Source : null;

    /// <summary>Counts the resolved ones among <paramref name="ids"/>; unresolved ids are left out.</summary>
    public EvidenceTally Tally(IEnumerable<string> ids)
    {
        var resolved = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var perSource = new Dictionary<string, int>(StringComparer.Ordinal);
        var tasks = new HashSet<string>(StringComparer.Ordinal);
        ImmutableSortedDictionary<string, string>? shared = null;
        foreach (var id in ids)
        {
            if (!seen.Add(id) || !_byId.TryGetValue(id, out var episode) || episode is null)
            {
                continue;
            }

            resolved.Add(id);
            perSource[episode.Source] = perSource.GetValueOrDefault(episode.Source) + 1;
            tasks.Add(episode.Task);
            shared = shared is null
                ? episode.Labels.RemoveRange(_episodeLabels)
                : Intersect(shared, episode.Labels);
        }

        if (resolved.Count == 0)
        {
            return EvidenceTally.Empty;
        }

        return new EvidenceTally(
            resolved,
            perSource.Count,
            tasks.Count,
            (double)perSource.Values.Max() / resolved.Count,
            shared ?? ImmutableSortedDictionary<string, string>.Empty);
    }

    private static ImmutableSortedDictionary<string, string> Intersect(ImmutableSortedDictionary<string, string> shared, ImmutableSortedDictionary<string, string> labels)
    {
        var result = shared;
        foreach (var (key, value) in shared)
        {
            if (!labels.TryGetValue(key, out var other) || !string.Equals(other, value, StringComparison.Ordinal))
            {
                result = result.Remove(key);
            }
        }

        return result;
    }
}
