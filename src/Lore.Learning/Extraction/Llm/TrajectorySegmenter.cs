namespace Lore.Learning.Extraction.Llm;

/// <summary>One subtask of an episode: consecutive steps opened by a user turn (or a split of a long turn).</summary>
internal sealed record TrajectorySegment(int Number, IReadOnlyList<Step> Steps, string? OpeningUserText)
{
    public int FirstStep => Steps[0].Index;

    public int LastStep => Steps[^1].Index;

    /// <summary>Tools called in the segment.</summary>
    public IReadOnlySet<string> Tools { get; } = Steps.Where(s => s.Kind == StepKind.ToolCall && s.ToolName is not null).Select(s => s.ToolName!).ToHashSet(StringComparer.Ordinal);

    public bool Contains(int stepIndex) => Steps.Any(s => s.Index == stepIndex);
}

/// <summary>
/// Cuts a trajectory into subtasks so each lesson can cite the part that shows it: a new segment starts at every model
/// call that carries a new user message; a segment longer than the limit is split between tool-call clusters (a
/// model call and the tool calls it asked for), and a single cluster longer than the limit is split hard.
/// </summary>
internal static class TrajectorySegmenter
{
    public static IReadOnlyList<TrajectorySegment> Segment(Episode episode, int maxSteps)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxSteps, 1);
        var turns = new List<(List<Step> Steps, string? User)>();
        foreach (var step in episode.Steps)
        {
            var user = step.Kind == StepKind.ModelCall ? step.Request.LastOrDefault(m => m.Role == "user")?.Text : null;
            if (turns.Count == 0 || user is not null)
            {
                turns.Add(([], user));
            }

            turns[^1].Steps.Add(step);
        }

        var segments = new List<TrajectorySegment>();
        foreach (var (steps, user) in turns)
        {
            foreach (var piece in Split(steps, maxSteps))
            {
                segments.Add(new TrajectorySegment(segments.Count + 1, piece, ReferenceEquals(piece[0], steps[0]) ? user : null));
            }
        }

        return segments;
    }

    private static IEnumerable<List<Step>> Split(List<Step> steps, int maxSteps)
    {
        if (steps.Count <= maxSteps)
        {
            yield return steps;
            yield break;
        }

        // Clusters: a model call with the tool steps that follow it.
        var clusters = new List<List<Step>>();
        foreach (var step in steps)
        {
            if (clusters.Count == 0 || step.Kind == StepKind.ModelCall)
            {
                clusters.Add([]);
            }

            clusters[^1].Add(step);
        }

        var current = new List<Step>();
        foreach (var cluster in clusters)
        {
            if (current.Count > 0 && current.Count + cluster.Count > maxSteps)
            {
                yield return current;
                current = [];
            }

            if (cluster.Count > maxSteps)
            {
                for (var i = 0; i < cluster.Count; i += maxSteps)
                {
                    yield return cluster.GetRange(i, Math.Min(maxSteps, cluster.Count - i));
                }

                continue;
            }

            current.AddRange(cluster);
        }

        if (current.Count > 0)
        {
            yield return current;
        }
    }
}
