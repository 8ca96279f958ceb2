namespace Lore;

/// <summary>
/// Judgement of how well an episode went. An episode may collect several (the environment's verdict, a user's
/// thumbs-down a day later, an evaluator's score), so learning can weigh sources instead of trusting one.
/// </summary>
public sealed record Outcome
{
    /// <summary>Creates an outcome; <paramref name="score"/> must lie in [0, 1].</summary>
    public Outcome(double score, string source, string? actor = null, string? comment = null, DateTimeOffset? at = null)
    {
        if (double.IsNaN(score) || score < 0 || score > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(score), score, "An outcome score must lie in [0, 1].");
        }

        Score = score;
        Source = OutcomeSource.Normalize(source);
        Actor = actor;
        Comment = comment;
        At = at ?? DateTimeOffset.UtcNow;
    }

    [System.Text.Json.Serialization.JsonConstructor]
    private Outcome(double score, string source, string? actor, string? comment, DateTimeOffset at)
        : this(score, source, actor, comment, (DateTimeOffset?)at)
    {
    }

    /// <summary>Score in [0, 1]; 1 is full success.</summary>
    public double Score { get; init; }

    /// <summary>Who judged: <see cref="OutcomeSource.Environment"/>, <see cref="OutcomeSource.User"/> or <see cref="OutcomeSource.Evaluator"/>.</summary>
    public string Source { get; init; }

    /// <summary>The person or system that gave the judgement, when known.</summary>
    public string? Actor { get; init; }

    /// <summary>Free text from the judge (a user's remark, a reviewer's note), kept as evidence and never parsed.</summary>
    public string? Comment { get; init; }

    /// <summary>
    /// For a failure: the kind of failure as the judge names it (for example "wrong_refund", "handed_to_human"), so that
    /// evaluation can tell whether an update removed errors or moved them to another kind. Normalised into a failure
    /// mode like tool errors are (ids and numbers do not split a mode); null when the judge named none.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Category { get; init; }

    /// <summary>For a failure: why, in the judge's words; used as the failure mode when no <see cref="Category"/> is given.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? Reason { get; init; }

    /// <summary>
    /// The failure mode the episode was judged with when this outcome was recorded, as Lore's configured failure
    /// classifier labelled it (for example <c>label: refund issued without approval</c>), so that evaluation, diffs and
    /// the dashboard count the episode under the mode the rollout monitor decided on. Set by Lore and kept by the
    /// stores, exports and imports; null when no classifier labelled it (the built-in signature applies).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? FailureMode { get; init; }

    /// <summary>When the judgement was given; outcomes may arrive long after the episode ended.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>True when the score counts as a success (at least 0.5).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsSuccess => Score >= 0.5;

    /// <summary>A full success (score 1).</summary>
    public static Outcome Success(string source = OutcomeSource.Environment, string? actor = null, string? comment = null, DateTimeOffset? at = null)
        => new(1.0, source, actor, comment, at);

    /// <summary>A plain failure (score 0).</summary>
    public static Outcome Failure(string source = OutcomeSource.Environment, string? actor = null, string? comment = null, DateTimeOffset? at = null)
        => new(0.0, source, actor, comment, at);

    /// <summary>A graded outcome: <paramref name="score"/> in [0, 1], a success from 0.5.</summary>
    public static Outcome Scored(double score, string source = OutcomeSource.Environment, string? actor = null, string? comment = null, DateTimeOffset? at = null)
        => new(score, source, actor, comment, at);
}

/// <summary>The sources an outcome may come from; a closed set so that evidence can be weighed by source.</summary>
public static class OutcomeSource
{
    /// <summary>The environment itself judged it (a test passed, the order was refunded): the strongest evidence.</summary>
    public const string Environment = "environment";
    /// <summary>The person the agent served said so (a thumbs-up, a complaint).</summary>
    public const string User = "user";
    /// <summary>An automatic judge (a grader model, a rubric) scored it.</summary>
    public const string Evaluator = "evaluator";

    /// <summary>Returns the canonical spelling of a source, or throws naming the accepted values.</summary>
    public static string Normalize(string source)
    {
        ArgumentNullException.ThrowIfNull(source);
        return source.Trim().ToLowerInvariant() switch
        {
            Environment => Environment,
            User => User,
            Evaluator => Evaluator,
            _ => throw new ArgumentException($"Unknown outcome source '{source}': expected environment, user or evaluator.", nameof(source)),
        };
    }
}
