namespace Lore;

/// <summary>What one extractor did in a learning run; invalid output is counted, never half-used.</summary>
public sealed record ExtractorReport(string Name, string Version, int Candidates, int Rejected, IReadOnlyList<string> RejectionSamples, TimeSpan Elapsed);

/// <summary>Two lessons merged as near-duplicates; the survivor keeps both evidences.</summary>
public sealed record LessonMerge(string KeptId, string MergedId, double Similarity);

/// <summary>Two lessons that give opposite advice, and how the conflict was settled.</summary>
public sealed record LessonContradiction(string FirstId, string SecondId, string WinnerId, string Method, string Reason);

/// <summary>A lesson taken out of service, and why.</summary>
public sealed record LessonRetirement(string LessonId, string Reason);

/// <summary>What the admission guards decided about a lesson in a learning run, with the names of the rules that fired.</summary>
public sealed record LessonAdmission(string LessonId, LessonStatus Status, IReadOnlyList<string> Rules);

/// <summary>
/// The record of one pass of the learning pipeline: what was read, what each extractor proposed, what was merged,
/// which contradictions were settled how, what was retired and which snapshot came out. It is the "why" behind
/// every snapshot that learning creates.
/// </summary>
public sealed record LearningRun
{
    /// <summary>Unique id of the run, referenced by the snapshot it produced and by audit entries.</summary>
    public required string Id { get; init; }

    /// <summary>The tenant learned for; a run never reads another tenant's episodes.</summary>
    public string Tenant { get; init; } = Tenants.Default;

    /// <summary>When the run began reading episodes.</summary>
    public DateTimeOffset StartedAt { get; init; }

    /// <summary>When the run committed (or gave up); with <see cref="StartedAt"/>, how long learning takes.</summary>
    public DateTimeOffset FinishedAt { get; init; }

    /// <summary>Episodes the extractors saw, including earlier ones re-read for context.</summary>
    public int EpisodesRead { get; init; }

    /// <summary>Episodes not seen by any earlier run; zero means the run had nothing new to learn from.</summary>
    public int NewEpisodes { get; init; }

    /// <summary>What each extractor proposed and rejected, to tell which extractor a lesson (or a gap) comes from.</summary>
    public IReadOnlyList<ExtractorReport> Extractors { get; init; } = [];

    /// <summary>Lessons new in this run.</summary>
    public IReadOnlyList<string> AddedLessonIds { get; init; } = [];

    /// <summary>Lessons whose evidence or wording this run changed.</summary>
    public IReadOnlyList<string> UpdatedLessonIds { get; init; } = [];

    /// <summary>Near-duplicate lessons folded into one, and which one survived.</summary>
    public IReadOnlyList<LessonMerge> Merges { get; init; } = [];

    /// <summary>Lessons that said opposite things, and how each conflict was settled.</summary>
    public IReadOnlyList<LessonContradiction> Contradictions { get; init; } = [];

    /// <summary>Lessons this run retired, each with the evidence against it.</summary>
    public IReadOnlyList<LessonRetirement> Retirements { get; init; } = [];

    /// <summary>Candidates that did not reach the snapshot (below thresholds), with the reason.</summary>
    public IReadOnlyList<string> Dropped { get; init; } = [];

    /// <summary>
    /// The admission guards' decisions in this run: lessons admitted into the snapshot, queued for a reviewer, or
    /// rejected (kept with their findings, never served), with the rules that fired.
    /// </summary>
    public IReadOnlyList<LessonAdmission> Admissions { get; init; } = [];

    /// <summary>The snapshot the run started from, so its output can be diffed against what was served before.</summary>
    public string? ParentSnapshotId { get; init; }

    /// <summary>The snapshot produced, or null when nothing changed.</summary>
    public string? SnapshotId { get; init; }
}
