namespace Lore;

/// <summary>
/// One appended fact about an episode. Capture only ever appends these, in order, so the model call never waits
/// for a read-modify-write and a crash loses at most what was not yet flushed.
/// </summary>
public abstract record CaptureRecord(string EpisodeId)
{
    /// <summary>
    /// The tenant whose episode <see cref="CaptureRecord.EpisodeId"/> names: episode ids are unique per tenant, so the
    /// same id may name episodes of two tenants. Null addresses the episode by id alone, which the store refuses when
    /// more than one tenant holds that id. <see cref="EpisodeStarted"/> always uses its episode's tenant.
    /// </summary>
    public string? Tenant { get; init; }
}

/// <summary>An episode began; carries its header (task, unit, labels, snapshot in effect). Steps and outcomes are empty.</summary>
public sealed record EpisodeStarted(Episode Episode) : CaptureRecord(Episode.Id);

/// <summary>A step was taken.</summary>
public sealed record StepRecorded(string EpisodeId, Step Step) : CaptureRecord(EpisodeId);

/// <summary>A judgement arrived (there may be several per episode, at any time after it started).</summary>
public sealed record OutcomeRecorded(string EpisodeId, Outcome Outcome) : CaptureRecord(EpisodeId)
{
    /// <summary>
    /// True for an outcome recorded away from the capture of its episode (a late judgement, a REST outcome, another
    /// host): if the episode is still open, the store ends it in the same transaction
    /// (<see cref="EpisodeEndReasons.Outcome"/>), so an acknowledged outcome always means an ended, learnable episode.
    /// False (the default) for an outcome the capturing process adds while the episode runs.
    /// </summary>
    public bool EndsEpisode { get; init; }
}

/// <summary>The episode ended; the union of lessons injected during it is final.</summary>
public sealed record EpisodeEnded(string EpisodeId, DateTimeOffset EndedAt, IReadOnlyList<string> InjectedLessonIds) : CaptureRecord(EpisodeId);
