using System.Collections.Concurrent;

namespace Lore.Server.Hosting;

/// <summary>
/// One <see cref="LoreRuntime"/> per tenant, opened on first use and shared by every request of that tenant, all on
/// the server's one store. Keeping runtimes per tenant is what keeps one tenant's lessons out of another's context.
/// </summary>
internal sealed class TenantRuntimes(LoreServerOptions options) : IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LoreRuntime>>> _runtimes = new(StringComparer.Ordinal);

    public ILoreStore Store { get; } = options.Store ?? throw new ArgumentException("LoreServerOptions.Store is required.", nameof(options));

    public TimeProvider TimeProvider => options.TimeProvider;

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

    /// <summary>Runtimes opened so far (for flushing and health).</summary>
    public IEnumerable<string> OpenTenants => _runtimes.Keys;

    private Task<LoreRuntime> OpenAsync(string tenant)
    {
        var runtimeOptions = new LoreOptions { Tenant = tenant, TimeProvider = options.TimeProvider };
        options.ConfigureRuntime?.Invoke(runtimeOptions);
        runtimeOptions.Store = Store;
        runtimeOptions.Tenant = tenant;
        runtimeOptions.LeaveStoreOpen = true;
        return LoreRuntime.OpenAsync(runtimeOptions, CancellationToken.None);
    }

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
