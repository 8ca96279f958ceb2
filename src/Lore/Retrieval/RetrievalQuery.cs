namespace Lore;

/// <summary>What retrieval matches lessons against: the task and the current turn, plus who is asking (for scope).</summary>
public sealed record RetrievalQuery
{
    public required string Task { get; init; }

    /// <summary>The latest user (or tool) text of the conversation, when there is one.</summary>
    public string? Turn { get; init; }

    public string Tenant { get; init; } = Tenants.Default;

    public string UnitKey { get; init; } = "";

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

    public static RetrievalResult None(string? snapshotId) => new(snapshotId, [], 0, null);
}
