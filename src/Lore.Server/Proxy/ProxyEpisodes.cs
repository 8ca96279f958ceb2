using System.Collections.Concurrent;
using Lore.Hosting;

namespace Lore.Server.Proxy;

/// <summary>How a proxied call names the episode it belongs to.</summary>
internal enum CorrelationKind
{
    /// <summary><c>X-Lore-Episode</c>: the caller chose the episode id.</summary>
    Header,

    /// <summary>The request's <c>user</c> field: one open episode per user of a tenant.</summary>
    User,

    /// <summary>Neither: the call is an episode of its own, ended as soon as it is recorded.</summary>
    None,
}

/// <summary>The episode a call asked for, and what to start it with on first sight.</summary>
internal sealed record EpisodeRequest(CorrelationKind Kind, string? Key, string UnitKey, string Task, IReadOnlyDictionary<string, string> Labels)
{
    /// <summary>The evidence source of the episode, from the caller's API key (<see cref="Security.Caller.SourceFor"/>).</summary>
    public string Source { get; init; } = "";
}

/// <summary>An episode the proxy keeps open between calls.</summary>
internal sealed class OpenEpisode(HostedEpisode episode, string tenant, string? userKey, long lastUsed)
{
    private long _lastUsed = lastUsed;

    public HostedEpisode Episode { get; } = episode;

    public string Tenant { get; } = tenant;

    /// <summary>The <c>user</c> it was correlated by, when it was.</summary>
    public string? UserKey { get; } = userKey;

    public long LastUsed => Interlocked.Read(ref _lastUsed);

    public void Touch(long now) => Interlocked.Exchange(ref _lastUsed, now);
}

/// <summary>Why a call cannot join or start the episode it named.</summary>
internal sealed class EpisodeConflictException(string message) : Exception(message);

/// <summary>
/// The proxy's open episodes, across requests. An agent's tool loop is several chat-completions calls (the model asks
/// for a tool, the agent runs it and calls again with the result), so an episode starts on the first call that names it
/// and stays open until an outcome arrives through the API (the episode ends on its outcome), the caller ends it
/// (<c>X-Lore-End: true</c>), or it sits idle for <see cref="IdleTimeout"/>; then it is ended without an outcome, which
/// may still arrive later. Ids are unique across tenants: a tenant can never join another tenant's episode.
/// </summary>
internal sealed class ProxyEpisodes : IAsyncDisposable
{
    // Keyed by tenant and id: episode ids are unique per tenant, so one tenant's open episode never blocks another's id.
    private readonly ConcurrentDictionary<(string Tenant, string Id), OpenEpisode> _byId = new();
    private readonly ConcurrentDictionary<(string Tenant, string User), string> _byUser = new();
    private readonly SemaphoreSlim _starting = new(1, 1);
    private readonly TimeProvider _time;
    private readonly ITimer _sweeper;
    private int _disposed;

    public ProxyEpisodes(TimeProvider time)
    {
        _time = time;
        _sweeper = time.CreateTimer(_ => _ = SweepAsync(), null, SweepEvery, SweepEvery);
    }

    /// <summary>How long an episode may go without a call before it is ended (default 10 minutes: tools can be slow).</summary>
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromMinutes(10);

    private static TimeSpan SweepEvery => TimeSpan.FromSeconds(30);

    /// <summary>Episodes open now.</summary>
    public int Count => _byId.Count;

    /// <summary>The open episode a call belongs to, starting it on first sight.</summary>
    public async Task<OpenEpisode> OpenAsync(LoreRuntime runtime, EpisodeRequest request, CancellationToken cancellationToken)
    {
        var now = _time.GetTimestamp();
        if (request.Kind == CorrelationKind.None)
        {
            return new OpenEpisode(Begin(runtime, request, null), runtime.Tenant, null, now);
        }

        if (TryFind(runtime.Tenant, request) is { } found)
        {
            found.Touch(now);
            return found;
        }

        // A used id (an ended episode) is never reopened; ids are unique per tenant, so only this tenant's count. The
        // store is asked before the lock is taken, so one slow read never holds up other callers' new episodes.
        var id = request.Kind == CorrelationKind.Header ? request.Key! : null;
        var stored = id is null ? null : await runtime.Store.GetEpisodeAsync(runtime.Tenant, id, cancellationToken).ConfigureAwait(false);
        await _starting.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (TryFind(runtime.Tenant, request) is { } raced)
            {
                raced.Touch(now);
                return raced;
            }

            if (stored is { EndReason: EpisodeEndReasons.Abandoned })
            {
                throw new EpisodeConflictException(Api.EpisodeView.AbandonedRefusal(stored));
            }

            if (id is not null && (stored is not null || _byId.ContainsKey((runtime.Tenant, id))))
            {
                throw new EpisodeConflictException($"episode '{id}' already exists and has ended (or belongs elsewhere); send a new X-Lore-Episode id for a new episode.");
            }

            var hosted = Begin(runtime, request, id);
            var userKey = request.Kind == CorrelationKind.User ? request.Key : null;
            var open = new OpenEpisode(hosted, runtime.Tenant, userKey, now);
            _byId[(runtime.Tenant, hosted.Id)] = open;
            if (userKey is not null)
            {
                _byUser[(runtime.Tenant, userKey)] = hosted.Id;
            }

            return open;
        }
        finally
        {
            _starting.Release();
        }
    }

    /// <summary>Ends an episode the caller has finished with (no outcome yet; one may arrive through the API).</summary>
    public async ValueTask EndAsync(OpenEpisode episode)
    {
        Forget(episode);
        await episode.Episode.EndAsync().ConfigureAwait(false);
    }

    /// <summary>Ends every episode idle longer than <see cref="IdleTimeout"/>, and forgets those an outcome already ended.</summary>
    public async Task<int> SweepAsync()
    {
        var ended = 0;
        foreach (var episode in _byId.Values)
        {
            if (episode.Episode.IsEnded)
            {
                Forget(episode);
            }
            else if (_time.GetElapsedTime(episode.LastUsed) >= IdleTimeout)
            {
                await EndAsync(episode).ConfigureAwait(false);
                ended++;
            }
        }

        return ended;
    }

    /// <summary>Ends every open episode (the server is stopping; their records are flushed with the runtimes).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _sweeper.DisposeAsync().ConfigureAwait(false);
        foreach (var episode in _byId.Values)
        {
            await EndAsync(episode).ConfigureAwait(false);
        }

        _starting.Dispose();
    }

    private OpenEpisode? TryFind(string tenant, EpisodeRequest request)
    {
        var id = request.Kind == CorrelationKind.User
            ? _byUser.TryGetValue((tenant, request.Key!), out var byUser) ? byUser : null
            : request.Key;
        if (id is null || !_byId.TryGetValue((tenant, id), out var open))
        {
            return null;
        }

        if (open.Episode.IsEnded)
        {
            // Its outcome arrived: a later call by the same user starts a new episode; a reused explicit id is refused.
            Forget(open);
            if (request.Kind == CorrelationKind.Header)
            {
                throw new EpisodeConflictException($"episode '{id}' has ended (its outcome was recorded); send a new X-Lore-Episode id for a new episode.");
            }

            return null;
        }

        return open;
    }

    private void Forget(OpenEpisode episode)
    {
        _byId.TryRemove(new KeyValuePair<(string, string), OpenEpisode>((episode.Tenant, episode.Episode.Id), episode));
        if (episode.UserKey is { } user)
        {
            _byUser.TryRemove(new KeyValuePair<(string, string), string>((episode.Tenant, user), episode.Episode.Id));
        }
    }

    // Episodes here are not bound to one async flow (never ambient) and end when their outcome arrives.
    private static HostedEpisode Begin(LoreRuntime runtime, EpisodeRequest request, string? id)
        => runtime.BeginHostedEpisode(new HostedEpisodeStart(request.Task)
        {
            Labels = request.Labels,
            UnitKey = request.UnitKey,
            EpisodeId = id,
            Source = request.Source,
        });
}
