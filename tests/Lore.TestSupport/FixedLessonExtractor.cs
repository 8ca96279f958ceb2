namespace Lore.Testing;

/// <summary>
/// Proposes one fixed lesson backed by every episode of the batch: tests of what happens after extraction (publication,
/// rollout, serving, the stores under learning) need a lesson whose text, key and evidence they know in advance.
/// </summary>
public sealed class FixedLessonExtractor(string name, string key, LessonKind kind, string text, string keyword) : ILessonExtractor
{
    private int _calls;

    /// <summary>The extractor's name and version, as recorded in each lesson's provenance.</summary>
    public ExtractorInfo Info { get; } = new(name, "1");

    /// <summary>How many batches the learner has shown this extractor.</summary>
    public int Calls => Volatile.Read(ref _calls);

    /// <summary>
    /// Whether only the batch's successful episodes count as exemplars (the advice shown working, the default), or
    /// every episode does.
    /// </summary>
    public bool ExemplarsAreSuccessesOnly { get; init; } = true;

    /// <summary>Refund procedure "call lookup_order before any refund", triggered by "refund".</summary>
    public static FixedLessonExtractor RefundNeedsLookup() => new(
        "refund-rule", "refund-needs-lookup", LessonKind.Procedure, "Before any refund, call lookup_order for the order id.", "refund");

    /// <inheritdoc />
    public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
    {
        Interlocked.Increment(ref _calls);
        var episodes = batch.Episodes;
        if (episodes.Count == 0)
        {
            return Task.FromResult(ExtractionResult.Empty);
        }

        return Task.FromResult(new ExtractionResult(
        [
            new LessonCandidate
            {
                Key = key,
                Kind = kind,
                Text = text,
                Trigger = LessonTrigger.OnKeywords(keyword),
                Scope = new LessonScope { Tenant = batch.Tenant },
                Evidence = new LessonEvidence
                {
                    EpisodeIds = [.. episodes.Select(e => e.Id)],
                    EpisodeCount = episodes.Count,
                    DistinctSources = episodes.Select(e => e.UnitKey).Distinct().Count(),
                    Support = episodes.Count,
                    ExemplarEpisodeIds = [.. episodes.Where(e => !ExemplarsAreSuccessesOnly || e.Succeeded == true).Select(e => e.Id)],
                },
                Confidence = 0.9,
                Extractor = Info,
            },
        ]));
    }
}
