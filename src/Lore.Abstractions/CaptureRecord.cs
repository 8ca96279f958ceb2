namespace Lore;

/// <summary>
/// One appended fact about an episode. Capture only ever appends these, in order, so the model call never waits
/// for a read-modify-write and a crash loses at most what was not yet flushed.
/// </summary>
public abstract record CaptureRecord(string EpisodeId);

/// <summary>An episode began; carries its header (task, unit, labels, snapshot in effect). Steps and outcomes are empty.</summary>
public sealed record EpisodeStarted(Episode Episode) : CaptureRecord(Episode.Id);

/// <summary>A step was taken.</summary>
public sealed record StepRecorded(string EpisodeId, Step Step) : CaptureRecord(EpisodeId);

/// <summary>A judgement arrived (there may be several per episode, at any time after it started).</summary>
public sealed record OutcomeRecorded(string EpisodeId, Outcome Outcome) : CaptureRecord(EpisodeId);

/// <summary>The episode ended; the union of lessons injected during it is final.</summary>
public sealed record EpisodeEnded(string EpisodeId, DateTimeOffset EndedAt, IReadOnlyList<string> InjectedLessonIds) : CaptureRecord(EpisodeId);
