using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace Lore.Server.Hosting;

/// <summary>
/// One <see cref="LoreRuntime"/> per tenant, opened on first use and shared by every request of that tenant, all on
/// the server's one store. Keeping runtimes per tenant is what keeps one tenant's lessons out of another's context.
/// </summary>
internal sealed class TenantRuntimes(LoreServerOptions options, ILoggerFactory? loggerFactory = null) : ILoreRuntimeProvider, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoreRuntime>>> _runtimes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LoreOptions> _options = new(StringComparer.Ordinal);
    private readonly HashSet<string> _tagged = new(StringComparer.Ordinal);

    /// <summary>The <c>lore.tenant</c> tag of tenants that <see cref="LoreServerOptions.TelemetryTenants"/> does not name.</summary>
    internal const string OtherTenants = "other";

    public ILoreStore Store { get; } = options.Store ?? throw new ArgumentException("LoreServerOptions.Store is required.", nameof(options));

    public TimeProvider TimeProvider => options.TimeProvider;

    /// <summary>The server's logger factory (also given to every runtime), so engine and server log through one pipeline.</summary>
    public ILoggerFactory? LoggerFactory => loggerFactory;

    /// <summary>The tenant's runtime, opening it (and loading its rollout) the first time.</summary>
    public Task<LoreRuntime> GetAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        var lazy = _runtimes.GetOrAdd(tenant, t => new Lazy<Task<LoreRuntime>>(() => OpenAsync(t)));
        var task = lazy.Value;
        if (task.IsFaulted || task.IsCanceled)
        {
            // A failed open (for example the store was briefly unreachable) is retried by the next request.
            _runtimes.TryRemove(new KeyValuePair<string, Lazy<Task<LoreRuntime>>>(tenant, lazy));
        }

        return task.WaitAsync(cancellationToken);
    }

    public Task<LoreRuntime> GetRuntimeAsync(string tenant, CancellationToken cancellationToken = default) => GetAsync(tenant, cancellationToken);

    /// <summary>
    /// The options the tenant's runtime runs with (learning, admission, rollout and evaluation policies after
    /// <see cref="LoreServerOptions.ConfigureRuntime"/>), so review decisions and status reads use the same policies.
    /// </summary>
    public LoreOptions OptionsFor(string tenant)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        return _options.GetOrAdd(tenant, Configure);
    }

    /// <summary>Ids of the episodes running in any open runtime now (recovery never ends them).</summary>
    public IReadOnlySet<string> RunningEpisodeIds()
    {
        var running = new HashSet<string>(StringComparer.Ordinal);
        foreach (var lazy in _runtimes.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                running.UnionWith(lazy.Value.Result.RunningEpisodeIds);
            }
        }

        return running;
    }

    /// <summary>Runtimes opened so far (for flushing and health).</summary>
    public IEnumerable<string> OpenTenants => _runtimes.Keys;

    private LoreOptions Configure(string tenant)
    {
        var runtimeOptions = new LoreOptions { Tenant = tenant, TimeProvider = options.TimeProvider, LoggerFactory = loggerFactory };
        options.ConfigureRuntime?.Invoke(runtimeOptions);
        runtimeOptions.Store = Store;
        runtimeOptions.Tenant = tenant;
        runtimeOptions.LeaveStoreOpen = true;
        runtimeOptions.TelemetryTenant = TelemetryTag(tenant);

        // The server recovers open episodes itself, for every tenant at start (OpenEpisodeSweeper), not per runtime.
        runtimeOptions.Capture.AbandonIdleEpisodesAfter = Timeout.InfiniteTimeSpan;
        return runtimeOptions;
    }

    /// <summary>The tenant's <c>lore.tenant</c> tag: its name if <see cref="LoreServerOptions.TelemetryTenants"/> lists it (or, with no list, while fewer than the default count are named), else <c>other</c>.</summary>
    private string TelemetryTag(string tenant)
    {
        if (options.TelemetryTenants is { } listed)
        {
            return listed.Contains(tenant) ? tenant : OtherTenants;
        }

        lock (_tagged)
        {
            return _tagged.Contains(tenant) || (_tagged.Count < LoreServerOptions.DefaultTelemetryTenantCount && _tagged.Add(tenant)) ? tenant : OtherTenants;
        }
    }

    private Task<LoreRuntime> OpenAsync(string tenant) => LoreRuntime.OpenAsync(OptionsFor(tenant), CancellationToken.None);

    public async ValueTask DisposeAsync()
    {
        foreach (var lazy in _runtimes.Values)
        {
            if (lazy.IsValueCreated && lazy.Value.IsCompletedSuccessfully)
            {
                await lazy.Value.Result.DisposeAsync().ConfigureAwait(false);
            }
        }

        _runtimes.Clear();
    }
}
