using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore.Learning;

/// <summary>How a <see cref="LearningWorker"/> takes and paces its work.</summary>
public sealed class LearningWorkerOptions
{
    /// <summary>The tenant whose episodes the worker learns from.</summary>
    public string Tenant { get; set; } = Tenants.Default;

    /// <summary>The worker's name in leases, learning runs and logs; unique per process by default.</summary>
    public string Name { get; set; } = $"worker-{Environment.MachineName}-{Environment.ProcessId}-{Guid.NewGuid().ToString("n")[..6]}";

    /// <summary>Most episodes leased and learned from in one pass.</summary>
    public int BatchSize { get; set; } = 200;

    /// <summary>
    /// How long a lease holds before another worker may take the episode. A pass must finish well within it: a pass
    /// whose leases are within <see cref="SafetyMargin"/> of expiring when it is about to write gives up without writing.
    /// </summary>
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Left of a lease at write time below which a pass gives up (clock skew between hosts, the write itself).</summary>
    public TimeSpan SafetyMargin { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the loop waits before leasing again when it found nothing to do or a pass failed.</summary>
    public TimeSpan IdleDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A lease granted this many times (every earlier worker failed or died on it) is completed without learning, so
    /// one episode that breaks learning cannot stall the queue; the give-up is logged.
    /// </summary>
    public int MaxAttempts { get; set; } = 5;

    /// <summary>How each leased batch is learned from (extractors, thresholds, guards), as for an in-process pass.</summary>
    public LearningOptions Learning { get; } = new();

    /// <summary>How the worker's new snapshots enter the rollout (null: served at once).</summary>
    public RolloutPolicy? Rollout { get; set; }

    /// <summary>The clock for leases and runs; a test substitutes a fake one to expire leases without waiting.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    internal void Validate()
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(Tenant, "options.Tenant");
        ArgumentException.ThrowIfNullOrWhiteSpace(Name, "options.Name");
        ArgumentOutOfRangeException.ThrowIfLessThan(BatchSize, 1, "options.BatchSize");
        ArgumentOutOfRangeException.ThrowIfLessThan(MaxAttempts, 1, "options.MaxAttempts");
        ArgumentOutOfRangeException.ThrowIfLessThan(SafetyMargin, TimeSpan.Zero, "options.SafetyMargin");
        ArgumentOutOfRangeException.ThrowIfLessThan(IdleDelay, TimeSpan.Zero, "options.IdleDelay");
        if (LeaseDuration <= SafetyMargin)
        {
            throw new ArgumentOutOfRangeException("options.LeaseDuration", LeaseDuration, $"LeaseDuration must exceed SafetyMargin ({SafetyMargin}), or no pass could ever write.");
        }

        ArgumentNullException.ThrowIfNull(TimeProvider, "options.TimeProvider");
        Learning.Validate();
    }
}

/// <summary>What one pass of a worker did.</summary>
/// <param name="Leases">The leases the pass took.</param>
/// <param name="Learned">Episodes learned from and marked processed.</param>
/// <param name="GivenUp">Episodes marked processed without learning, after <see cref="LearningWorkerOptions.MaxAttempts"/> grants.</param>
/// <param name="Run">The learning run, or null when nothing was learned (nothing leased, or the pass gave up).</param>
/// <param name="Outcome">What became of the batch.</param>
public sealed record LearningWorkerPass(IReadOnlyList<EpisodeLease> Leases, IReadOnlyList<string> Learned, IReadOnlyList<string> GivenUp, LearningRun? Run, LearningWorkerOutcome Outcome);

/// <summary>What became of a worker's batch.</summary>
public enum LearningWorkerOutcome
{
    /// <summary>Nothing was waiting.</summary>
    Idle,

    /// <summary>Learned from and marked processed.</summary>
    Completed,

    /// <summary>The leases were about to expire before the pass could write, so it wrote nothing; the episodes go to the next lease.</summary>
    Abandoned,

    /// <summary>
    /// A lease had meanwhile been granted to another worker, so the pass wrote nothing (its leases are completed in the
    /// same transaction as its learning): the new holder learns from those episodes, once.
    /// </summary>
    LostLease,
}

/// <summary>
/// Scales learning past one process: each worker leases a batch of ended, never-processed episodes of a tenant,
/// learns from them (they are the pass's new episodes), then marks them processed. Leases make several workers, in
/// several processes, process each episode once; a worker that dies lets its leases expire, and another worker takes
/// the episodes again (attempt 2). The consolidation step of every pass holds the tenant's learning lock, so passes
/// never overwrite each other's lessons.
/// </summary>
/// <remarks>
/// Exactly-once: leases are completed in the same transaction that writes the pass's lessons, run and snapshot, so a
/// crash anywhere before it leaves the episodes to be retried (never lost), and a crash after it leaves them processed
/// (never learned twice). A pass that outlived its lease (granted meanwhile to another worker) has its commit refused
/// whole; the pass also checks, under the learning lock and just before writing, that its leases have at least
/// <see cref="LearningWorkerOptions.SafetyMargin"/> left, and otherwise abandons the batch without writing.
/// </remarks>
public sealed partial class LearningWorker
{
    private readonly ILoreStore _store;
    private readonly LearningWorkerOptions _options;
    private readonly ILogger _logger;
    private readonly LearningPipeline _pipeline;

    /// <summary>A worker over <paramref name="store"/>; the options are validated here, so a bad configuration fails at start.</summary>
    public LearningWorker(ILoreStore store, LearningWorkerOptions options, ILogger? logger = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(options);
        options.Validate();
        _store = store;
        _options = options;
        _logger = logger ?? NullLogger.Instance;
        _pipeline = new LearningPipeline(store, options.Learning, options.TimeProvider, _logger) { Rollout = options.Rollout };
    }

    /// <summary>The worker's name, written on its leases so operators can see which process holds which episodes.</summary>
    public string Name => _options.Name;

    /// <summary>Leases one batch, learns from it and completes its leases; an <see cref="LearningWorkerOutcome.Idle"/> pass when nothing waits.</summary>
    public async Task<LearningWorkerPass> RunOnceAsync(CancellationToken cancellationToken = default)
    {
        var leases = await _store.LeaseEpisodesAsync(_options.Tenant, Name, _options.BatchSize, _options.LeaseDuration, cancellationToken).ConfigureAwait(false);
        if (leases.Count == 0)
        {
            return new LearningWorkerPass(leases, [], [], null, LearningWorkerOutcome.Idle);
        }

        var givenUp = leases.Where(l => l.Attempt > _options.MaxAttempts).ToArray();
        var toLearn = leases.Where(l => l.Attempt <= _options.MaxAttempts).ToArray();
        foreach (var lease in givenUp)
        {
            LogGivenUp(_logger, Name, lease.EpisodeId, lease.Attempt);
        }

        LearningRun? run = null;
        try
        {
            if (toLearn.Length > 0)
            {
                // The pass completes every lease of the batch (given-up ones too) in the commit that stores its learning.
                var expires = toLearn.Min(l => l.ExpiresAt);
                run = await _pipeline.RunOnEpisodesAsync(
                    _options.Tenant,
                    Name,
                    [.. toLearn.Select(l => l.EpisodeId)],
                    stillOwned: () => _options.TimeProvider.GetUtcNow() + _options.SafetyMargin < expires,
                    leases,
                    progress: null,
                    cancellationToken).ConfigureAwait(false);
                if (run is null)
                {
                    LogAbandoned(_logger, Name, toLearn.Length, expires);
                    return new LearningWorkerPass(leases, [], [], null, LearningWorkerOutcome.Abandoned);
                }
            }
            else
            {
                await _store.CompleteLeasesAsync(leases, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (StoreConflictException ex)
        {
            LogLostLease(_logger, ex, Name);
            return new LearningWorkerPass(leases, [], [], null, LearningWorkerOutcome.LostLease);
        }

        LogPass(_logger, Name, toLearn.Length, givenUp.Length, run?.Id ?? "(none)", run?.SnapshotId ?? "(unchanged)");
        return new LearningWorkerPass(leases, [.. toLearn.Select(l => l.EpisodeId)], [.. givenUp.Select(l => l.EpisodeId)], run, LearningWorkerOutcome.Completed);
    }

    /// <summary>
    /// Runs passes until cancelled: back to back while batches come back full, and after
    /// <see cref="LearningWorkerOptions.IdleDelay"/> when a pass found less than a batch or failed (a failed pass leaves
    /// its leases to expire, so its episodes are retried).
    /// </summary>
    public async Task RunAsync(Action<LearningWorkerPass>? onPass = null, CancellationToken cancellationToken = default)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var full = false;
            try
            {
                var pass = await RunOnceAsync(cancellationToken).ConfigureAwait(false);
                onPass?.Invoke(pass);
                full = pass.Leases.Count >= _options.BatchSize && pass.Outcome != LearningWorkerOutcome.Abandoned;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                LogFailed(_logger, ex, Name);
            }

            if (!full)
            {
                try
                {
                    await Task.Delay(_options.IdleDelay, _options.TimeProvider, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Worker {Worker} learned from {Learned} episodes ({GivenUp} given up): run {RunId}, snapshot {SnapshotId}.")]
    private static partial void LogPass(ILogger logger, string worker, int learned, int givenUp, string runId, string snapshotId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} abandoned a batch of {Count} episodes: its leases expire at {Expires}, too soon to write safely. Another lease picks them up.")]
    private static partial void LogAbandoned(ILogger logger, string worker, int count, DateTimeOffset expires);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Worker {Worker} lost a lease of its batch to another worker before it could write; it wrote nothing, and the new holder learns from those episodes.")]
    private static partial void LogLostLease(ILogger logger, Exception exception, string worker);

    [LoggerMessage(Level = LogLevel.Error, Message = "Worker {Worker} gives up on episode {EpisodeId} after {Attempts} leases; it is marked processed without learning.")]
    private static partial void LogGivenUp(ILogger logger, string worker, string episodeId, int attempts);

    [LoggerMessage(Level = LogLevel.Error, Message = "A pass of worker {Worker} failed; its leases expire and are retried.")]
    private static partial void LogFailed(ILogger logger, Exception exception, string worker);
}
