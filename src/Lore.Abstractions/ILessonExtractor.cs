namespace Lore;

/// <summary>The episodes an extractor looks at: a recent window of ended episodes, some of them new since the last run.</summary>
public sealed record ExtractionBatch(string Tenant, IReadOnlyList<Episode> Episodes, IReadOnlySet<string> NewEpisodeIds);

/// <summary>
/// A lesson an extractor proposes. Its evidence counts (episodes, sources, tasks, shares) are claims only: the pipeline
/// resolves every cited episode id (<see cref="LessonEvidence.EpisodeIds"/> and
/// <see cref="LessonEvidence.ExemplarEpisodeIds"/>) in the store and counts them itself; ids it cannot find are dropped.
/// </summary>
/// <remarks>
/// A lesson an extractor proposes. It is not served until consolidation (and, later, the guards) turn it into a
/// <see cref="Lesson"/> inside a new snapshot.
/// </remarks>
public sealed record LessonCandidate
{
    /// <summary>Identifies the pattern, so the same pattern found again (or by another run) merges instead of duplicating.</summary>
    public required string Key { get; init; }

    /// <summary>What sort of lesson this is; guards and retrieval treat kinds differently (a warning is not a recommended procedure).</summary>
    public required LessonKind Kind { get; init; }

    /// <summary>The lesson as the agent will read it: short and imperative, with no ids or personal data from the evidence.</summary>
    public required string Text { get; init; }

    /// <summary>When the lesson applies, so retrieval injects it only into episodes it fits.</summary>
    public LessonTrigger Trigger { get; init; } = new();

    /// <summary>Where the lesson may be used (tenant, unit, labels, tools), so it never leaks into contexts its evidence does not cover.</summary>
    public LessonScope Scope { get; init; } = new();

    /// <summary>The episodes and statistics behind the candidate, which admission weighs before it may be served.</summary>
    public LessonEvidence Evidence { get; init; } = new();

    /// <summary>The extractor's own confidence in [0, 1].</summary>
    public double Confidence { get; init; }

    /// <summary>
    /// Tools the lesson tells the agent to call that it would not call otherwise; null when unknown (then every tool in
    /// <see cref="LessonScope.Tools"/> counts as recommended).
    /// </summary>
    public IReadOnlyList<string>? RecommendedTools { get; init; }

    /// <summary>The extractor and its version, so the lessons of a bad version can be found and retired.</summary>
    public required ExtractorInfo Extractor { get; init; }

    /// <summary>Why the extractor believes this, for people reading the lineage.</summary>
    public string? Rationale { get; init; }
}

/// <summary>What an extractor returns: candidates, plus what it refused to use and why.</summary>
public sealed record ExtractionResult(IReadOnlyList<LessonCandidate> Candidates, int Rejected = 0, IReadOnlyList<string>? RejectionSamples = null)
{
    /// <summary>
    /// Claims (candidate keys) that this batch's evidence now reverses: a served lesson learned from one of them is
    /// retired, with the reason, even when the reversed claim itself may not be served (it would recommend a state change).
    /// </summary>
    public IReadOnlyList<ClaimContradiction> Contradicted { get; init; } = [];

    /// <summary>A result with no candidates and nothing rejected, for extractors that found nothing in a batch.</summary>
    public static ExtractionResult Empty { get; } = new([]);
}

/// <summary>Evidence against a claim an extractor proposes under <paramref name="Key"/>: why it no longer holds.</summary>
public sealed record ClaimContradiction(string Key, string Reason);

/// <summary>
/// Turns episodes into candidate lessons. Extractors only read; they never touch what is being served.
/// </summary>
public interface ILessonExtractor
{
    /// <summary>The extractor's name and version, recorded on every lesson it proposes and in every learning run.</summary>
    ExtractorInfo Info { get; }

    /// <summary>Proposes candidate lessons from a batch of episodes; it must only read, so a failed extractor changes nothing that is served.</summary>
    Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default);
}
