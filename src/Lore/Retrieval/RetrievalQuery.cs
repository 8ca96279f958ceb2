namespace Lore;

/// <summary>What retrieval matches lessons against: the task and the current turn, plus who is asking (for scope).</summary>
public sealed record RetrievalQuery
{
    /// <summary>What the agent was asked to do; the main text lessons are matched against.</summary>
    public required string Task { get; init; }

    /// <summary>The latest user (or tool) text of the conversation, when there is one.</summary>
    public string? Turn { get; init; }

    /// <summary>The tenant asking; only its lessons are candidates.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>The unit asking; unit-scoped lessons of other units are never picked.</summary>
    public string UnitKey { get; init; } = "";

    /// <summary>The episode's labels; lessons whose scope or evidence contradicts them are not picked.</summary>
    public IReadOnlyDictionary<string, string> Labels { get; init; } = new Dictionary<string, string>();

    /// <summary>Tools available to the agent for this call; null when unknown (tool-scoped lessons then apply).</summary>
    public IReadOnlyCollection<string>? AvailableTools { get; init; }

    /// <summary>
    /// The share of units each lesson is withheld from where it would have been injected (the per-lesson holdout,
    /// <see cref="EvaluationPolicy.LessonHoldoutShare"/>); 0 withholds nothing.
    /// </summary>
    public double LessonHoldoutShare { get; init; }
}

/// <summary>A lesson picked for a call, with the scores that picked it.</summary>
public sealed record RetrievedLesson(Lesson Lesson, double Score, double LexicalScore, double VectorScore, int Tokens);

/// <summary>The lessons picked for one call and the system-message section that carries them (null when none).</summary>
public sealed record RetrievalResult(string? SnapshotId, IReadOnlyList<RetrievedLesson> Lessons, int Tokens, string? Section)
{
    /// <summary>Lessons that would have been picked for this call but were withheld by the per-lesson holdout.</summary>
    public IReadOnlyList<string> WithheldLessonIds { get; init; } = [];

    /// <summary>A result with no lessons from <paramref name="snapshotId"/>, for calls that nothing applied to.</summary>
    public static RetrievalResult None(string? snapshotId) => new(snapshotId, [], 0, null);
}
