namespace Lore.Learning.Guards;

/// <summary>
/// The hosts a lesson's evidence vouches for: hosts passed as tool-call arguments in its evidence episodes, by at least
/// as many distinct units as the policy asks of evidence, so one user cannot vouch for an address. Tool results do not
/// count: injected content arrives there.
/// </summary>
internal static class EvidenceHosts
{
    /// <summary>Episodes loaded from the store per lesson at most, when a lesson's evidence lies outside the window.</summary>
    private const int MaxLoadedEpisodes = 50;

    /// <summary>A loader the guard calls only when the lesson names a host the policy does not list.</summary>
    public static Func<CancellationToken, ValueTask<IReadOnlySet<string>>> For(
        Lesson lesson,
        IReadOnlyDictionary<string, Episode> window,
        Func<string, CancellationToken, Task<Episode?>>? load,
        int minSources) => async cancellationToken =>
    {
        var units = new Dictionary<string, HashSet<string>>(StringComparer.Ordinal);
        void Seen(string? json, string unit)
        {
            if (string.IsNullOrEmpty(json))
            {
                return;
            }

            foreach (var host in HostNames.Find(ScreenText.Of(json).Visible))
            {
                if (!units.TryGetValue(host.Host, out var set))
                {
                    units[host.Host] = set = new HashSet<string>(StringComparer.Ordinal);
                }

                set.Add(unit);
            }
        }

        var loaded = 0;
        foreach (var id in lesson.Evidence.EpisodeIds)
        {
            if (!window.TryGetValue(id, out var episode))
            {
                if (load is null || loaded >= MaxLoadedEpisodes)
                {
                    continue;
                }

                loaded++;
                episode = await load(id, cancellationToken).ConfigureAwait(false);
                if (episode is null)
                {
                    continue;
                }
            }

            foreach (var step in episode.Steps)
            {
                if (step.Kind == StepKind.ToolCall)
                {
                    Seen(step.ToolArguments, episode.EvidenceSource);
                }

                foreach (var call in step.Response.SelectMany(m => m.ToolCalls))
                {
                    Seen(call.ArgumentsJson, episode.EvidenceSource);
                }
            }
        }

        return units.Where(p => p.Value.Count >= minSources).Select(p => p.Key).ToHashSet(StringComparer.Ordinal);
    };
}
