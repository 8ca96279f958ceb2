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

    /// <summary>What capture does when its buffer is full: wait for room (the default, nothing lost) or drop and count.</summary>
    public CaptureOverflowPolicy OverflowPolicy { get; set; } = CaptureOverflowPolicy.Wait;

    /// <summary>Most records written in one store transaction.</summary>
    public int MaxBatchSize { get; set; } = 512;

    /// <summary>
    /// How long the writer lets a batch that is not full gather more records before it writes them (default 2 ms;
    /// zero writes at once). Each store transaction is flushed to disk, so under load many calls' records in one
    /// transaction cost far less CPU than one transaction each. A flush (durable mode) waits at most one window.
    /// </summary>
    public TimeSpan BatchWindow { get; set; } = TimeSpan.FromMilliseconds(2);

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

    /// <summary>
    /// The value of the <c>lore.tenant</c> tag on this runtime's spans and metrics (null: <see cref="Tenant"/>). Every
    /// distinct value is a time series per metric, so a host of many tenants gives the ones it does not watch one by one
    /// a shared value such as <c>other</c>.
    /// </summary>
    public string? TelemetryTenant { get; set; }

    /// <summary>How episodes are buffered and written to the store off the model-call path.</summary>
    public CaptureOptions Capture { get; } = new();

    /// <summary>Embeddings for the vector half of retrieval; the built-in hashed n-gram embedding when null.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; set; }

    /// <summary>
    /// With an <see cref="EmbeddingGenerator"/>: how long a model call may wait for its query's embedding before the
    /// lexical (BM25) side of retrieval serves it alone. The embedding of an episode's task starts when the episode
    /// begins and runs in the background, cached by text, so a call finds it ready unless the task is new and the
    /// call comes at once. Zero (the default) never waits: MiniLM takes 10-30 ms a text on a busy 2-core machine, far
    /// above the 2 ms a call may spend in Lore, so any shorter wait would only add latency. Each call's step records
    /// which path served it (<see cref="Step.LexicalOnly"/>), and replay follows it.
    /// </summary>
    public TimeSpan QueryEmbeddingWait { get; set; } = TimeSpan.Zero;

    /// <summary>How learning passes run (extractors, thresholds, guards), in process or in a worker.</summary>
    public LearningOptions Learning { get; private init; } = new();

    /// <summary>
    /// How new snapshots reach users (at once, shadow or canary) and which automatic actions continuous evaluation may
    /// take; by default learning's snapshots are served at once and a canary that regresses is rolled back.
    /// </summary>
    public RolloutPolicy Rollout { get; private init; } = new();

    /// <summary>How strict continuous evaluation of a canary (and per-lesson attribution) is.</summary>
    public EvaluationPolicy Evaluation { get; private init; } = new();

    /// <summary>Run learning in the background after this many new ended episodes (0 turns the background worker off).</summary>
    public int LearnEveryEpisodes { get; set; }

    /// <summary>The clock of capture, rollout and learning; tests substitute a fake one to move time without waiting.</summary>
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

    /// <summary>
    /// Names the failure of a failed episode when tool errors and outcome categories do not tell failures apart (for
    /// example a <see cref="ChatFailureClassifier"/> over a model). It is asked when a judgement leaves an episode failed
    /// (in process, over REST and MCP); its label becomes the episode's failure mode, stored with that outcome
    /// (<see cref="Outcome.FailureMode"/>), so the rollout monitor, telemetry, evaluation, diffs and the dashboard all
    /// count the same mode. Null (the default) keeps the built-in signature (<see cref="FailureModes"/>). Registered in DI, an <see cref="IFailureClassifier"/>
    /// is taken when none is set here.
    /// </summary>
    public IFailureClassifier? FailureClassifier { get; set; }

    /// <summary>
    /// How long <see cref="FailureClassifier"/> may take for one episode before the built-in signature is used instead
    /// (a slow or failing classifier never stops an episode from ending). Between 100 ms and 5 minutes; 30 s by default.
    /// </summary>
    public TimeSpan FailureClassifierTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Throws one <see cref="ArgumentException"/> naming every option that is missing or out of range.</summary>
    internal void Validate()
    {
        if (Errors() is { Count: > 0 } errors)
        {
            throw new ArgumentException(string.Join(" ", errors), "options");
        }
    }

    /// <summary>Every problem with these options, each naming the option (empty when they are valid).</summary>
    internal List<string> Errors(bool storeOpensAtStart = false)
    {
        var errors = new List<string>();
        if (Store is null && !storeOpensAtStart)
        {
            errors.Add("LoreOptions.Store is required: set it to a store such as SqliteLoreStore.Open(\"lore.db\") or register an ILoreStore.");
        }

        if (string.IsNullOrWhiteSpace(Tenant))
        {
            errors.Add("LoreOptions.Tenant must not be empty.");
        }

        if (TelemetryTenant is not null && string.IsNullOrWhiteSpace(TelemetryTenant))
        {
            errors.Add("LoreOptions.TelemetryTenant must be null (tag with the tenant) or a non-empty value.");
        }

        if (Capture.Capacity < 1)
        {
            errors.Add($"LoreOptions.Capture.Capacity must be at least 1 (was {Capture.Capacity}).");
        }

        if (Capture.MaxBatchSize < 1)
        {
            errors.Add($"LoreOptions.Capture.MaxBatchSize must be at least 1 (was {Capture.MaxBatchSize}).");
        }

        if (Capture.BatchWindow < TimeSpan.Zero || Capture.BatchWindow > TimeSpan.FromSeconds(1))
        {
            errors.Add($"LoreOptions.Capture.BatchWindow must be between zero and one second (was {Capture.BatchWindow}).");
        }

        if (Capture.AbandonIdleEpisodesAfter < TimeSpan.Zero && Capture.AbandonIdleEpisodesAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentOutOfRangeException("options", Capture.AbandonIdleEpisodesAfter, "LoreOptions.Capture.AbandonIdleEpisodesAfter must be zero or more (Timeout.InfiniteTimeSpan turns recovery off).");
        }

        if (!Enum.IsDefined(Capture.OverflowPolicy))
        {
            errors.Add($"LoreOptions.Capture.OverflowPolicy must be Wait or DropAndCount (was {Capture.OverflowPolicy}).");
        }

        if (LearnEveryEpisodes < 0)
        {
            errors.Add($"LoreOptions.LearnEveryEpisodes must be 0 (off) or positive (was {LearnEveryEpisodes}).");
        }

        if (RefreshInterval < TimeSpan.Zero)
        {
            errors.Add($"LoreOptions.RefreshInterval must be zero (no polling) or positive (was {RefreshInterval}).");
        }

        if (QueryEmbeddingWait < TimeSpan.Zero || QueryEmbeddingWait > TimeSpan.FromSeconds(30))
        {
            errors.Add($"LoreOptions.QueryEmbeddingWait must lie between zero and 30 seconds (was {QueryEmbeddingWait}).");
        }

        if (TimeProvider is null)
        {
            errors.Add("LoreOptions.TimeProvider must not be null.");
        }

        if (FailureClassifierTimeout < TimeSpan.FromMilliseconds(100) || FailureClassifierTimeout > TimeSpan.FromMinutes(5))
        {
            errors.Add($"LoreOptions.FailureClassifierTimeout must lie between 100 ms and 5 minutes (was {FailureClassifierTimeout}).");
        }

        Check("Learning", Learning.Validate);
        Check("Rollout", () => Rollout.Validate());
        Check("Evaluation", Evaluation.Validate);
        return errors;

        void Check(string name, Action validate)
        {
            try
            {
                validate();
            }
            catch (ArgumentException ex)
            {
                errors.Add($"LoreOptions.{name} is invalid: {ex.Message}");
            }
        }
    }

    /// <summary>
    /// A copy the runtime keeps from open on: changing the caller's options (or its rollout and evaluation policies)
    /// after open changes nothing a running runtime does, so a value validated at open cannot turn invalid under it.
    /// </summary>
    internal LoreOptions Frozen()
    {
        var copy = new LoreOptions
        {
            Store = Store,
            LeaveStoreOpen = LeaveStoreOpen,
            Tenant = Tenant,
            TelemetryTenant = TelemetryTenant,
            EmbeddingGenerator = EmbeddingGenerator,
            QueryEmbeddingWait = QueryEmbeddingWait,
            LearnEveryEpisodes = LearnEveryEpisodes,
            TimeProvider = TimeProvider,
            RefreshInterval = RefreshInterval,
            ListenForChanges = ListenForChanges,
            ChangeFeed = ChangeFeed,
            LoggerFactory = LoggerFactory,
            FailureClassifier = FailureClassifier,
            FailureClassifierTimeout = FailureClassifierTimeout,
            Learning = Learning,
            Rollout = Rollout.Clone(),
            Evaluation = Evaluation.Clone(),
        };
        copy.Capture.Capacity = Capture.Capacity;
        copy.Capture.OverflowPolicy = Capture.OverflowPolicy;
        copy.Capture.MaxBatchSize = Capture.MaxBatchSize;
        copy.Capture.BatchWindow = Capture.BatchWindow;
        copy.Capture.AbandonIdleEpisodesAfter = Capture.AbandonIdleEpisodesAfter;
        return copy;
    }
}
