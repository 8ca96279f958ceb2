using Lore.Learning;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Lore;

/// <summary>What a full capture buffer does: the model call waits for room, or the record is dropped and counted.</summary>
public enum CaptureOverflowPolicy
{
    /// <summary>The caller waits for room (back-pressure; nothing is lost).</summary>
    Wait,

    /// <summary>The record is dropped and counted in <see cref="CaptureStatistics.Dropped"/> (the model call never waits).</summary>
    DropAndCount,
}

/// <summary>How capture buffers writes between the model call and the store.</summary>
public sealed class CaptureOptions
{
    /// <summary>Records the buffer holds before the overflow policy applies.</summary>
    public int Capacity { get; set; } = 10_000;

    public CaptureOverflowPolicy OverflowPolicy { get; set; } = CaptureOverflowPolicy.Wait;

    /// <summary>Most records written in one store transaction.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>
    /// When the runtime opens, episodes of its tenant still open in the store with no step for this long are ended as
    /// <see cref="EpisodeEndReasons.Abandoned"/>: the process that captured them died (default 30 minutes, longer than
    /// the proxy keeps an idle episode open, so a live host's episodes are left alone). Zero ends every open episode
    /// (only for a store no other live process writes); <see cref="Timeout.InfiniteTimeSpan"/> turns recovery off.
    /// </summary>
    public TimeSpan AbandonIdleEpisodesAfter { get; set; } = TimeSpan.FromMinutes(30);
}

/// <summary>Counts of what capture did, so loss is never silent.</summary>
public sealed record CaptureStatistics(long Enqueued, long Written, long Dropped, long Failed);

/// <summary>Configures a <see cref="LoreRuntime"/>: the store, the tenant, capture, retrieval and learning.</summary>
public sealed class LoreOptions
{
    /// <summary>Where learned state and episodes live (for example <c>SqliteLoreStore.Open("lore.db")</c>).</summary>
    public ILoreStore? Store { get; set; }

    /// <summary>Keep the store open when the runtime is disposed (several runtimes, one per tenant, sharing one store).</summary>
    public bool LeaveStoreOpen { get; set; }

    /// <summary>The tenant this runtime serves and records for.</summary>
    public string Tenant { get; set; } = Tenants.Default;

    public CaptureOptions Capture { get; } = new();

    /// <summary>Embeddings for the vector half of retrieval; the built-in hashed n-gram embedding when null.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; set; }

    public LearningOptions Learning { get; } = new();

    /// <summary>
    /// How new snapshots reach users (at once, shadow or canary) and which automatic actions continuous evaluation may
    /// take; by default learning's snapshots are served at once and a canary that regresses is rolled back.
    /// </summary>
    public RolloutPolicy Rollout { get; } = new();

    /// <summary>How strict continuous evaluation of a canary (and per-lesson attribution) is.</summary>
    public EvaluationPolicy Evaluation { get; } = new();

    /// <summary>Run learning in the background after this many new ended episodes (0 turns the background worker off).</summary>
    public int LearnEveryEpisodes { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>
    /// How often the runtime reads its tenant's rollout from the store, to serve changes made by other hosts (a
    /// promote, rollback or freeze elsewhere). With a store that pushes changes (PostgreSQL) this is only the fallback
    /// for a missed notification; without one it bounds how stale a host can be. Zero turns polling off.
    /// </summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Refresh the rollout as soon as another host changes it, through <see cref="ChangeFeed"/> or the store's own
    /// feed (<see cref="IStoreChangeFeed"/>, PostgreSQL LISTEN/NOTIFY). False leaves only polling.
    /// </summary>
    public bool ListenForChanges { get; set; } = true;

    /// <summary>Where pushed changes come from; null uses the store's own feed when it has one.</summary>
    public IStoreChangeFeed? ChangeFeed { get; set; }

    /// <summary>Where capture failures and background learning report; nothing is logged when null.</summary>
    public ILoggerFactory? LoggerFactory { get; set; }

    /// <summary>Throws naming the first option that is missing or out of range.</summary>
    internal void Validate()
    {
        if (Store is null)
        {
            throw new ArgumentException("LoreOptions.Store is required: set it to a store such as SqliteLoreStore.Open(\"lore.db\").", "options");
        }

        if (string.IsNullOrWhiteSpace(Tenant))
        {
            throw new ArgumentException("LoreOptions.Tenant must not be empty.", "options");
        }

        if (Capture.Capacity < 1)
        {
            throw new ArgumentOutOfRangeException("options", Capture.Capacity, "LoreOptions.Capture.Capacity must be at least 1.");
        }

        if (Capture.MaxBatchSize < 1)
        {
            throw new ArgumentOutOfRangeException("options", Capture.MaxBatchSize, "LoreOptions.Capture.MaxBatchSize must be at least 1.");
        }

        if (Capture.AbandonIdleEpisodesAfter < TimeSpan.Zero && Capture.AbandonIdleEpisodesAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException("options", Capture.AbandonIdleEpisodesAfter, "LoreOptions.Capture.AbandonIdleEpisodesAfter must be zero or more (Timeout.InfiniteTimeSpan turns recovery off).");
        }

        if (!Enum.IsDefined(Capture.OverflowPolicy))
        {
            throw new ArgumentOutOfRangeException("options", Capture.OverflowPolicy, "LoreOptions.Capture.OverflowPolicy must be Wait or DropAndCount.");
        }

        if (LearnEveryEpisodes < 0)
        {
            throw new ArgumentOutOfRangeException("options", LearnEveryEpisodes, "LoreOptions.LearnEveryEpisodes must be 0 (off) or positive.");
        }

        if (RefreshInterval < TimeSpan.Zero)
        {
            throw new ArgumentOutOfRangeException("options", RefreshInterval, "LoreOptions.RefreshInterval must be zero (no polling) or positive.");
        }

        if (TimeProvider is null)
        {
            throw new ArgumentException("LoreOptions.TimeProvider must not be null.", "options");
        }

        try
        {
            Learning.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"LoreOptions.Learning is invalid: {ex.Message}", "options", ex);
        }

        try
        {
            Rollout.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"LoreOptions.Rollout is invalid: {ex.Message}", "options", ex);
        }

        try
        {
            Evaluation.Validate();
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"LoreOptions.Evaluation is invalid: {ex.Message}", "options", ex);
        }
    }
}
