using System.Collections.Concurrent;
using Lore.Capture;
using Lore.Learning;
using Lore.Retrieval;
using Lore.Rollout;
using Lore.Snapshots;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore;

/// <summary>
/// One agent host's connection to Lore: it serves the tenant's rollout from memory (the stable snapshot, and a
/// candidate to a canary share of units or in shadow), records episodes through a background writer, evaluates a
/// running canary continuously and runs learning. Create one per process and share it.
/// </summary>
public sealed partial class LoreRuntime : IAsyncDisposable
{
    internal static readonly AsyncLocal<EpisodeScope?> Ambient = new();

    /// <summary>Distinct query texts whose embeddings are kept (384 floats each with MiniLM: about 1.6 KB a query).</summary>
    private const int QueryEmbeddingCapacity = 4_096;

    private readonly LoreOptions _options;
    private readonly ILogger _logger;
    private readonly SemaphoreSlim _learnGate = new(1, 1);
    private readonly ConcurrentDictionary<string, EpisodeScope> _live = new(StringComparer.Ordinal);
    private readonly BackgroundLearner? _learner;
    private readonly RolloutMonitor _monitor;
    private readonly QueryEmbeddingCache? _queries;
    private RolloutWatcher? _watcher;
    private TaskCompletionSource _servingChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private LoreRuntime(LoreOptions options, ILoreStore store, ILogger logger, RolloutController rollout)
    {
        _options = options;
        Store = store;
        Tenant = options.Tenant;
        TimeProvider = options.TimeProvider;
        _logger = logger;
        Rollout = rollout;
        Capture = new CaptureWriter(store, options.Capture, _logger);
        _queries = options.EmbeddingGenerator is null ? null : new QueryEmbeddingCache(options.EmbeddingGenerator, QueryEmbeddingCapacity, _logger);
        _monitor = new RolloutMonitor(rollout, store, options.Rollout, options.Evaluation, options.TimeProvider, _logger, FlushAsync);
        if (options.LearnEveryEpisodes > 0)
        {
            _learner = new BackgroundLearner(this, options.LearnEveryEpisodes, _logger);
        }
    }

    /// <summary>Opens the runtime on its store and loads the tenant's rollout (stable and candidate snapshots) into memory.</summary>
    public static async Task<LoreRuntime> OpenAsync(LoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        options = options.Frozen();
        var store = options.Store!;
        var logger = options.LoggerFactory?.CreateLogger("Lore") ?? NullLogger.Instance;
        var indexes = new SnapshotIndexCache(options.EmbeddingGenerator);
        LoreRuntime? runtime = null;
        var rollout = await RolloutController.OpenServingAsync(
            store,
            options.Tenant,
            indexes,
            options.TimeProvider,
            logger,
            (previous, next) => runtime?.OnServingChanged(previous, next),
            cancellationToken).ConfigureAwait(false);
        runtime = new LoreRuntime(options, store, logger, rollout);
        rollout.TelemetryTenant = runtime.TelemetryTenant;

        // Episodes the tenant's previous host left open when it died are ended now, so their outcomes can be learned from.
        await OpenEpisodeRecovery.RunAsync(store, options.Tenant, options.Capture.AbandonIdleEpisodesAfter, new HashSet<string>(StringComparer.Ordinal), options.TimeProvider, logger, cancellationToken).ConfigureAwait(false);
        runtime._watcher = RolloutWatcher.Start(
            rollout.RefreshAsync,
            options.ListenForChanges ? options.ChangeFeed ?? store.GetService<IStoreChangeFeed>() : null,
            options.Tenant,
            options.RefreshInterval,
            options.TimeProvider,
            logger);
        return runtime;
    }

    /// <summary>The tenant this runtime serves and records for.</summary>
    public string Tenant { get; }

    /// <summary>The <c>lore.tenant</c> tag of this runtime's telemetry (<see cref="LoreOptions.TelemetryTenant"/>).</summary>
    internal string TelemetryTenant => _options.TelemetryTenant ?? Tenant;

    /// <summary>The store the runtime reads lessons from and writes episodes to.</summary>
    public ILoreStore Store { get; }

    /// <summary>
    /// The tenant's rollout as this process serves it: promote, roll back, freeze or start a canary here and the next
    /// episode sees it at once.
    /// </summary>
    public RolloutController Rollout { get; }

    /// <summary>The stable snapshot, served to every unit outside a canary; null when nothing has been learned yet.</summary>
    public Snapshot? CurrentSnapshot => ServedIndex.Snapshot;

    /// <summary>The episode of the current async flow, if any.</summary>
    public static EpisodeScope? CurrentEpisode => Ambient.Value;

    /// <summary>What capture has enqueued, written, dropped and failed so far, so lost episodes are never silent.</summary>
    public CaptureStatistics CaptureStatistics => Capture.Statistics;

    internal CaptureWriter Capture { get; }

    internal TimeProvider TimeProvider { get; }

    /// <summary>The stable snapshot's index (what units outside a canary are served).</summary>
    internal LessonIndex ServedIndex => Rollout.Served.Stable;

    /// <summary>Continuous evaluation of the running rollout in this process.</summary>
    internal RolloutMonitor Monitor => _monitor;

    /// <summary>Watches the store for rollout changes made by other hosts (null when neither a feed nor polling is on).</summary>
    internal RolloutWatcher? Watcher => _watcher;

    /// <summary>Background learning passes finished so far (0 when the worker is off).</summary>
    internal int BackgroundLearningPasses => _learner?.CompletedPasses ?? 0;

    /// <summary>
    /// Whether an episode begun in this runtime is still running: a host that also records episodes reported from
    /// outside checks it before taking an id, since a running episode is not in the store until its first record.
    /// </summary>
    public bool IsRunning(string episodeId)
    {
        ArgumentNullException.ThrowIfNull(episodeId);
        return _live.ContainsKey(episodeId);
    }

    /// <summary>Ids of the episodes running in this runtime now, for a host's own sweep of abandoned episodes (<see cref="AbandonedEpisodeSweep.Running"/>), which must never end them.</summary>
    public IReadOnlyCollection<string> RunningEpisodeIds => [.. _live.Keys];

    /// <summary>Completes the next time a different snapshot starts being served (for hosts and tests that wait on learning).</summary>
    internal Task WhenServingChangesAsync() => Volatile.Read(ref _servingChanged).Task;

    /// <summary>Starts an episode and makes it ambient for the calling async flow.</summary>
    public EpisodeScope BeginEpisode(string task, Dictionary<string, string>? labels = null, string? unitKey = null, string? episodeId = null)
        => BeginEpisode(task, labels, unitKey, episodeId, source: "");

    /// <summary>
    /// Starts an episode for a caller the host authenticated: <paramref name="source"/> is the <see cref="Episode.Source"/>
    /// that evidence counts (from the API key, see <see cref="EpisodeSources"/>), empty for the host's own capture.
    /// </summary>
    internal EpisodeScope BeginEpisode(string task, Dictionary<string, string>? labels, string? unitKey, string? episodeId, string source)
        => BeginEpisode(task, labels, unitKey, episodeId, source, ambient: true);

    /// <summary>
    /// Starts an episode whose model calls a host sees from outside the process's own async flow (a proxy, a gateway):
    /// never ambient, and ended by the outcome recorded for it through <see cref="RecordOutcomeAsync"/>.
    /// </summary>
    public Hosting.HostedEpisode BeginHostedEpisode(Hosting.HostedEpisodeStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        var labels = start.Labels is null || start.Labels.Count == 0 ? null : new Dictionary<string, string>(start.Labels, StringComparer.Ordinal);
        var scope = BeginEpisode(start.Task, labels, start.UnitKey, start.EpisodeId, start.Source, ambient: false);
        scope.EndsOnOutcome = true;
        return new Hosting.HostedEpisode(scope);
    }

    /// <summary>
    /// The rollout's assignment for an episode the host records itself (over an API, MCP): the unit's arm and
    /// snapshot, as <see cref="BeginEpisode(string, Dictionary{string, string}?, string?, string?)"/> would give it.
    /// </summary>
    public Hosting.EpisodeAssignment AssignEpisode(string unitKey, string episodeId)
    {
        ArgumentNullException.ThrowIfNull(unitKey);
        ArgumentException.ThrowIfNullOrWhiteSpace(episodeId);
        return new Hosting.EpisodeAssignment(this, Rollout.Assign(unitKey, episodeId));
    }

    private EpisodeScope BeginEpisode(string task, Dictionary<string, string>? labels, string? unitKey, string? episodeId, string source, bool ambient)
    {
        ArgumentNullException.ThrowIfNull(task);
        ArgumentNullException.ThrowIfNull(source);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (episodeId is not null && string.IsNullOrWhiteSpace(episodeId))
        {
            throw new ArgumentException("An explicit episode id must not be blank.", nameof(episodeId));
        }

        var id = episodeId ?? "ep-" + Guid.CreateVersion7().ToString("n");

        // The rollout decides the unit's arm and snapshot once; the episode keeps them to its end.
        var assignment = Rollout.Assign(unitKey ?? "", id);
        var header = EpisodeScope.Header(id, Tenant, unitKey ?? "", task, labels, TimeProvider.GetUtcNow(), assignment.Served.SnapshotId, assignment.Arm) with { Source = source };
        var scope = new EpisodeScope(this, header, assignment, ambient ? Ambient.Value : null);
        if (!_live.TryAdd(id, scope))
        {
            throw new ArgumentException($"Episode '{id}' is already running in this runtime.", nameof(episodeId));
        }

        // The task's embedding starts now, off the call path, so the episode's calls find it ready (or are served lexically).
        if (_queries is not null && (assignment.Served.UsesEmbeddingGenerator || assignment.Shadow is { UsesEmbeddingGenerator: true }))
        {
            _queries.Prefetch(LessonIndex.QueryText(task, null));
        }

        if (ambient)
        {
            Ambient.Value = scope;
        }

        return scope;
    }

    /// <summary>
    /// Adds a judgement to an episode that may have ended long ago (user feedback, an evaluator's score). An episode
    /// still open in another process (or left open by a crash) is ended by it (<see cref="EpisodeEndReasons.Outcome"/>).
    /// </summary>
    public async Task RecordOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(episodeId);
        ArgumentNullException.ThrowIfNull(outcome);
        if (_live.TryGetValue(episodeId, out var scope))
        {
            if (scope.EndsOnOutcome && !scope.IsEnded)
            {
                // The caller has the answer of its last call, but the host may not have recorded that call yet.
                await scope.CallsRecordedAsync(cancellationToken).ConfigureAwait(false);
                try
                {
                    await scope.CompleteAsync(outcome, cancellationToken).ConfigureAwait(false);
                    return;
                }
                catch (InvalidOperationException)
                {
                    // Another caller ended it a moment ago: the outcome is added below, to the running or the stored episode.
                }
            }

            if (await scope.TryAddOutcomeAsync(outcome).ConfigureAwait(false))
            {
                return;
            }
        }

        // The episode may have ended a moment ago: make its records durable before addressing it in the store.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        if (ClassifiesFailures && await Store.GetEpisodeAsync(Tenant, episodeId, cancellationToken).ConfigureAwait(false) is { } stored)
        {
            // Judged now: the classifier's mode is stored with the outcome, and the rollout monitor counts that mode.
            outcome = await JudgeOutcomeAsync(stored, outcome, cancellationToken).ConfigureAwait(false);
        }

        try
        {
            // Addressed in this runtime's tenant: episode ids are unique per tenant only. Not running here, so if it is
            // still open it runs elsewhere (another host, an agent's process) or was left by a crash: the outcome ends it.
            await Store.AppendAsync([new OutcomeRecorded(episodeId, outcome) { Tenant = Tenant, EndsEpisode = true }], cancellationToken).ConfigureAwait(false);
        }
        catch (KeyNotFoundException ex)
        {
            throw new KeyNotFoundException($"No episode '{episodeId}' in the store at {Store.Location}.", ex);
        }

        _monitor.OnLateOutcome(episodeId, outcome);
    }

    /// <summary>Picks lessons of the stable snapshot for a query, without a model call (for APIs and tools).</summary>
    public ValueTask<RetrievalResult> RetrieveAsync(RetrievalQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return RetrieveAsync(ServedIndex, query, cancellationToken);
    }

    /// <summary>
    /// What a snapshot of this tenant would have injected at each model call of a stored episode, against what was
    /// injected; retrieval embeds as this runtime does (see <see cref="EpisodeReplayer"/>).
    /// </summary>
    public Task<EpisodeReplay> ReplayAsync(string episodeId, string snapshotId, CancellationToken cancellationToken = default)
        => EpisodeReplayer.ReplayAsync(Store, episodeId, snapshotId, Tenant, _options.EmbeddingGenerator, cancellationToken);

    /// <summary>The evaluation policy this runtime's rollout monitor decides by (for pages that show what it sees).</summary>
    internal EvaluationPolicy EvaluationPolicy => _options.Evaluation;

    /// <summary>The per-lesson holdout share retrieval applies to calls this runtime serves (<see cref="EvaluationPolicy.LessonHoldoutShare"/>).</summary>
    internal double LessonHoldoutShare => _options.Evaluation.LessonHoldoutShare;

    /// <summary>Retrieval against a given index; embeds the query first when the vector half uses the user's generator.</summary>
    internal ValueTask<RetrievalResult> RetrieveAsync(LessonIndex index, RetrievalQuery query, CancellationToken cancellationToken)
    {
        if (index.Count == 0)
        {
            return ValueTask.FromResult(RetrievalResult.None(index.SnapshotId));
        }

        if (!index.UsesEmbeddingGenerator)
        {
            return ValueTask.FromResult(index.Retrieve(query));
        }

        return EmbedAndRetrieveAsync(index, query, cancellationToken);
    }

    /// <summary>Query texts the embedding generator was asked to embed so far (0 without one).</summary>
    internal long QueryTextsEmbedded => _queries?.Embedded ?? 0;

    /// <summary>Background generator calls for query texts so far (each embeds a batch).</summary>
    internal long QueryEmbeddingBatches => _queries?.Batches ?? 0;

    /// <summary>Whether a query text's vector is cached, so a call would be served by the full hybrid.</summary>
    internal bool HasQueryVector(string text) => _queries is not null && _queries.TryGet(text, out _);

    /// <summary>
    /// The query vector for a model call if it is ready within <see cref="LoreOptions.QueryEmbeddingWait"/>; null
    /// (serve lexically) otherwise, with the text left embedding in the background for the calls after it.
    /// </summary>
    internal ValueTask<ReadOnlyMemory<float>?> QueryVectorForCallAsync(string text, CancellationToken cancellationToken)
        => _queries is null ? ValueTask.FromResult<ReadOnlyMemory<float>?>(null) : _queries.GetWithinAsync(text, _options.QueryEmbeddingWait, cancellationToken);

    private async ValueTask<RetrievalResult> EmbedAndRetrieveAsync(LessonIndex index, RetrievalQuery query, CancellationToken cancellationToken)
    {
        var text = LessonIndex.QueryText(query.Task, query.Turn);
        var vector = await _queries!.GetAsync(text, cancellationToken).ConfigureAwait(false);
        return index.Retrieve(query, vector.Span);
    }

    /// <summary>Runs one learning pass now; its new snapshot enters the rollout as <see cref="LoreOptions.Rollout"/> says and is served at once.</summary>
    public async Task<LearningRun> LearnAsync(string actor = "lore", IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await _learnGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            var pipeline = new LearningPipeline(Store, _options.Learning, TimeProvider, _logger)
            {
                Rollout = _options.Rollout,
                EmbeddingGenerator = _options.Learning.EmbeddingGenerator ?? _options.EmbeddingGenerator,
            };
            var run = await pipeline.RunAsync(Tenant, actor, progress, cancellationToken).ConfigureAwait(false);
            LoreTelemetry.LearningRunCompleted(run);
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            return run;
        }
        finally
        {
            _learnGate.Release();
        }
    }

    /// <summary>
    /// Serves a stored snapshot (or none) to every unit at once, ending any rollout (audited as a promotion; use
    /// <see cref="Rollout"/> to name the actor and reason). A snapshot that cannot be loaded or indexed is never made active.
    /// </summary>
    public async Task ActivateSnapshotAsync(string? snapshotId, CancellationToken cancellationToken = default)
        => await Rollout.ActivateAsync(snapshotId, "lore", "activated through LoreRuntime.ActivateSnapshotAsync", cancellationToken).ConfigureAwait(false);

    /// <summary>Reloads the rollout from the store (another process may have changed it) and serves it.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
        => await Rollout.RefreshAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>Waits until every record captured so far is durable in the store.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => Capture.FlushAsync(cancellationToken);

    /// <summary>
    /// Waits until the rollout monitor has counted every episode that ended in this process so far and carried out
    /// what it decided (a promotion, a rollback, a hold). The monitor works off the call path in batches whose
    /// boundaries follow thread timing, so a script, simulation or test that must see the same decisions on every run,
    /// on a quiet or a loaded machine, waits here after each episode before starting the next.
    /// </summary>
    public Task WaitForRolloutDecisionsAsync(CancellationToken cancellationToken = default)
        => _monitor.WhenIdleAsync().WaitAsync(cancellationToken);

    /// <summary>Flushes capture, stops background learning and disposes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_watcher is not null)
        {
            await _watcher.DisposeAsync().ConfigureAwait(false);
        }

        if (_learner is not null)
        {
            await _learner.DisposeAsync().ConfigureAwait(false);
        }

        // Automatic rollout actions already decided finish before the store goes away.
        await _monitor.WhenIdleAsync().ConfigureAwait(false);
        await Capture.DisposeAsync().ConfigureAwait(false);
        if (_queries is not null)
        {
            await _queries.DisposeAsync().ConfigureAwait(false);
        }

        if (!_options.LeaveStoreOpen)
        {
            await Store.DisposeAsync().ConfigureAwait(false);
        }

        _learnGate.Dispose();
    }

    /// <summary>True when a failure classifier is set: episodes then keep their steps until they end, for it to read.</summary>
    internal bool ClassifiesFailures => _options.FailureClassifier is not null;

    /// <summary>
    /// The failure mode <paramref name="episode"/> has, or will have should it be judged failed: the mode it was judged
    /// with when its outcomes carry one (<see cref="Outcome.FailureMode"/>); else the label of
    /// <see cref="LoreOptions.FailureClassifier"/> when one is set, the episode has failed and the label comes within
    /// <see cref="LoreOptions.FailureClassifierTimeout"/>; otherwise the built-in signature (<see cref="FailureModes.IfFailed"/>).
    /// A classifier that throws or times out is logged and the built-in signature is used.
    /// </summary>
    public async ValueTask<string> FailureModeIfFailedAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var builtIn = FailureModes.IfFailed(episode);
        if (_options.FailureClassifier is null || episode.Succeeded is not false || episode.Outcomes.Any(o => o.FailureMode is not null))
        {
            return builtIn;
        }

        return await ClassifyAsync(episode, cancellationToken).ConfigureAwait(false) ?? builtIn;
    }

    /// <summary>
    /// <paramref name="outcome"/> as it is to be stored for <paramref name="episode"/> (which does not hold it yet): when a
    /// failure classifier is set and the episode, judged with it, has failed, it carries the classifier's mode in
    /// <see cref="Outcome.FailureMode"/>, so that every later view (evaluation, diff, the dashboard) counts the episode
    /// under the mode the rollout monitor counts it under. Otherwise, or when the classifier gives no label in time, it
    /// is returned as given and the views use the built-in signature, as the monitor does.
    /// </summary>
    public async ValueTask<Outcome> JudgeOutcomeAsync(Episode episode, Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        ArgumentNullException.ThrowIfNull(outcome);
        if (_options.FailureClassifier is null || outcome.FailureMode is not null)
        {
            return outcome;
        }

        var judged = episode with { Outcomes = [.. episode.Outcomes, outcome] };
        if (judged.Succeeded is not false)
        {
            return outcome;
        }

        return await ClassifyAsync(judged, cancellationToken).ConfigureAwait(false) is { } mode ? outcome with { FailureMode = mode } : outcome;
    }

    /// <summary>
    /// A whole episode about to be stored (imported, recorded over MCP), with the classifier's mode on its latest outcome
    /// when a classifier is set and the episode has failed (see <see cref="JudgeOutcomeAsync"/>).
    /// </summary>
    public async ValueTask<Episode> JudgeEpisodeAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (_options.FailureClassifier is null || episode.Outcomes.Count == 0)
        {
            return episode;
        }

        var last = episode.Outcomes[^1];
        var judged = await JudgeOutcomeAsync(episode with { Outcomes = [.. episode.Outcomes.Take(episode.Outcomes.Count - 1)] }, last, cancellationToken).ConfigureAwait(false);
        return ReferenceEquals(judged, last) ? episode : episode with { Outcomes = [.. episode.Outcomes.Take(episode.Outcomes.Count - 1), judged] };
    }

    /// <summary>The classifier's mode (<c>label: ...</c>) for a failed episode, or null when it gave none, failed or timed out (logged).</summary>
    private async ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.FailureClassifierTimeout);
        try
        {
            var label = await _options.FailureClassifier!.ClassifyAsync(episode, timeout.Token).ConfigureAwait(false);
            return string.IsNullOrWhiteSpace(label) ? null : FailureModes.Label(label);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogClassifierFailed(_logger, episode.Id, Tenant, ex);
            return null;
        }
    }

    internal void OnEpisodeEnded(EpisodeScope scope, double? score, string failureMode)
    {
        _live.TryRemove(new KeyValuePair<string, EpisodeScope>(scope.Id, scope));
        _monitor.OnEpisodeEnded(scope.Id, scope.UnitKey, scope.Assignment, scope.Slice, score, failureMode);
        _learner?.OnEpisodeEnded();
    }

    /// <summary>Serving a new rollout is one pointer swap (in the controller); episodes already running keep what they started with.</summary>
    private void OnServingChanged(ServedRollout previous, ServedRollout next)
    {
        var was = previous.State;
        var now = next.State;
        _monitor.OnServedChanged(was, now);

        if (was.StableSnapshotId != now.StableSnapshotId || was.CandidateSnapshotId != now.CandidateSnapshotId || was.Stage != now.Stage || was.CanaryShare != now.CanaryShare)
        {
            LogServing(_logger, now.StableSnapshotId ?? "(none)", next.Stable.Count, now.CandidateSnapshotId ?? "(none)", now.Stage, now.CanaryShare, Tenant);
            Interlocked.Exchange(ref _servingChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The failure classifier gave no label for episode {EpisodeId} of tenant {Tenant}; its built-in failure signature is used.")]
    private static partial void LogClassifierFailed(ILogger logger, string episodeId, string tenant, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving snapshot {SnapshotId} ({Lessons} lessons) with candidate {Candidate} ({Stage}, share {Share}) to new episodes of tenant {Tenant}.")]
    private static partial void LogServing(ILogger logger, string snapshotId, int lessons, string candidate, RolloutStage stage, double share, string tenant);
}
