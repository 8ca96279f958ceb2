using System.Collections.Concurrent;
using System.Collections.Immutable;
using Lore.Hosting;
using Lore.Server.Hosting;
using Lore.Server.Security;

namespace Lore.Server.Api;

/// <summary>What a REST call on an episode came to.</summary>
internal enum EpisodeCallStatus
{
    Done,
    NotFound,
    Conflict,

    /// <summary>Accepted but not stored (the store was busy or full): not acknowledged, retry later (503).</summary>
    Unavailable,
}

/// <summary>The result of an episode call: the episode as stored afterwards, or why the call was refused.</summary>
internal sealed record EpisodeCall(EpisodeCallStatus Status, Episode? Episode, string Message = "")
{
    public static EpisodeCall NotFound(string id) => new(EpisodeCallStatus.NotFound, null, id);

    public static EpisodeCall Conflict(string message) => new(EpisodeCallStatus.Conflict, null, message);

    public static EpisodeCall Unavailable(string message) => new(EpisodeCallStatus.Unavailable, null, message);
}

/// <summary>
/// Records episodes that agents report over HTTP. Unlike in-process capture, each call is written to the store in one
/// transaction before it is answered, so a refused call writes nothing and an accepted one is durable. The episode gets
/// its arm and snapshot from the tenant's rollout when it starts (<see cref="LoreRuntime.AssignEpisode"/>), and
/// continuous evaluation counts it when it ends. The key that wrote it is its origin; outcomes carry the key as actor.
/// </summary>
internal sealed class ApiEpisodes(TenantRuntimes runtimes)
{
    /// <summary>Open episodes remembered for evaluation and retrieval; beyond this many, the oldest are not evaluated in process.</summary>
    private const int MaxOpen = 100_000;

    private readonly ConcurrentDictionary<(string Tenant, string Id), OpenEpisode> _open = new();
    private readonly SemaphoreSlim[] _locks = [.. Enumerable.Range(0, 64).Select(_ => new SemaphoreSlim(1, 1))];

    private ILoreStore Store => runtimes.Store;

    /// <summary>The origin recorded on episodes a key writes.</summary>
    public static string Origin(Caller caller) => "api:" + caller.Actor;

    /// <summary>Starts an episode (or records a whole one); 409 when the id is taken.</summary>
    public async Task<EpisodeCall> StartAsync(Caller caller, StartEpisodeRequest request, CancellationToken cancellationToken)
    {
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var id = request.Id?.Trim() ?? "ep-" + Guid.CreateVersion7().ToString("n");
        var gate = Lock(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var taken = runtime.IsRunning(id) ? null : await Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);
            if (taken is { EndReason: EpisodeEndReasons.Abandoned })
            {
                return EpisodeCall.Conflict(EpisodeView.AbandonedRefusal(taken));
            }

            if (runtime.IsRunning(id) || taken is not null)
            {
                // Episode ids are unique per tenant: only the caller's own tenant can have taken it.
                return EpisodeCall.Conflict($"Episode id '{id}' is already taken; choose another id or leave it out to get a new one.");
            }

            var now = runtimes.TimeProvider.GetUtcNow();
            var unit = request.Unit?.Trim() ?? "";
            var assignment = runtime.AssignEpisode(unit, id);
            var header = new Episode
            {
                Id = id,
                Tenant = caller.Tenant,
                UnitKey = unit,
                Task = request.Task!.Trim(),
                Labels = request.Labels is null ? ImmutableSortedDictionary<string, string>.Empty : request.Labels.ToImmutableSortedDictionary(StringComparer.Ordinal),
                StartedAt = request.StartedAt ?? now,
                SnapshotId = assignment.SnapshotId,
                Arm = assignment.Arm,
                Origin = Origin(caller),
                Source = caller.SourceFor(unit),
            };
            var steps = (request.Steps ?? []).Select((s, i) => s.ToStep(i, now)).ToArray();
            // Judged now: with a failure classifier set, the mode it gives is stored with the latest outcome.
            var outcomes = (await runtime.JudgeEpisodeAsync(header with { Steps = steps, Outcomes = [.. (request.Outcomes ?? []).Select(o => o.ToOutcome(caller.Actor, now))] }, cancellationToken).ConfigureAwait(false)).Outcomes;
            var records = new List<CaptureRecord>(steps.Length + outcomes.Count + 2) { new EpisodeStarted(header) };
            records.AddRange(steps.Select(s => new StepRecorded(id, s) { Tenant = caller.Tenant }));
            records.AddRange(outcomes.Select(o => new OutcomeRecorded(id, o) { Tenant = caller.Tenant }));
            var open = new OpenEpisode(assignment);
            if (request.Ended)
            {
                records.Add(new EpisodeEnded(id, now, Injected(steps, request.InjectedLessonIds, open)) { Tenant = caller.Tenant });
            }

            try
            {
                await Store.AppendAsync(records, cancellationToken).ConfigureAwait(false);
            }
            catch (InvalidOperationException)
            {
                return EpisodeCall.Conflict($"Episode id '{id}' is already taken; choose another id or leave it out to get a new one.");
            }

            var stored = header with { Steps = steps, Outcomes = outcomes, EndedAt = request.Ended ? now : null };
            if (request.Ended)
            {
                await assignment.CountEndedAsync(stored, CancellationToken.None).ConfigureAwait(false);
            }
            else if (_open.Count < MaxOpen)
            {
                _open[(caller.Tenant, id)] = open;
            }

            return new EpisodeCall(EpisodeCallStatus.Done, stored);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Appends steps to a running episode of the caller's tenant.</summary>
    public async Task<EpisodeCall> AppendStepsAsync(Caller caller, string id, IReadOnlyList<StepInput> inputs, CancellationToken cancellationToken)
    {
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var gate = Lock(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (episode, refusal) = await OwnAsync(runtime, caller, id, cancellationToken).ConfigureAwait(false);
            if (episode is null)
            {
                return refusal!;
            }

            if (episode.EndedAt is not null)
            {
                return EpisodeCall.Conflict(episode.EndReason == EpisodeEndReasons.Abandoned
                    ? EpisodeView.AbandonedRefusal(episode)
                    : $"Episode '{id}' has ended; steps can only be added while it runs (outcomes can still be added).");
            }

            var now = runtimes.TimeProvider.GetUtcNow();
            var steps = inputs.Select((s, i) => s.ToStep(episode.Steps.Count + i, now)).ToArray();
            try
            {
                await Store.AppendAsync([.. steps.Select(s => new StepRecorded(id, s) { Tenant = caller.Tenant })], cancellationToken).ConfigureAwait(false);
            }
            catch (StoreConflictException e)
            {
                // Ended since it was read above: by an outcome on another host sharing the store, or by a recovery sweep.
                return EpisodeCall.Conflict(e.Message);
            }

            return new EpisodeCall(EpisodeCallStatus.Done, episode with { Steps = [.. episode.Steps, .. steps] });
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>Ends a running episode of the caller's tenant, with an optional outcome and the lessons the agent injected.</summary>
    public async Task<EpisodeCall> EndAsync(Caller caller, string id, EndEpisodeRequest request, CancellationToken cancellationToken)
    {
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        var gate = Lock(id);
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var (episode, refusal) = await OwnAsync(runtime, caller, id, cancellationToken).ConfigureAwait(false);
            if (episode is null)
            {
                return refusal!;
            }

            if (episode.EndedAt is not null)
            {
                return EpisodeCall.Conflict(episode.EndReason == EpisodeEndReasons.Abandoned
                    ? EpisodeView.AbandonedRefusal(episode)
                    : $"Episode '{id}' has already ended; add later judgements with POST /api/episodes/{id}/outcomes.");
            }

            var now = runtimes.TimeProvider.GetUtcNow();
            _open.TryRemove((caller.Tenant, id), out var open);
            var records = new List<CaptureRecord>(2);
            var outcomes = episode.Outcomes.ToList();
            if (request.Outcome is { } input)
            {
                // Judged now: with a failure classifier set, the mode it gives is stored with the outcome.
                var outcome = await runtime.JudgeOutcomeAsync(episode, input.ToOutcome(caller.Actor, now), cancellationToken).ConfigureAwait(false);
                outcomes.Add(outcome);
                records.Add(new OutcomeRecorded(id, outcome) { Tenant = caller.Tenant });
            }

            var injected = Injected(episode.Steps, request.InjectedLessonIds, open);
            records.Add(new EpisodeEnded(id, now, injected) { Tenant = caller.Tenant });
            await Store.AppendAsync(records, cancellationToken).ConfigureAwait(false);
            var ended = episode with { Outcomes = outcomes, EndedAt = now, InjectedLessonIds = injected };
            if (open is not null)
            {
                await open.Assignment.CountEndedAsync(ended, CancellationToken.None).ConfigureAwait(false);
            }

            return new EpisodeCall(EpisodeCallStatus.Done, ended);
        }
        finally
        {
            gate.Release();
        }
    }

    /// <summary>
    /// Adds an outcome to an episode of the caller's tenant, running or ended, recorded by this API or captured by the
    /// proxy (whose episodes end when their outcome arrives). An episode still open elsewhere (another host, an agent's
    /// process, a crash) is ended by the outcome in the store's transaction: a 201 means stored and ended.
    /// </summary>
    public async Task<EpisodeCall> AddOutcomeAsync(Caller caller, string id, Outcome outcome, CancellationToken cancellationToken)
    {
        var runtime = await runtimes.GetAsync(caller.Tenant, cancellationToken).ConfigureAwait(false);
        if (!runtime.IsRunning(id))
        {
            // Not running in this tenant's runtime: it must be stored, and be this tenant's, before anything is written.
            var stored = await Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);
            if (stored is null)
            {
                await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
                stored = await Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);
            }

            if (stored is null || stored.Tenant != caller.Tenant)
            {
                return EpisodeCall.NotFound(id);
            }
        }

        try
        {
            await runtime.RecordOutcomeAsync(id, outcome, cancellationToken).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return EpisodeCall.NotFound(id);
        }

        await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
        var episode = await Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);

        // A 201 means stored: an outcome added to an episode still being captured goes through the capture buffer,
        // whose writes can fail (a busy or full store) without failing the flush. Check, and say so if it is not there.
        if (episode is null || !episode.Outcomes.Any(o => o.Score.Equals(outcome.Score) && o.Source == outcome.Source && o.Comment == outcome.Comment && o.Actor == outcome.Actor))
        {
            return EpisodeCall.Unavailable(
                $"The outcome of episode '{id}' could not be stored now (the store is busy or full; see the server log), so it is not acknowledged. Retry the call.");
        }

        // The outcome ended an episode this host started through the API: continuous evaluation counts it now.
        if (episode.EndedAt is not null && _open.TryRemove((caller.Tenant, id), out var open))
        {
            await open.Assignment.CountEndedAsync(episode, CancellationToken.None).ConfigureAwait(false);
        }

        return new EpisodeCall(EpisodeCallStatus.Done, episode);
    }

    /// <summary>The rollout assignment of an episode started through the API and still open, or null.</summary>
    public EpisodeAssignment? AssignmentOf(Caller caller, string id)
        => _open.TryGetValue((caller.Tenant, id), out var open) ? open.Assignment : null;

    /// <summary>Notes lessons retrieved for an open episode, to be recorded as injected when it ends.</summary>
    public void NoteInjected(Caller caller, string id, IEnumerable<string> lessonIds)
    {
        if (_open.TryGetValue((caller.Tenant, id), out var open))
        {
            open.Note(lessonIds);
        }
    }

    /// <summary>The stored episode of the caller's tenant, or the refusal (404 for unknown and foreign ids, 409 while the proxy captures it).</summary>
    private async Task<(Episode? Episode, EpisodeCall? Refusal)> OwnAsync(LoreRuntime runtime, Caller caller, string id, CancellationToken cancellationToken)
    {
        var episode = await Store.GetEpisodeAsync(caller.Tenant, id, cancellationToken).ConfigureAwait(false);
        if (episode is not null && episode.Tenant != caller.Tenant)
        {
            return (null, EpisodeCall.NotFound(id));
        }

        if (runtime.IsRunning(id))
        {
            return (null, EpisodeCall.Conflict($"Episode '{id}' is being captured by the proxy; it records its own steps and ends when its outcome arrives (POST /api/episodes/{id}/outcomes)."));
        }

        return episode is null ? (null, EpisodeCall.NotFound(id)) : (episode, null);
    }

    private static IReadOnlyList<string> Injected(IEnumerable<Step> steps, IEnumerable<string>? reported, OpenEpisode? open)
    {
        var ids = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in steps.SelectMany(s => s.InjectedLessonIds).Concat(open?.Injected ?? []).Concat(reported ?? []))
        {
            if (seen.Add(id))
            {
                ids.Add(id);
            }
        }

        return ids;
    }

    private SemaphoreSlim Lock(string id) => _locks[(int)((uint)StringComparer.Ordinal.GetHashCode(id) % (uint)_locks.Length)];

    /// <summary>An episode started through the API that has not ended: its arm and the lessons retrieved for it.</summary>
    private sealed class OpenEpisode(EpisodeAssignment assignment)
    {
        private readonly Lock _lock = new();
        private readonly List<string> _injected = [];

        public EpisodeAssignment Assignment { get; } = assignment;

        public IReadOnlyList<string> Injected
        {
            get
            {
                lock (_lock)
                {
                    return [.. _injected];
                }
            }
        }

        public void Note(IEnumerable<string> lessonIds)
        {
            lock (_lock)
            {
                foreach (var id in lessonIds)
                {
                    if (!_injected.Contains(id, StringComparer.Ordinal))
                    {
                        _injected.Add(id);
                    }
                }
            }
        }
    }
}
