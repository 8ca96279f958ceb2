using System.Collections.Immutable;

namespace Lore;

/// <summary>What sort of advice a lesson gives; retrieval and guards treat kinds differently.</summary>
public enum LessonKind
{
    /// <summary>A general rule of conduct ("confirm the amount before charging").</summary>
    Guideline,

    /// <summary>A step-by-step playbook for a kind of task.</summary>
    Procedure,

    /// <summary>How to use one tool well, often learned from its errors.</summary>
    ToolGuide,

    /// <summary>Something that reliably goes wrong and must be avoided.</summary>
    AntiPattern,

    /// <summary>A fact about one user or unit; only ever injected for that unit.</summary>
    UserFact,
}

/// <summary>How a lesson decides that it applies.</summary>
public enum TriggerKind
{
    /// <summary>Always a candidate (still subject to scope and budget).</summary>
    Always,

    /// <summary>Applies when the task or turn mentions one of the keywords.</summary>
    Keywords,

    /// <summary>Applies when the task is similar to a natural-language description.</summary>
    Description,
}

/// <summary>Where a lesson stands with the admission guards and reviewers.</summary>
public enum LessonStatus
{
    /// <summary>Admitted: may be served by a snapshot.</summary>
    Active,

    /// <summary>Borderline: waits for a reviewer's decision; never served meanwhile.</summary>
    PendingReview,

    /// <summary>Refused by a guard or a reviewer; kept with the reasons, never served.</summary>
    Rejected,

    /// <summary>Taken out of service (stale, harmful, evidence deleted).</summary>
    Retired,
}

/// <summary>A guard rule that fired on a candidate lesson, with what it saw.</summary>
public sealed record GuardFinding(string Rule, string Detail, bool Blocking);

/// <summary>A reviewer's decision on a lesson.</summary>
public sealed record ReviewDecision(string Reviewer, bool Approved, string Reason, DateTimeOffset At);

/// <summary>When a lesson applies.</summary>
public sealed record LessonTrigger
{
    /// <summary>How retrieval decides the lesson applies: always, on keywords, or by similarity to a description.</summary>
    public TriggerKind Kind { get; init; } = TriggerKind.Description;

    /// <summary>For a keyword trigger: words of which any one in the task makes the lesson apply.</summary>
    public IReadOnlyList<string> Keywords { get; init; } = [];

    /// <summary>For a description trigger: the kind of task the lesson is about, matched by similarity rather than exact words.</summary>
    public string? Description { get; init; }

    /// <summary>A trigger that always applies (within the lesson's scope), for policies every task must follow.</summary>
    public static LessonTrigger Always { get; } = new() { Kind = TriggerKind.Always };

    /// <summary>A trigger that applies when the task mentions any of <paramref name="keywords"/>.</summary>
    public static LessonTrigger OnKeywords(params string[] keywords) => new() { Kind = TriggerKind.Keywords, Keywords = keywords };

    /// <summary>A trigger that applies to tasks similar to <paramref name="description"/>.</summary>
    public static LessonTrigger OnDescription(string description) => new() { Kind = TriggerKind.Description, Description = description };
}

/// <summary>
/// Where a lesson may be used. Empty fields mean "any"; a lesson scoped to a unit is never shown to another unit,
/// and a lesson of one tenant is never shown to another tenant.
/// </summary>
public sealed record LessonScope
{
    /// <summary>The tenant that owns the lesson; it is never served to another tenant.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>When set, only this unit (user, customer, account) is served the lesson; null for every unit of the tenant.</summary>
    public string? UnitKey { get; init; }

    /// <summary>Labels an episode must carry (all of them) for the lesson to apply.</summary>
    public ImmutableSortedDictionary<string, string> Labels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>
    /// Labels all of the lesson's evidence shared (slice, service, ...), set by learning: the lesson is never injected
    /// into a request whose labels contradict them (the same key with another value); a request that does not say is
    /// judged by the tools it offers.
    /// </summary>
    public ImmutableSortedDictionary<string, string> EvidenceLabels { get; init; } = ImmutableSortedDictionary<string, string>.Empty;

    /// <summary>Tools the lesson names; when non-empty, every one must be available to the agent (or tools unknown).</summary>
    public IReadOnlyList<string> Tools { get; init; } = [];
}

/// <summary>The support behind a lesson: which episodes show it and how strongly.</summary>
public sealed record LessonEvidence
{
    /// <summary>Episodes the lesson was learned from (capped at a few hundred; <see cref="EpisodeCount"/> is exact).</summary>
    public IReadOnlyList<string> EpisodeIds { get; init; } = [];

    /// <summary>How many episodes support the lesson in all (exact, while <see cref="EpisodeIds"/> is capped).</summary>
    public int EpisodeCount { get; init; }

    /// <summary>
    /// Distinct sources among those episodes (<see cref="Episode.EvidenceSource"/>: trusted units, or the API key that
    /// sent them), counted by the store from the episodes it holds, never taken from an extractor: one source cannot
    /// make a lesson alone.
    /// </summary>
    public int DistinctSources { get; init; }

    /// <summary>Distinct tasks among those episodes (repeated trials of one task are one piece of evidence).</summary>
    public int DistinctTasks { get; init; }

    /// <summary>The largest share of the episodes that came from one source, in [0, 1].</summary>
    public double LargestSourceShare { get; init; }

    /// <summary>
    /// Episodes in which the behaviour the lesson recommends was done and worked (a recovery that succeeded, the
    /// recommended order followed by a success). A lesson that asks for a behaviour needs it shown to work by several
    /// sources and tasks, not only failures of others to point at (capped like <see cref="EpisodeIds"/>).
    /// </summary>
    public IReadOnlyList<string> ExemplarEpisodeIds { get; init; } = [];

    /// <summary>How many exemplar episodes the store resolved.</summary>
    public int ExemplarCount { get; init; }

    /// <summary>Distinct sources among the exemplar episodes.</summary>
    public int ExemplarSources { get; init; }

    /// <summary>Distinct tasks among the exemplar episodes.</summary>
    public int ExemplarTasks { get; init; }

    /// <summary>The largest share of the exemplar episodes that came from one source, in [0, 1].</summary>
    public double ExemplarLargestSourceShare { get; init; }

    /// <summary>How many times the pattern was observed (may exceed episodes when it recurs within one).</summary>
    public int Support { get; init; }

    /// <summary>Failure rate with the pattern divided by the baseline failure rate, when the extractor measures it.</summary>
    public double? Lift { get; init; }

    /// <summary>A confidence interval for the pattern's failure (or success) rate, when measured.</summary>
    public double? IntervalLow { get; init; }

    /// <summary>The upper bound of that interval.</summary>
    public double? IntervalHigh { get; init; }

    /// <summary>Outcome feedback ids or notes that contributed (for example a user's comment).</summary>
    public IReadOnlyList<string> Feedback { get; init; } = [];
}

/// <summary>Which extractor produced a lesson, so a bad extractor version can be found and its lessons retired.</summary>
public sealed record ExtractorInfo(string Name, string Version);

/// <summary>Measured effect of injecting a lesson, from episodes that had it against episodes that did not.</summary>
public sealed record LessonEffect(int WithCount, double WithSuccessRate, int WithoutCount, double WithoutSuccessRate)
{
    /// <summary>Success rate with the lesson minus without it: positive when the lesson helps.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public double Delta => WithSuccessRate - WithoutSuccessRate;

    /// <summary>
    /// True when "without" means eligible but withheld by the per-lesson holdout (a randomised experiment by unit);
    /// false for a plain with/without comparison, which retrieval's choices confound and which never retires a lesson.
    /// </summary>
    public bool Randomized { get; init; }

    /// <summary>Distinct units among the episodes with the lesson (experiments only).</summary>
    public int WithUnits { get; init; }

    /// <summary>Distinct units among the episodes it was withheld from (experiments only).</summary>
    public int WithoutUnits { get; init; }

    /// <summary>The cluster-robust (by unit) variance of <see cref="Delta"/> (experiments only).</summary>
    public double DeltaVariance { get; init; }

    /// <summary>The always-valid one-sided p-value of "the lesson harms" (experiments only; 1 otherwise).</summary>
    public double HarmPValue { get; init; } = 1;

    /// <summary>The level the lesson was judged at, after the correction across the lessons judged together.</summary>
    public double Level { get; init; }

    /// <summary>Low end of the always-valid interval for <see cref="Delta"/> at <see cref="Level"/> (experiments only).</summary>
    public double IntervalLow { get; init; } = -1;

    /// <summary>High end of that interval.</summary>
    public double IntervalHigh { get; init; } = 1;

    /// <summary>Whether both sides reached the minimum episodes and units, so the experiment may decide.</summary>
    public bool HasEnoughData { get; init; }
}

/// <summary>
/// A short reusable piece of know-how distilled from episodes. Lessons are values: consolidation produces new
/// versions inside a new snapshot instead of editing what is being served.
/// </summary>
public sealed record Lesson
{
    /// <summary>Stable id; the same pattern learned again keeps its id so lineage accumulates.</summary>
    public required string Id { get; init; }

    /// <summary>What sort of lesson this is; guards and retrieval treat kinds differently (a warning is not a recommended procedure).</summary>
    public required LessonKind Kind { get; init; }

    /// <summary>The advice as it is injected: short and imperative.</summary>
    public required string Text { get; init; }

    /// <summary>When the lesson applies, so retrieval injects it only into tasks it fits.</summary>
    public LessonTrigger Trigger { get; init; } = new();

    /// <summary>Where the lesson may be used (tenant, unit, labels, tools), so it never leaks outside what its evidence covers.</summary>
    public LessonScope Scope { get; init; } = new();

    /// <summary>The episodes and statistics behind the lesson, kept so anyone can check why it is served.</summary>
    public LessonEvidence Evidence { get; init; } = new();

    /// <summary>The extractor and version that proposed it, so the lessons of a bad version can be found and retired.</summary>
    public required ExtractorInfo Extractor { get; init; }

    /// <summary>How sure learning is that the lesson helps, in [0, 1].</summary>
    public double Confidence { get; init; }

    /// <summary>
    /// Tools the lesson tells the agent to call that it would not call otherwise (a look-up to make first, an alternative
    /// tool); null when the extractor did not say, in which case every tool of <see cref="LessonScope.Tools"/> counts.
    /// A lesson recommending a state-changing tool waits for a reviewer.
    /// </summary>
    public IReadOnlyList<string>? RecommendedTools { get; init; }

    /// <summary>Measured success with vs without the lesson once it has been served; null until measured.</summary>
    public LessonEffect? Effect { get; init; }

    /// <summary>When this version of the lesson was created.</summary>
    public DateTimeOffset CreatedAt { get; init; }

    /// <summary>When the lesson was retired; a retired lesson is kept for lineage but never served.</summary>
    public DateTimeOffset? RetiredAt { get; init; }

    /// <summary>Admission state; only <see cref="LessonStatus.Active"/> lessons may be served.</summary>
    public LessonStatus Status { get; init; } = LessonStatus.Active;

    /// <summary>Every guard rule that fired on this lesson (blocking or not).</summary>
    public IReadOnlyList<GuardFinding> GuardFindings { get; init; } = [];

    /// <summary>Review decisions, oldest first.</summary>
    public IReadOnlyList<ReviewDecision> Reviews { get; init; } = [];

    /// <summary>Why the lesson was retired (harmful effect, contradiction, a person's decision), for the audit and the review screen.</summary>
    public string? RetiredReason { get; init; }

    /// <summary>
    /// Injected whenever it is in scope, before any retrieved lesson (still within the token budget): a policy the agent
    /// must always follow. Left out of the JSON when false, so snapshots made before it existed keep their address.
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingDefault)]
    public bool Pinned { get; init; }

    /// <summary>
    /// Set when a person wrote, edited, pinned or imported this version: who, when, why, and the versions before it.
    /// Learning never overwrites a lesson that has it. Left out of the JSON when null (older snapshots keep their address).
    /// </summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public LessonAuthorship? Authorship { get; init; }

    /// <summary>Whether the lesson has been retired (<see cref="RetiredAt"/> is set).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsRetired => RetiredAt is not null;
}

/// <summary>One earlier version of a lesson, kept in its successor's lineage so an edit can always be traced and undone.</summary>
/// <param name="Version">The version number (1 for the first).</param>
/// <param name="Source">Who made it: a person ("cli:alice", "key:k1...") or the extractor ("extractor:tool-errors 1.0").</param>
/// <param name="Text">Its text.</param>
/// <param name="Pinned">Whether it was pinned.</param>
/// <param name="At">When it was made.</param>
public sealed record LessonVersion(int Version, string Source, string Text, bool Pinned, DateTimeOffset At);

/// <summary>
/// Who wrote or last changed a lesson by hand, and its lineage: a lesson version made by a person names that person as
/// its source and keeps the versions before it, so <c>lore why</c> can show how a policy came to read as it does.
/// </summary>
public sealed record LessonAuthorship
{
    /// <summary>The person (or key) who made this version.</summary>
    public required string Author { get; init; }

    /// <summary>This version's number; 1 for a lesson written from scratch, previous + 1 for an edit.</summary>
    public int Version { get; init; } = 1;

    /// <summary>What was done: added, edited, pinned, unpinned or imported.</summary>
    public required string Change { get; init; }

    /// <summary>Why, in the author's words.</summary>
    public string Reason { get; init; } = "";

    /// <summary>When the change was made.</summary>
    public DateTimeOffset At { get; init; }

    /// <summary>The earlier versions, oldest first (the last few; <see cref="Version"/> counts them all).</summary>
    public IReadOnlyList<LessonVersion> Previous { get; init; } = [];

    /// <summary>The admin who let this version through a content-screen finding, and why; null when nothing was overridden.</summary>
    public ScreenOverride? Override { get; init; }

    /// <summary>For an imported lesson: the bundle's snapshot and store it came from.</summary>
    public string? ImportedFrom { get; init; }
}

/// <summary>An admin's decision to serve a lesson the content screen flagged: who, why, and which rules they overrode.</summary>
public sealed record ScreenOverride(string Admin, string Reason, IReadOnlyList<string> Rules, DateTimeOffset At);
