using System.Text.Json;
using Lore.Learning.Publication;
using Lore.Retrieval;
using Lore.Rollout;
using Lore.Snapshots;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Lore;

/// <summary>A rollout change as it happened: the state before and after, and the audit entry that records it.</summary>
/// <param name="Before">The rollout as read just before the change.</param>
/// <param name="After">The rollout after it (the same as <paramref name="Before"/> when nothing needed to change).</param>
/// <param name="Changed">False when the rollout already was as asked (nothing saved, nothing audited).</param>
/// <param name="Audit">The audit entry of the change, or null when nothing changed.</param>
public sealed record RolloutTransition(RolloutState Before, RolloutState After, bool Changed, AuditEntry? Audit);

/// <summary>A snapshot refused for serving because its stored content does not match its content address.</summary>
/// <param name="SnapshotId">The refused snapshot.</param>
/// <param name="StoredContentAddress">What its stored content hashes to.</param>
/// <param name="StillServing">The stable snapshot the process kept serving (null: the nearest verified ancestor, or none, at start).</param>
/// <param name="At">When this process refused it.</param>
public sealed record SnapshotIntegrityAlarm(string SnapshotId, string? StoredContentAddress, string? StillServing, DateTimeOffset At);

/// <summary>
/// The only place that decides which snapshot a unit of a tenant gets, and the one way to change it: shadow, canary,
/// promote, roll back, freeze and unfreeze. Each change is saved compare-and-swap (a lost race is re-read and decided
/// again) and written to the audit log with its actor, reason and evidence. Inside a <see cref="LoreRuntime"/> it also
/// serves the rollout from memory, so a change made here reaches the next episode at once (a rollback is a pointer
/// swap); other processes see it on their next <see cref="RefreshAsync"/>.
/// </summary>
public sealed partial class RolloutController
{
    /// <summary>How many lost races a rollout change survives before it gives up with the conflict (as learning's publisher does).</summary>
    private const int MaxRolloutAttempts = 8;

    private readonly ILoreStore _store;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly SnapshotIndexCache? _indexes;
    private readonly Action<ServedRollout, ServedRollout>? _onServed;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, SnapshotIntegrityAlarm> _refused = new(StringComparer.Ordinal);
    private readonly Lock _swap = new();
    private ServedRollout? _served;
    private RolloutState _state;

    /// <summary>
    /// A controller that changes a tenant's rollout in the store without serving it (for the CLI and admin tools);
    /// runtimes serving the tenant pick the change up when they refresh.
    /// </summary>
    public RolloutController(ILoreStore store, string tenant, TimeProvider? timeProvider = null, ILogger? logger = null)
        : this(store, tenant, timeProvider ?? TimeProvider.System, logger ?? NullLogger.Instance, indexes: null, onServed: null)
    {
    }

    private RolloutController(ILoreStore store, string tenant, TimeProvider time, ILogger logger, SnapshotIndexCache? indexes, Action<ServedRollout, ServedRollout>? onServed)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        _store = store;
        Tenant = tenant;
        _time = time;
        _logger = logger;
        _indexes = indexes;
        _onServed = onServed;
        _state = new RolloutState { Tenant = tenant };
    }

    /// <summary>The tenant whose rollout this controller changes.</summary>
    public string Tenant { get; }

    /// <summary>The <c>lore.tenant</c> tag of the rollout's telemetry (the runtime's <see cref="LoreOptions.TelemetryTenant"/>).</summary>
    internal string? TelemetryTenant { get; set; }

    /// <summary>The rollout as last read or changed through this controller.</summary>
    public RolloutState State => Volatile.Read(ref _served)?.State ?? Volatile.Read(ref _state);

    /// <summary>The rollout this process serves (only for a serving controller).</summary>
    internal ServedRollout Served => Volatile.Read(ref _served) ?? throw new InvalidOperationException("This rollout controller changes the store only; it serves nothing.");

    /// <summary>Opens a controller that serves the tenant's rollout from memory, with the indexes of its snapshots built.</summary>
    internal static async Task<RolloutController> OpenServingAsync(
        ILoreStore store,
        string tenant,
        SnapshotIndexCache indexes,
        TimeProvider time,
        ILogger logger,
        Action<ServedRollout, ServedRollout>? onServed,
        CancellationToken cancellationToken)
    {
        var controller = new RolloutController(store, tenant, time, logger, indexes, onServed);
        var state = await store.GetRolloutAsync(tenant, cancellationToken).ConfigureAwait(false);
        controller._served = await controller.PrepareAsync(state, cancellationToken).ConfigureAwait(false);
        return controller;
    }

    /// <summary>
    /// Snapshots this process refused to serve because their stored content does not match their content address,
    /// oldest first (the dashboard shows them as a banner; each was logged, counted and audited once).
    /// </summary>
    public IReadOnlyList<SnapshotIntegrityAlarm> IntegrityAlarms => [.. _refused.Values.OrderBy(a => a.At)];

    /// <summary>The arm and index for a unit's new episode (see <see cref="ServedRollout.Assign"/>).</summary>
    internal RolloutAssignment Assign(string unitKey, string episodeId) => Served.Assign(unitKey, episodeId);

    /// <summary>Reads the rollout from the store and serves it if it changed since this process last saw it.</summary>
    public async Task<RolloutState> RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var state = await _store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
            await ServeAsync(state, cancellationToken).ConfigureAwait(false);
            return State;
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Puts a snapshot in shadow: every unit keeps the stable snapshot, and what the candidate would inject is recorded.</summary>
    public Task<RolloutTransition> ShadowAsync(string snapshotId, string actor, string reason = "", CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(snapshotId);
        return ChangeAsync(
            AuditActions.SnapshotShadow,
            actor,
            reason,
            evidence: null,
            state =>
            {
                RequireNotFrozen(state, $"put snapshot '{snapshotId}' in shadow");
                RequireNotStable(state, snapshotId);
                return state.CandidateSnapshotId == snapshotId && state.Stage == RolloutStage.Shadow
                    ? null
                    : state with { CandidateSnapshotId = snapshotId, Stage = RolloutStage.Shadow, CanaryShare = 0 };
            },
            (_, after) => after.CandidateSnapshotId!,
            cancellationToken);
    }

    /// <summary>
    /// Starts a canary, or changes its share: units whose position lies below <paramref name="share"/> get the
    /// candidate (named by <paramref name="snapshotId"/>, or the one already in shadow or canary). Growing the share
    /// keeps every unit already in the candidate arm there.
    /// </summary>
    public Task<RolloutTransition> CanaryAsync(double share, string actor, string reason = "", string? snapshotId = null, CancellationToken cancellationToken = default)
    {
        if (double.IsNaN(share) || share <= 0 || share > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(share), share, "A canary share must lie in (0, 1].");
        }

        return ChangeAsync(
            AuditActions.SnapshotCanary,
            actor,
            reason,
            evidence: null,
            state =>
            {
                var candidate = snapshotId ?? state.CandidateSnapshotId
                    ?? throw new RolloutRefusedException(RolloutRefusal.NoCandidate, $"Tenant '{Tenant}' has no candidate in shadow or canary: name the snapshot to start a canary with.");
                RequireNotFrozen(state, $"put snapshot '{candidate}' in canary");
                RequireNotStable(state, candidate);
                return state.CandidateSnapshotId == candidate && state.Stage == RolloutStage.Canary && state.CanaryShare == share
                    ? null
                    : state with { CandidateSnapshotId = candidate, Stage = RolloutStage.Canary, CanaryShare = share };
            },
            (_, after) => after.CandidateSnapshotId!,
            cancellationToken);
    }

    /// <summary>Makes the candidate the stable snapshot for every unit.</summary>
    public Task<RolloutTransition> PromoteAsync(string actor, string reason = "", CancellationToken cancellationToken = default)
        => PromoteAsync(actor, reason, expectedCandidate: null, evidence: null, cancellationToken);

    /// <summary>
    /// Promotion on evidence (the rollout monitor): promotes only if <paramref name="expectedCandidate"/> is still the
    /// candidate, and does nothing when someone has already promoted or dropped it.
    /// </summary>
    internal Task<RolloutTransition> PromoteAsync(string actor, string reason, string? expectedCandidate, object? evidence, CancellationToken cancellationToken)
        => ChangeAsync(
            AuditActions.SnapshotPromoted,
            actor,
            reason,
            evidence,
            state =>
            {
                if (state.CandidateSnapshotId is null || (expectedCandidate is not null && state.CandidateSnapshotId != expectedCandidate))
                {
                    return expectedCandidate is not null
                        ? null
                        : throw new RolloutRefusedException(RolloutRefusal.NoCandidate, $"Tenant '{Tenant}' has no candidate in shadow or canary to promote.");
                }

                RequireNotFrozen(state, $"promote snapshot '{state.CandidateSnapshotId}'");
                return state with { StableSnapshotId = state.CandidateSnapshotId, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
            },
            (_, after) => after.StableSnapshotId!,
            cancellationToken);

    /// <summary>
    /// Drops the candidate, so every unit gets the stable snapshot again; or, with <paramref name="toSnapshotId"/>,
    /// makes that (older) snapshot the stable one and drops any candidate.
    /// </summary>
    public Task<RolloutTransition> RollbackAsync(string actor, string reason, string? toSnapshotId = null, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return RollbackAsync(actor, reason, toSnapshotId, expectedCandidate: null, evidence: null, cancellationToken);
    }

    /// <summary>
    /// Rollback on evidence (the rollout monitor): drops <paramref name="expectedCandidate"/> if it is still the
    /// candidate, and does nothing when someone has already promoted or dropped it.
    /// </summary>
    internal Task<RolloutTransition> RollbackAsync(string actor, string reason, string? toSnapshotId, string? expectedCandidate, object? evidence, CancellationToken cancellationToken)
        => ChangeAsync(
            AuditActions.SnapshotRolledBack,
            actor,
            reason,
            evidence,
            state =>
            {
                if (toSnapshotId is not null)
                {
                    RequireNotFrozen(state, $"roll back to snapshot '{toSnapshotId}'");
                    return state.StableSnapshotId == toSnapshotId && state.CandidateSnapshotId is null
                        ? null
                        : state with { StableSnapshotId = toSnapshotId, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
                }

                if (state.CandidateSnapshotId is null || (expectedCandidate is not null && state.CandidateSnapshotId != expectedCandidate))
                {
                    return expectedCandidate is not null
                        ? null
                        : throw new RolloutRefusedException(RolloutRefusal.NoCandidate, $"Tenant '{Tenant}' has no candidate in shadow or canary to roll back; name a snapshot to roll back to an older one.");
                }

                RequireNotFrozen(state, $"roll back candidate '{state.CandidateSnapshotId}'");
                return state with { CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
            },
            (before, after) => toSnapshotId is null ? before.CandidateSnapshotId! : before.CandidateSnapshotId ?? before.StableSnapshotId ?? "(none)",
            cancellationToken);

    /// <summary>Pins what is served: until unfrozen, no promotion, rollback, new candidate or automatic action changes it.</summary>
    public Task<RolloutTransition> FreezeAsync(string actor, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return ChangeAsync(
            AuditActions.Frozen,
            actor,
            reason,
            evidence: null,
            state => state.Frozen ? null : state with { Frozen = true, FrozenReason = reason },
            (_, _) => Tenant,
            cancellationToken);
    }

    /// <summary>Lifts a freeze; the rollout continues from where it was pinned.</summary>
    public Task<RolloutTransition> UnfreezeAsync(string actor, string reason, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(reason);
        return ChangeAsync(
            AuditActions.Unfrozen,
            actor,
            reason,
            evidence: null,
            state => state.Frozen ? state with { Frozen = false, FrozenReason = null } : null,
            (_, _) => Tenant,
            cancellationToken);
    }

    /// <summary>Serves a snapshot (or none) to every unit at once, ending any rollout (what a plain runtime's activation does).</summary>
    public Task<RolloutTransition> ActivateAsync(string? snapshotId, string actor, string reason, CancellationToken cancellationToken = default)
        => ChangeAsync(
            AuditActions.SnapshotPromoted,
            actor,
            reason,
            evidence: null,
            state =>
            {
                RequireNotFrozen(state, $"activate snapshot '{snapshotId ?? "(none)"}'");
                return state.StableSnapshotId == snapshotId && state.CandidateSnapshotId is null
                    ? null
                    : state with { StableSnapshotId = snapshotId, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
            },
            (_, after) => after.StableSnapshotId ?? "(none)",
            cancellationToken);

    /// <summary>
    /// The in-process half of an automatic rollback: stops serving <paramref name="candidateSnapshotId"/> with one
    /// pointer swap, before the store is written. Returns false when that snapshot is not the candidate served.
    /// </summary>
    internal bool RollbackLocally(string candidateSnapshotId)
    {
        ServedRollout previous, next;
        lock (_swap)
        {
            previous = Served;
            if (previous.State.CandidateSnapshotId != candidateSnapshotId)
            {
                return false;
            }

            next = previous.WithoutCandidate();
            Volatile.Write(ref _served, next);
        }

        _onServed?.Invoke(previous, next);
        return true;
    }

    private async Task<RolloutTransition> ChangeAsync(
        string action,
        string actor,
        string reason,
        object? evidence,
        Func<RolloutState, RolloutState?> decide,
        Func<RolloutState, RolloutState, string> subject,
        CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);
        ArgumentNullException.ThrowIfNull(reason);
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // The change and its audit record are one commit (read, decide, save compare-and-swap; a lost race is read
            // and decided again), so a crash can never leave a rollout change nobody recorded.
            for (var attempt = 1; ; attempt++)
            {
                var before = await _store.GetRolloutAsync(Tenant, cancellationToken).ConfigureAwait(false);
                if (decide(before) is not { } decided)
                {
                    await ServeAsync(before, cancellationToken).ConfigureAwait(false);
                    return new RolloutTransition(before, before, false, null);
                }

                var next = decided with { Tenant = Tenant, UpdatedAt = _time.GetUtcNow(), UpdatedBy = actor };
                var prepared = _indexes is null ? null : await PrepareAsync(next, cancellationToken).ConfigureAwait(false);
                var draft = new AuditDraft
                {
                    Tenant = Tenant,
                    Actor = actor,
                    Action = action,
                    Subject = subject(before, next),
                    Reason = reason,
                    DetailsJson = JsonSerializer.Serialize(new { before = Describe(before), after = Describe(next with { Version = before.Version + 1 }), evidence }, LoreJson.Options),
                    At = _time.GetUtcNow(),
                };
                LearningCommitResult committed;
                try
                {
                    committed = await _store.CommitLearningAsync(new LearningCommit { Tenant = Tenant, Rollout = new RolloutChange(next, before.Version, [draft]) }, cancellationToken).ConfigureAwait(false);
                }
                catch (StoreConflictException) when (attempt < MaxRolloutAttempts)
                {
                    continue; // someone changed the rollout since it was read: decide again on what they left
                }

                var after = committed.Rollout!;
                if (prepared is not null)
                {
                    Swap(new ServedRollout(after, prepared.Stable, prepared.Candidate));
                }
                else
                {
                    Volatile.Write(ref _state, after);
                }

                if (action == AuditActions.SnapshotRolledBack && evidence is null)
                {
                    // Automatic rollbacks are counted by the monitor, with the slice that triggered them.
                    LoreTelemetry.RolledBack(TelemetryTenant ?? Tenant, slice: null);
                }

                LogChanged(_logger, action, Tenant, actor, reason, after.StableSnapshotId ?? "(none)", after.CandidateSnapshotId ?? "(none)", after.Stage);
                return new RolloutTransition(before, after, true, committed.Audit[0]);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>Serves a state read from the store when it is newer than the one served (versions only grow).</summary>
    private async Task ServeAsync(RolloutState state, CancellationToken cancellationToken)
    {
        if (_indexes is null)
        {
            Volatile.Write(ref _state, state);
            return;
        }

        if (state.Version <= Served.State.Version)
        {
            return;
        }

        Swap(await PrepareAsync(state, cancellationToken).ConfigureAwait(false));
    }

    private void Swap(ServedRollout next)
    {
        ServedRollout previous;
        lock (_swap)
        {
            previous = Served;
            if (next.State.Version <= previous.State.Version)
            {
                return;
            }

            Volatile.Write(ref _served, next);
        }

        _onServed?.Invoke(previous, next);
    }

    /// <summary>
    /// Loads and indexes the state's snapshots (reusing the served indexes), so a snapshot that cannot be served is never
    /// saved. A snapshot whose content does not match its id is refused (alarmed once) and the change fails, so a
    /// running process keeps serving what it served; at start, with nothing served yet, the tenant is served the
    /// nearest verified ancestor of a refused stable snapshot (or nothing) and no candidate.
    /// </summary>
    private async Task<ServedRollout> PrepareAsync(RolloutState state, CancellationToken cancellationToken)
    {
        var current = Volatile.Read(ref _served);
        try
        {
            var stable = await IndexAsync(state.StableSnapshotId, current, cancellationToken).ConfigureAwait(false);
            var candidate = state.CandidateSnapshotId is null ? null : await IndexAsync(state.CandidateSnapshotId, current, cancellationToken).ConfigureAwait(false);
            return new ServedRollout(state, stable, candidate);
        }
        catch (SnapshotIntegrityException e)
        {
            await AlarmAsync(e, current, cancellationToken).ConfigureAwait(false);
            if (current is not null)
            {
                throw;
            }
        }

        // Starting up with a refused snapshot: serve what can be verified rather than refuse to start.
        var fallback = await VerifiedAncestorAsync(state.StableSnapshotId, cancellationToken).ConfigureAwait(false);
        var degraded = state with { StableSnapshotId = fallback?.Id, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
        if (state.StableSnapshotId is { } stableId && _refused.ContainsKey(stableId) is false)
        {
            // The stable snapshot verified; only the candidate was refused.
            degraded = state with { CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 };
            return new ServedRollout(degraded, await IndexAsync(stableId, null, cancellationToken).ConfigureAwait(false), null);
        }

        return new ServedRollout(degraded, fallback is null ? LessonIndex.Empty : await _indexes!.GetAsync(fallback, cancellationToken).ConfigureAwait(false), null);
    }

    /// <summary>The nearest ancestor of a refused snapshot that verifies (of this tenant), or null.</summary>
    private async Task<Snapshot?> VerifiedAncestorAsync(string? snapshotId, CancellationToken cancellationToken)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        var next = snapshotId is null ? null : await _store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false);
        while (next is not null && seen.Add(next.Id))
        {
            if (next.IsIntact && next.Tenant == Tenant && !_refused.ContainsKey(next.Id))
            {
                return next;
            }

            next = next.ParentId is { } parent ? await _store.GetSnapshotAsync(parent, cancellationToken).ConfigureAwait(false) : null;
        }

        return null;
    }

    /// <summary>Log, metric, audit entry and dashboard banner for a refused snapshot, once per snapshot and process.</summary>
    private async Task AlarmAsync(SnapshotIntegrityException e, ServedRollout? current, CancellationToken cancellationToken)
    {
        var serving = current?.State.StableSnapshotId;
        var alarm = new SnapshotIntegrityAlarm(e.SnapshotId, e.StoredContentAddress, serving, _time.GetUtcNow());
        if (!_refused.TryAdd(e.SnapshotId, alarm))
        {
            return;
        }

        LogSnapshotRefused(_logger, e.SnapshotId, Tenant, e.StoredContentAddress ?? "(unknown)", serving ?? "(the last verified snapshot)");
        LoreTelemetry.SnapshotRefused(TelemetryTenant ?? Tenant, e.SnapshotId);
        try
        {
            await _store.AppendAuditAsync(
                new AuditDraft
                {
                    Tenant = Tenant,
                    Actor = "lore",
                    Action = AuditActions.SnapshotIntegrityFailed,
                    Subject = e.SnapshotId,
                    Reason = "its stored content does not match its content address; it was refused for serving",
                    DetailsJson = JsonSerializer.Serialize(new { snapshot = e.SnapshotId, storedContentAddress = e.StoredContentAddress, stillServing = serving }, LoreJson.Options),
                    At = alarm.At,
                },
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The alarm is still logged, counted and shown; a store that cannot take the audit entry has other alarms of its own.
            LogAuditFailed(_logger, ex, AuditActions.SnapshotIntegrityFailed, Tenant, current?.State.Version ?? 0);
        }

        cancellationToken.ThrowIfCancellationRequested();
    }

    private async Task<LessonIndex> IndexAsync(string? snapshotId, ServedRollout? current, CancellationToken cancellationToken)
    {
        if (snapshotId is null)
        {
            return LessonIndex.Empty;
        }

        if (current?.Stable.SnapshotId == snapshotId)
        {
            return current.Stable;
        }

        if (current?.Candidate?.SnapshotId == snapshotId)
        {
            return current.Candidate;
        }

        // A snapshot served recently (the candidate of a canary started again, the stable one of a rollback --to) is
        // still indexed: no need to read its lessons again. Cached indexes are of this tenant's snapshots only.
        if (_indexes!.Find(snapshotId) is { } cached)
        {
            return await cached.WaitAsync(cancellationToken).ConfigureAwait(false);
        }

        var snapshot = await LoadSnapshotAsync(_store, Tenant, snapshotId, cancellationToken).ConfigureAwait(false);
        return await _indexes.GetAsync(snapshot, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Reads a snapshot of the tenant to serve it, verified against its content address: the lessons served are the
    /// snapshot's own copy as stored, and only if they still hash to its id. Throws naming it when it is unknown, another
    /// tenant's, or (<see cref="SnapshotIntegrityException"/>) its content does not match.
    /// </summary>
    internal static async Task<Snapshot> LoadSnapshotAsync(ILoreStore store, string tenant, string snapshotId, CancellationToken cancellationToken)
    {
        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false)
            ?? throw new KeyNotFoundException($"Snapshot '{snapshotId}' is not in the store at {store.Location}.");
        if (!string.Equals(snapshot.Tenant, tenant, StringComparison.Ordinal))
        {
            throw new RolloutRefusedException(RolloutRefusal.OtherTenant, $"Snapshot '{snapshotId}' belongs to tenant '{snapshot.Tenant}', not to '{tenant}' which this rollout serves.");
        }

        if (!snapshot.IsIntact)
        {
            var actual = snapshot.StoredContentAddress ?? Snapshot.ComputeId(snapshot.ParentId, snapshot.Tenant, snapshot.Lessons, snapshot.Settings);
            throw new SnapshotIntegrityException(
                snapshotId,
                actual,
                $"Snapshot '{snapshotId}' in the store at {store.Location} does not match its content address (its content hashes to '{actual}'): " +
                "it was changed after it was made, and is refused for serving. Run 'lore audit verify' to see what else changed.");
        }

        return snapshot;
    }

    private void RequireNotFrozen(RolloutState state, string what)
    {
        if (state.Frozen)
        {
            throw new RolloutRefusedException(
                RolloutRefusal.Frozen,
                $"Tenant '{Tenant}' is frozen ({state.FrozenReason}; by {state.UpdatedBy} at {state.UpdatedAt:u}): cannot {what}. Unfreeze it first.");
        }
    }

    private void RequireNotStable(RolloutState state, string snapshotId)
    {
        if (state.StableSnapshotId == snapshotId)
        {
            throw new RolloutRefusedException(RolloutRefusal.AlreadyStable, $"Snapshot '{snapshotId}' is already the stable snapshot of tenant '{Tenant}'; a candidate must differ from it.");
        }
    }

    private static object Describe(RolloutState state) => new
    {
        stable = state.StableSnapshotId,
        candidate = state.CandidateSnapshotId,
        stage = state.Stage,
        canaryShare = state.CanaryShare,
        frozen = state.Frozen,
        version = state.Version,
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "Rollout {Action} for tenant {Tenant} by {Actor} ({Reason}): stable {Stable}, candidate {Candidate}, stage {Stage}.")]
    private static partial void LogChanged(ILogger logger, string action, string tenant, string actor, string reason, string stable, string candidate, RolloutStage stage);

    [LoggerMessage(Level = LogLevel.Critical, Message = "Snapshot {SnapshotId} of tenant {Tenant} does not match its content address (its stored content hashes to {Actual}): refused for serving; still serving {Serving}.")]
    private static partial void LogSnapshotRefused(ILogger logger, string snapshotId, string tenant, string actual, string serving);

    [LoggerMessage(Level = LogLevel.Error, Message = "Rollout {Action} for tenant {Tenant} was saved (version {Version}) but its audit entry could not be written.")]
    private static partial void LogAuditFailed(ILogger logger, Exception exception, string action, string tenant, long version);
}
