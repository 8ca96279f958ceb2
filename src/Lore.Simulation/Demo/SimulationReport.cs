namespace Lore.Simulation;

/// <summary>Successes out of episodes.</summary>
public sealed record SuccessRate(int Episodes, int Successes)
{
    /// <summary>Successes divided by episodes (0 when there were none).</summary>
    public double Rate => Episodes == 0 ? 0 : (double)Successes / Episodes;

    internal static SuccessRate Of(IEnumerable<SimulatedEpisode> episodes)
    {
        int count = 0, successes = 0;
        foreach (var episode in episodes)
        {
            count++;
            successes += episode.Success ? 1 : 0;
        }

        return new SuccessRate(count, successes);
    }
}

/// <summary>One point of the learning curve: episodes <see cref="First"/> to <see cref="Last"/> (1-based, inclusive).</summary>
public sealed record SuccessWindow(int First, int Last, SuccessRate Result, int EpisodesWithLessons, IReadOnlyList<string> SnapshotIds);

/// <summary>One slice's success before and after learning first took effect.</summary>
public sealed record SliceResult(string Slice, SuccessRate BeforeLearning, SuccessRate AfterLearning);

/// <summary>What one learning pass during the simulation did.</summary>
public sealed record LearningRunSummary(
    int AfterEpisode,
    string RunId,
    int EpisodesRead,
    int NewEpisodes,
    int Candidates,
    int Added,
    int Updated,
    int Merged,
    int Retired,
    string? SnapshotId,
    int? LessonCount);

/// <summary>A snapshot a learning pass created during the simulation.</summary>
public sealed record CreatedSnapshot(string Id, string? ParentId, int LessonCount, int AfterEpisode);

/// <summary>A lesson served at the end of the simulation, with its evidence and how often it was injected during the run.</summary>
public sealed record ServedLesson(
    string Id,
    LessonKind Kind,
    string Text,
    int EvidenceEpisodes,
    int DistinctSources,
    string Extractor,
    double Confidence,
    int InjectedInEpisodes);

/// <summary>A change the control plane made during the run (from the audit log), placed after the episode that preceded it.</summary>
public sealed record ControlEvent(int AfterEpisode, string Action, string Subject, string Actor, string Reason);

/// <summary>A lesson the admission guards refused or queued for review, with the rules that fired.</summary>
public sealed record QuarantinedLesson(string Id, LessonStatus Status, string Text, IReadOnlyList<string> Rules, int EvidenceEpisodes, int DistinctSources);

/// <summary>Success per rollout arm on one slice, over the episodes that ran while a candidate was in canary.</summary>
public sealed record ArmSliceResult(string Slice, SuccessRate Baseline, SuccessRate Candidate);

/// <summary>One episode of the simulation as it happened.</summary>
public sealed record SimulatedEpisode(
    int Number,
    string EpisodeId,
    string TicketId,
    string Slice,
    string CustomerId,
    bool Success,
    string Reason,
    string? SnapshotId,
    string? Arm,
    IReadOnlyList<string> InjectedLessonIds,
    IReadOnlyList<string> ToolCalls);

/// <summary>
/// What a simulation showed: the learning curve per window, success before and after learning (overall and per
/// slice), the learning passes and snapshots they created, and the lessons served at the end with their evidence.
/// It states that it is a simulation, so nobody mistakes its figures for a real agent's.
/// </summary>
public sealed record SimulationReport
{
    /// <summary>The sentence every report carries, so its figures are never mistaken for a real agent's.</summary>
    public const string SimulationNotice =
        "This is a simulation: a seeded workplace with hidden rules and a scripted agent that makes typical agent mistakes. " +
        "No model, no network, no real customers; the figures show Lore's learning loop, not a real agent's performance.";

    /// <summary>That this is a simulation (<see cref="SimulationNotice"/>), kept in the JSON so it travels with the figures.</summary>
    public string Notice { get; init; } = SimulationNotice;

    /// <summary>The seed the run used; running again with it reproduces the report.</summary>
    public required int Seed { get; init; }

    /// <summary>Episodes between learning passes (0: the run never learned).</summary>
    public required int LearnEvery { get; init; }

    /// <summary>Episodes per window of the learning curve.</summary>
    public required int WindowSize { get; init; }

    /// <summary>Where the run's episodes, lessons and snapshots were stored.</summary>
    public required string StoreLocation { get; init; }

    /// <summary>The snapshot the store was already serving when the run began (null on a fresh store).</summary>
    public string? StartingSnapshotId { get; init; }

    /// <summary>Every episode of the run with its outcome and the lessons it was served.</summary>
    public required IReadOnlyList<SimulatedEpisode> Episodes { get; init; }

    /// <summary>The learning curve: success per window of <see cref="WindowSize"/> episodes.</summary>
    public required IReadOnlyList<SuccessWindow> Windows { get; init; }

    /// <summary>Episodes before the first snapshot created by this run's learning took effect.</summary>
    public required SuccessRate BeforeLearning { get; init; }

    /// <summary>Episodes from the moment the first snapshot created by this run's learning took effect.</summary>
    public required SuccessRate AfterLearning { get; init; }

    /// <summary>Success before and after learning per kind of work, to show where lessons helped.</summary>
    public required IReadOnlyList<SliceResult> Slices { get; init; }

    /// <summary>The learning passes of the run and what each proposed and admitted.</summary>
    public required IReadOnlyList<LearningRunSummary> LearningRuns { get; init; }

    /// <summary>The snapshots the run's learning created, in order.</summary>
    public required IReadOnlyList<CreatedSnapshot> Snapshots { get; init; }

    /// <summary>The snapshot served when the run ended.</summary>
    public string? FinalSnapshotId { get; init; }

    /// <summary>The lessons of <see cref="FinalSnapshotId"/>, most evidence first.</summary>
    public required IReadOnlyList<ServedLesson> Lessons { get; init; }

    /// <summary>Every control-plane change during the run, in order: snapshots created, canaries, promotions, rollbacks, refusals.</summary>
    public IReadOnlyList<ControlEvent> ControlEvents { get; init; } = [];

    /// <summary>Lessons the guards refused or queued for review during the run.</summary>
    public IReadOnlyList<QuarantinedLesson> Quarantined { get; init; } = [];

    /// <summary>Attacker episodes recorded by poisoning attempts.</summary>
    public int AttackEpisodes { get; init; }

    /// <summary>The latest candidate the rollout held back because a failure mode grew, with the audit's evidence; null when none was.</summary>
    public FailureShiftHold? FailureShiftHold { get; init; }

    /// <summary>Episodes into which at least one lesson was injected.</summary>
    public int EpisodesWithLessons => Episodes.Count(e => e.InjectedLessonIds.Count > 0);
}

/// <summary>Where a running simulation is, for a progress display.</summary>
public sealed record SimulationProgress(int Completed, int Total, SuccessRate CurrentWindow, int LearningRuns, string Activity);
