using Lore.Retrieval;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>One model call of an episode, replayed against another snapshot.</summary>
/// <param name="StepIndex">The model call's step index in the episode.</param>
/// <param name="At">When the call was made.</param>
/// <param name="Turn">The latest user text at that call (what retrieval matches besides the task); null when none.</param>
/// <param name="OfferedTools">The tools the call offered, as recorded; null when the recording does not say.</param>
/// <param name="Recorded">The lessons injected into the call, as recorded.</param>
/// <param name="RecordedWithheld">Lessons retrieval picked for the call but the per-lesson holdout withheld, as recorded.</param>
/// <param name="Replayed">The lessons the replayed snapshot's retrieval picks for the same call, in injection order.</param>
/// <param name="Added">Picked by the replay, and neither injected nor withheld in the recording.</param>
/// <param name="Removed">Injected in the recording, and not picked by the replay.</param>
/// <param name="Section">The system-message section the replayed snapshot would have injected; null when none.</param>
public sealed record ReplayedCall(
    int StepIndex,
    DateTimeOffset At,
    string? Turn,
    IReadOnlyList<string>? OfferedTools,
    IReadOnlyList<string> Recorded,
    IReadOnlyList<string> RecordedWithheld,
    IReadOnlyList<string> Replayed,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Removed,
    string? Section)
{
    /// <summary>True when the recorded call was served by lexical retrieval alone (its query embedding was not ready), and so is the replay.</summary>
    public bool LexicalOnly { get; init; }

    /// <summary>True when the replayed snapshot picks exactly what the recording injected (or withheld).</summary>
    public bool Unchanged => Added.Count == 0 && Removed.Count == 0;
}

/// <summary>
/// What a snapshot would have injected at each model call of a stored episode, against what was injected: the
/// question "would snapshot B have behaved differently here?", answered from the recorded requests. Deterministic
/// for the built-in retrieval (the snapshot carries its retrieval settings).
/// </summary>
/// <param name="EpisodeId">The episode replayed.</param>
/// <param name="Task">The episode's task.</param>
/// <param name="RecordedSnapshotId">The snapshot that served the episode; null when none did.</param>
/// <param name="SnapshotId">The snapshot replayed.</param>
/// <param name="Calls">Every model call of the episode, in order.</param>
/// <param name="Lessons">The text of every lesson named in <paramref name="Calls"/>, by id (from the snapshot that served it, else the lesson table).</param>
public sealed record EpisodeReplay(
    string EpisodeId,
    string Task,
    string? RecordedSnapshotId,
    string SnapshotId,
    IReadOnlyList<ReplayedCall> Calls,
    IReadOnlyDictionary<string, string> Lessons)
{
    /// <summary>How many calls the replayed snapshot would have served differently.</summary>
    public int ChangedCalls => Calls.Count(c => !c.Unchanged);

    /// <summary>
    /// True when some call's offered tools were not recorded: retrieval then lets tool-scoped lessons apply, as it
    /// does live for a caller that does not say, so those calls may differ from what a live call would have picked.
    /// </summary>
    public bool ToolsUnknown => Calls.Any(c => c.OfferedTools is null);
}

/// <summary>Recomputes, from an episode's recorded requests, what another snapshot would have injected at each model call.</summary>
public static class EpisodeReplayer
{
    /// <summary>
    /// Replays the tenant's episode against a snapshot of the same tenant. Throws <see cref="KeyNotFoundException"/>
    /// naming a missing episode or snapshot, and <see cref="InvalidDataException"/> when the snapshot's content no longer
    /// hashes to its id (a changed snapshot is never used, here as when serving).
    /// </summary>
    /// <param name="store">The store holding both.</param>
    /// <param name="episodeId">The episode.</param>
    /// <param name="snapshotId">The snapshot to replay.</param>
    /// <param name="tenant">The tenant both belong to.</param>
    /// <param name="embeddingGenerator">The generator the serving runtime embeds with, when it uses one; null for the built-in retrieval.</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task<EpisodeReplay> ReplayAsync(
        ILoreStore store,
        string episodeId,
        string snapshotId,
        string tenant = Tenants.Default,
        IEmbeddingGenerator<string, Embedding<float>>? embeddingGenerator = null,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(episodeId);
        ArgumentException.ThrowIfNullOrWhiteSpace(snapshotId);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        var episode = await store.GetEpisodeAsync(tenant, episodeId, cancellationToken).ConfigureAwait(false);
        if (episode is null || episode.Tenant != tenant)
        {
            throw new KeyNotFoundException($"No episode '{episodeId}' for tenant '{tenant}'.");
        }

        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false);
        if (snapshot is null || snapshot.Tenant != tenant)
        {
            throw new KeyNotFoundException($"No snapshot '{snapshotId}' for tenant '{tenant}'.");
        }

        if (!snapshot.IsIntact)
        {
            throw new InvalidDataException(
                $"Snapshot '{snapshotId}' was changed after it was made (its content no longer hashes to its id); Lore does not serve or replay it. Run 'lore audit verify'.");
        }

        var index = await LessonIndex.BuildAsync(snapshot, embeddingGenerator is null ? null : new LessonEmbeddingCache(embeddingGenerator, keepBuilds: 1), cancellationToken).ConfigureAwait(false);
        var calls = new List<ReplayedCall>();
        string? turn = null;
        foreach (var step in episode.Steps.OrderBy(s => s.Index))
        {
            if (step.Kind != StepKind.ModelCall)
            {
                continue;
            }

            // A step records only the messages new at its call; the latest user text so far is the call's turn.
            turn = LatestUserText(step.Request) ?? turn;
            var query = new RetrievalQuery
            {
                Task = episode.Task,
                Turn = turn,
                Tenant = tenant,
                UnitKey = episode.UnitKey,
                Labels = episode.Labels,
                AvailableTools = step.OfferedTools,
            };
            // A call served lexically (its query embedding was not ready) is replayed lexically: the same rule, the same picks.
            var result = await RetrieveAsync(index, query, step.LexicalOnly ? null : embeddingGenerator, cancellationToken).ConfigureAwait(false);
            var replayed = result.Lessons.Select(l => l.Lesson.Id).ToArray();
            var recorded = step.InjectedLessonIds;
            var withheld = step.WithheldLessonIds;
            calls.Add(new ReplayedCall(
                step.Index,
                step.At,
                turn,
                step.OfferedTools,
                recorded,
                withheld,
                replayed,
                [.. replayed.Where(id => !recorded.Contains(id) && !withheld.Contains(id))],
                [.. recorded.Where(id => !replayed.Contains(id))],
                result.Section) { LexicalOnly = step.LexicalOnly });
        }

        var lessons = await TextsAsync(store, episode.SnapshotId, snapshot, calls, cancellationToken).ConfigureAwait(false);
        return new EpisodeReplay(episode.Id, episode.Task, episode.SnapshotId, snapshot.Id, calls, lessons);
    }

    private static async ValueTask<RetrievalResult> RetrieveAsync(LessonIndex index, RetrievalQuery query, IEmbeddingGenerator<string, Embedding<float>>? generator, CancellationToken cancellationToken)
    {
        if (index.Count == 0)
        {
            return RetrievalResult.None(index.SnapshotId);
        }

        if (generator is null || !index.UsesEmbeddingGenerator)
        {
            return index.Retrieve(query);
        }

        var vector = await generator.GenerateVectorAsync(LessonIndex.QueryText(query.Task, query.Turn), cancellationToken: cancellationToken).ConfigureAwait(false);
        return index.Retrieve(query, vector.Span);
    }

    /// <summary>The texts of the lessons the calls name: the replayed snapshot's, the recorded snapshot's, else the lesson table's.</summary>
    private static async Task<Dictionary<string, string>> TextsAsync(ILoreStore store, string? recordedSnapshotId, Snapshot replayed, List<ReplayedCall> calls, CancellationToken cancellationToken)
    {
        var texts = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var lesson in replayed.Lessons)
        {
            texts.TryAdd(lesson.Id, lesson.Text);
        }

        var named = calls.SelectMany(c => c.Recorded.Concat(c.RecordedWithheld).Concat(c.Replayed)).Distinct(StringComparer.Ordinal).ToList();
        if (named.All(texts.ContainsKey))
        {
            return Only(texts, named);
        }

        if (recordedSnapshotId is not null && recordedSnapshotId != replayed.Id
            && await store.GetSnapshotAsync(recordedSnapshotId, cancellationToken).ConfigureAwait(false) is { } served)
        {
            foreach (var lesson in served.Lessons)
            {
                texts.TryAdd(lesson.Id, lesson.Text);
            }
        }

        foreach (var id in named.Where(id => !texts.ContainsKey(id)))
        {
            if (await store.GetLessonAsync(id, cancellationToken).ConfigureAwait(false) is { } latest)
            {
                texts[id] = latest.Text;
            }
        }

        return Only(texts, named);
    }

    private static Dictionary<string, string> Only(Dictionary<string, string> texts, List<string> ids)
        => ids.Where(texts.ContainsKey).ToDictionary(id => id, id => texts[id], StringComparer.Ordinal);

    private static string? LatestUserText(IReadOnlyList<TrajectoryMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (string.Equals(messages[i].Role, "user", StringComparison.OrdinalIgnoreCase))
            {
                return messages[i].Text;
            }
        }

        return null;
    }
}
