namespace Lore.Learning;

/// <summary>
/// The evidence behind a lesson, in two columns a reviewer reads side by side: the episodes it was learned from (the
/// pattern it reacts to) and the episodes in which the behaviour it recommends was done and worked. A decision is
/// better made on the trajectories than on the counts.
/// </summary>
/// <param name="Lesson">The lesson the evidence is for.</param>
/// <param name="LearnedFrom">Episodes the lesson was learned from (at most the number asked for), with their steps and outcomes.</param>
/// <param name="ShownToWork">Episodes in which the recommended behaviour was done and worked (the exemplars), likewise.</param>
/// <param name="LearnedFromMissing">Cited episodes the store no longer holds (deleted under retention or erasure).</param>
/// <param name="ShownToWorkMissing">Cited exemplar episodes the store no longer holds.</param>
public sealed record ReviewEvidence(
    Lesson Lesson,
    IReadOnlyList<ReviewEvidenceEpisode> LearnedFrom,
    IReadOnlyList<ReviewEvidenceEpisode> ShownToWork,
    int LearnedFromMissing,
    int ShownToWorkMissing);

/// <summary>One evidence episode as a reviewer needs it: the task, where it ran, how it ended and what happened.</summary>
/// <param name="Id">The episode id.</param>
/// <param name="Task">What the agent was asked to do.</param>
/// <param name="Slice">The episode's <c>slice</c> label, when it has one.</param>
/// <param name="Score">The episode's outcome score in [0, 1], null when not judged.</param>
/// <param name="Succeeded">Whether it succeeded (score at least 0.5), null when not judged.</param>
/// <param name="Steps">Its steps, in order.</param>
public sealed record ReviewEvidenceEpisode(string Id, string Task, string? Slice, double? Score, bool? Succeeded, IReadOnlyList<ReviewEvidenceStep> Steps);

/// <summary>One step of an evidence episode in a line: a model call's answer, or a tool call and whether it failed.</summary>
/// <param name="Index">The step's position in the episode.</param>
/// <param name="Kind">Model call or tool call.</param>
/// <param name="Tool">The tool called, for a tool call.</param>
/// <param name="Failed">True for a tool call that failed.</param>
/// <param name="Text">The tool's result or error, or the model's answer, cut to <see cref="ReviewEvidenceStep.MaxTextLength"/> characters.</param>
public sealed record ReviewEvidenceStep(int Index, StepKind Kind, string? Tool, bool Failed, string Text)
{
    /// <summary>How much of a step's text is shown.</summary>
    public const int MaxTextLength = 300;

    internal static ReviewEvidenceStep From(Step step)
    {
        var text = step.Kind == StepKind.ToolCall
            ? step.ToolResult ?? step.Error ?? ""
            : step.Error ?? string.Join(" ", step.Response.Select(m => m.Text ?? string.Join(", ", m.ToolCalls.Select(c => $"-> {c.Name}"))));
        text = text.Trim();
        return new ReviewEvidenceStep(step.Index, step.Kind, step.ToolName, step.ToolFailed, text.Length > MaxTextLength ? text[..MaxTextLength] + "…" : text);
    }
}
