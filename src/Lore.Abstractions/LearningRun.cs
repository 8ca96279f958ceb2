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
    public required string Id { get; init; }

    public string Tenant { get; init; } = Tenants.Default;

    public DateTimeOffset StartedAt { get; init; }

    public DateTimeOffset FinishedAt { get; init; }

    public int EpisodesRead { get; init; }

    public int NewEpisodes { get; init; }

    public IReadOnlyList<ExtractorReport> Extractors { get; init; } = [];

    public IReadOnlyList<string> AddedLessonIds { get; init; } = [];

    public IReadOnlyList<string> UpdatedLessonIds { get; init; } = [];

    public IReadOnlyList<LessonMerge> Merges { get; init; } = [];

    public IReadOnlyList<LessonContradiction> Contradictions { get; init; } = [];

    public IReadOnlyList<LessonRetirement> Retirements { get; init; } = [];

    /// <summary>Candidates that did not reach the snapshot (below thresholds), with the reason.</summary>
    public IReadOnlyList<string> Dropped { get; init; } = [];

    /// <summary>
    /// The admission guards' decisions in this run: lessons admitted into the snapshot, queued for a reviewer, or
    /// rejected (kept with their findings, never served), with the rules that fired.
    /// </summary>
    public IReadOnlyList<LessonAdmission> Admissions { get; init; } = [];

    public string? ParentSnapshotId { get; init; }

    /// <summary>The snapshot produced, or null when nothing changed.</summary>
    public string? SnapshotId { get; init; }
}
