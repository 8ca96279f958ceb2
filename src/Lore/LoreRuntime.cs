using System.Collections.Concurrent;
using Lore.Capture;
using Lore.Learning;
using Lore.Retrieval;
using Lore.Snapshots;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore;

/// <summary>
/// One agent host's connection to Lore: it serves the active snapshot from memory, records episodes through a
/// background writer, and runs learning. Create one per process and share it.
/// </summary>
public sealed partial class LoreRuntime : IAsyncDisposable
{
    internal static readonly AsyncLocal<EpisodeScope?> Ambient = new();

    private readonly LoreOptions _options;
    private readonly ILogger _logger;
    private readonly SnapshotIndexCache _indexes;
    private readonly SemaphoreSlim _learnGate = new(1, 1);
    private readonly SemaphoreSlim _serveGate = new(1, 1);
    private readonly ConcurrentDictionary<string, EpisodeScope> _live = new(StringComparer.Ordinal);
    private readonly BackgroundLearner? _learner;
    private LessonIndex _served;
    private TaskCompletionSource _servingChanged = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _disposed;

    private LoreRuntime(LoreOptions options, ILoreStore store, SnapshotIndexCache indexes, LessonIndex served)
    {
        _options = options;
        Store = store;
        Tenant = options.Tenant;
        TimeProvider = options.TimeProvider;
        _logger = options.LoggerFactory?.CreateLogger("Lore") ?? NullLogger.Instance;
        _indexes = indexes;
        _served = served;
        Capture = new CaptureWriter(store, options.Capture, _logger);
        if (options.LearnEveryEpisodes > 0)
        {
            _learner = new BackgroundLearner(this, options.LearnEveryEpisodes, _logger);
        }
    }

    /// <summary>Opens the runtime on its store and loads the active snapshot into memory.</summary>
    public static async Task<LoreRuntime> OpenAsync(LoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        var store = options.Store!;
        var indexes = new SnapshotIndexCache(options.EmbeddingGenerator);
        var activeId = await store.GetActiveSnapshotIdAsync(options.Tenant, cancellationToken).ConfigureAwait(false);
        var snapshot = await LoadSnapshotAsync(store, options.Tenant, activeId, cancellationToken).ConfigureAwait(false);
        var served = await indexes.GetAsync(snapshot, cancellationToken).ConfigureAwait(false);
        return new LoreRuntime(options, store, indexes, served);
    }

    public string Tenant { get; }

    public ILoreStore Store { get; }

    /// <summary>The snapshot served to new episodes, or null when nothing has been learned yet.</summary>
    public Snapshot? CurrentSnapshot => Volatile.Read(ref _served).Snapshot;

    /// <summary>The episode of the current async flow, if any.</summary>
    public static EpisodeScope? CurrentEpisode => Ambient.Value;

    public CaptureStatistics CaptureStatistics => Capture.Statistics;

    internal CaptureWriter Capture { get; }

    internal TimeProvider TimeProvider { get; }

    /// <summary>The index served to new episodes.</summary>
    internal LessonIndex ServedIndex => Volatile.Read(ref _served);

    /// <summary>Background learning passes finished so far (0 when the worker is off).</summary>
    internal int BackgroundLearningPasses => _learner?.CompletedPasses ?? 0;

    /// <summary>Completes the next time a different snapshot starts being served (for hosts and tests that wait on learning).</summary>
    internal Task WhenServingChangesAsync() => Volatile.Read(ref _servingChanged).Task;

    /// <summary>Starts an episode and makes it ambient for the calling async flow.</summary>
    public EpisodeScope BeginEpisode(string task, Dictionary<string, string>? labels = null, string? unitKey = null, string? episodeId = null)
    {
        ArgumentNullException.ThrowIfNull(task);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (episodeId is not null && string.IsNullOrWhiteSpace(episodeId))
        {
            throw new ArgumentException("An explicit episode id must not be blank.", nameof(episodeId));
        }

        var id = episodeId ?? "ep-" + Guid.CreateVersion7().ToString("n");
        var index = ServedIndex;
        var header = EpisodeScope.Header(id, Tenant, unitKey ?? "", task, labels, TimeProvider.GetUtcNow(), index.SnapshotId);
        var scope = new EpisodeScope(this, header, index, Ambient.Value);
        if (!_live.TryAdd(id, scope))
        {
            throw new ArgumentException($"Episode '{id}' is already running in this runtime.", nameof(episodeId));
        }

        Ambient.Value = scope;
        return scope;
    }

    /// <summary>Adds a judgement to an episode that may have ended long ago (user feedback, an evaluator's score).</summary>
    public async Task RecordOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(episodeId);
        ArgumentNullException.ThrowIfNull(outcome);
        if (_live.TryGetValue(episodeId, out var scope) && await scope.TryAddOutcomeAsync(outcome).ConfigureAwait(false))
        {
            return;
        }

        // The episode may have ended a moment ago: make its records durable before addressing it in the store.
        await FlushAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await Store.AddOutcomeAsync(episodeId, outcome, cancellationToken).ConfigureAwait(false);
        }
        catch (KeyNotFoundException ex)
        {
            throw new KeyNotFoundException($"No episode '{episodeId}' in the store at {Store.Location}.", ex);
        }
    }

    /// <summary>Picks lessons of the current snapshot for a query, without a model call (for APIs and tools).</summary>
    public ValueTask<RetrievalResult> RetrieveAsync(RetrievalQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return RetrieveAsync(ServedIndex, query, cancellationToken);
    }

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

    private async ValueTask<RetrievalResult> EmbedAndRetrieveAsync(LessonIndex index, RetrievalQuery query, CancellationToken cancellationToken)
    {
        var text = LessonIndex.QueryText(query.Task, query.Turn);
        var vector = await _options.EmbeddingGenerator!.GenerateVectorAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
        return index.Retrieve(query, vector.Span);
    }

    /// <summary>Runs one learning pass now and serves its snapshot if it activated one.</summary>
    public async Task<LearningRun> LearnAsync(string actor = "lore", IProgress<string>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        await _learnGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await FlushAsync(cancellationToken).ConfigureAwait(false);
            var pipeline = new LearningPipeline(Store, _options.Learning, TimeProvider, _logger);
            var run = await pipeline.RunAsync(Tenant, actor, progress, cancellationToken).ConfigureAwait(false);
            await RefreshAsync(cancellationToken).ConfigureAwait(false);
            return run;
        }
        finally
        {
            _learnGate.Release();
        }
    }

    /// <summary>Points the tenant at a stored snapshot (or none) and serves it at once.</summary>
    public async Task ActivateSnapshotAsync(string? snapshotId, CancellationToken cancellationToken = default)
    {
        await _serveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Load and index first: a snapshot that cannot be served must not become the active one.
            var snapshot = await LoadSnapshotAsync(Store, Tenant, snapshotId, cancellationToken).ConfigureAwait(false);
            var index = await _indexes.GetAsync(snapshot, cancellationToken).ConfigureAwait(false);
            await Store.SetActiveSnapshotAsync(Tenant, snapshotId, cancellationToken).ConfigureAwait(false);
            Serve(index);
        }
        finally
        {
            _serveGate.Release();
        }
    }

    /// <summary>Reloads the active snapshot pointer from the store (another process may have moved it).</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _serveGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var activeId = await Store.GetActiveSnapshotIdAsync(Tenant, cancellationToken).ConfigureAwait(false);
            if (activeId == ServedIndex.SnapshotId)
            {
                return;
            }

            var snapshot = await LoadSnapshotAsync(Store, Tenant, activeId, cancellationToken).ConfigureAwait(false);
            Serve(await _indexes.GetAsync(snapshot, cancellationToken).ConfigureAwait(false));
        }
        finally
        {
            _serveGate.Release();
        }
    }

    /// <summary>Waits until every record captured so far is durable in the store.</summary>
    public Task FlushAsync(CancellationToken cancellationToken = default) => Capture.FlushAsync(cancellationToken);

    /// <summary>Flushes capture, stops background learning and disposes the store.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_learner is not null)
        {
            await _learner.DisposeAsync().ConfigureAwait(false);
        }

        await Capture.DisposeAsync().ConfigureAwait(false);
        await Store.DisposeAsync().ConfigureAwait(false);
        _learnGate.Dispose();
        _serveGate.Dispose();
    }

    internal void OnEpisodeEnded(EpisodeScope scope)
    {
        _live.TryRemove(new KeyValuePair<string, EpisodeScope>(scope.Id, scope));
        _learner?.OnEpisodeEnded();
    }

    /// <summary>Serving a new snapshot is one pointer swap; episodes already running keep the index they started with.</summary>
    private void Serve(LessonIndex index)
    {
        var previous = Interlocked.Exchange(ref _served, index);
        if (!ReferenceEquals(previous, index))
        {
            LogServing(_logger, index.SnapshotId ?? "(none)", index.Count, Tenant);
            Interlocked.Exchange(ref _servingChanged, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
        }
    }

    private static async Task<Snapshot?> LoadSnapshotAsync(ILoreStore store, string tenant, string? snapshotId, CancellationToken cancellationToken)
    {
        if (snapshotId is null)
        {
            return null;
        }

        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"Snapshot '{snapshotId}' is not in the store at {store.Location}.");
        if (!string.Equals(snapshot.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"Snapshot '{snapshotId}' belongs to tenant '{snapshot.Tenant}', not to '{tenant}' which this runtime serves.");
        }

        return snapshot;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Serving snapshot {SnapshotId} ({Lessons} lessons) to new episodes of tenant {Tenant}.")]
    private static partial void LogServing(ILogger logger, string snapshotId, int lessons, string tenant);
}
