using System.Collections.Immutable;

namespace Lore;

/// <summary>
/// One attempt by an agent at one task: its trajectory, the learned state that shaped it and how it went.
/// Every episode is stamped with the snapshot and lesson ids in effect, so any outcome can be traced back
/// to the exact learned state that produced it.
/// </summary>
public sealed record Episode
{
    /// <summary>The caller's id for the episode, unique within its tenant, so outcomes reported later find the episode they judge.</summary>
    public required string Id { get; init; }

    /// <summary>Order of arrival in the store (0 until stored); incremental learning reads past a sequence.</summary>
    public long Sequence { get; init; }

    /// <summary>The tenant whose data this is; learning never crosses tenants.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>The unit that rollout assigns and evidence counts as one source (a user, a session, a customer).</summary>
    public string UnitKey { get; init; } = "";

    /// <summary>
    /// Who vouches for this episode as evidence: empty when the host application captured it itself (its unit is then
    /// trusted), else set by the server from the API key that sent it ("key:ID" for a key that may not assert units,
    /// "key:ID/unit:UNIT" for one an admin trusts to). Learning counts distinct <see cref="EvidenceSource"/>s, never
    /// the unit names a client chose, so one client inventing units is still one source.
    /// </summary>
    public string Source { get; init; } = "";

    /// <summary>The identity evidence counts as one source: <see cref="Source"/> when set, else the unit.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string EvidenceSource => Source.Length > 0 ? Source : "unit:" + UnitKey;

    /// <summary>What the agent was asked to do, in the words it was given.</summary>
    public string Task { get; init; } = "";

    /// <summary>Free labels; <c>slice</c> is the one evaluation groups by.</summary>
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>When the first step began; time windows, retention and evaluation periods are measured from it.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>Set once the episode has ended (completed or abandoned).</summary>
    public DateTimeOffset? EndedAt { get; init; }

    /// <summary>
    /// Why the episode ended when its capture did not end it: <see cref="EpisodeEndReasons.Abandoned"/> when it was
    /// still open after its host died and recovery ended it. Null while running and for episodes their capture ended.
    /// </summary>
    public string? EndReason { get; init; }

    /// <summary>What happened, in order (model calls, tool calls, errors): the trajectory learning reads patterns from.</summary>
    public IReadOnlyList<Step> Steps { get; init; } = [];

    /// <summary>Judgements in the order they arrived.</summary>
    public IReadOnlyList<Outcome> Outcomes { get; init; } = [];

    /// <summary>The snapshot served to this episode, or null when none was (the baseline).</summary>
    public string? SnapshotId { get; init; }

    /// <summary>Ids of every lesson injected at any model call of the episode.</summary>
    public IReadOnlyList<string> InjectedLessonIds { get; init; } = [];

    /// <summary>Where the episode came from: "capture", "import:FILE", "otlp", ...</summary>
    public string Origin { get; init; } = "capture";

    /// <summary>The rollout arm the unit was in (null when no rollout is running).</summary>
    public string? Arm { get; init; }

    /// <summary>The slice label, or "(none)".</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string Slice => Labels.TryGetValue("slice", out var s) ? s : "(none)";

    /// <summary>
    /// The score learning uses: the environment's verdict when there is one, else the latest evaluator's, else the
    /// mean of user feedback; null when nothing has judged the episode yet.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double? Score
    {
        get
        {
            if (Outcomes.Count == 0)
            {
                return null;
            }

            var env = Outcomes.LastOrDefault(o => o.Source == OutcomeSource.Environment);
            if (env is not null)
            {
                return env.Score;
            }

            var eval = Outcomes.LastOrDefault(o => o.Source == OutcomeSource.Evaluator);
            return eval is not null ? eval.Score : Outcomes.Average(o => o.Score);
        }
    }

    /// <summary>True, false, or null when the episode has not been judged.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool? Succeeded => Score is { } s ? s >= 0.5 : null;
}

/// <summary>The values of <see cref="Episode.EndReason"/>.</summary>
public static class EpisodeEndReasons
{
    /// <summary>
    /// Open when the process capturing it died: ended at recovery, with the steps stored so far. It is learned from like
    /// any ended episode and judged by an outcome that arrives later; its capture can no longer add steps.
    /// </summary>
    public const string Abandoned = "abandoned";

    /// <summary>
    /// Open in another process (another host sharing the store, or an agent's own process) when an outcome for it was
    /// recorded: the outcome ended it, at the outcome's time, so that the outcome's acknowledgement means the episode is
    /// stored and ended and will be learned from. Steps its capture records afterwards are refused with an error naming
    /// the episode (<see cref="StoreConflictException"/>); its own end adds the injected lessons and keeps this end.
    /// </summary>
    public const string Outcome = "outcome";
}

/// <summary>Well-known tenant names.</summary>
public static class Tenants
{
    /// <summary>The tenant used when none is configured.</summary>
    public const string Default = "default";
}
