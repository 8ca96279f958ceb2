using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace Lore;

/// <summary>Registers Lore with dependency injection, so <c>UseLore()</c> finds the runtime on its own.</summary>
public static class LoreServiceCollectionExtensions
{
    /// <summary>Registers one <see cref="LoreRuntime"/> for the container; see <see cref="AddLore(IServiceCollection, Action{LoreOptions, IServiceProvider})"/>.</summary>
    public static IServiceCollection AddLore(this IServiceCollection services, Action<LoreOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        return services.AddLore((options, _) => configure(options));
    }

    /// <summary>
    /// Registers one <see cref="LoreRuntime"/> for the container. Options left unset are taken from the container: the
    /// <see cref="ILoreStore"/> (or, when none is registered, the store an <see cref="ILoreStoreOpener"/> such as
    /// <c>UsePostgreSql()</c> opens at start), the <see cref="IEmbeddingGenerator{TInput, TEmbedding}"/>, the <see cref="TimeProvider"/>
    /// and the <see cref="ILoggerFactory"/>. The options are validated when the host starts (every error at once), a
    /// hosted service opens the runtime then (an unreachable store fails the start, not the first model call) and
    /// flushes capture and closes it when the host stops. Without a generic host, open it with
    /// <see cref="StartLoreAsync"/>. Registrations are <c>TryAdd</c>: a runtime registered earlier wins.
    /// </summary>
    public static IServiceCollection AddLore(this IServiceCollection services, Action<LoreOptions, IServiceProvider> configure)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentNullException.ThrowIfNull(configure);
        if (services.Any(d => d.ServiceType == typeof(LoreRuntime)))
        {
            return services; // a runtime registered earlier wins, and no second one is opened beside it
        }

        services.AddOptions<LoreOptions>()
            .Configure<IServiceProvider>((options, provider) =>
            {
                if (provider.GetService<TimeProvider>() is { } time)
                {
                    options.TimeProvider = time;
                }

                configure(options, provider);
                options.Store ??= provider.GetService<ILoreStore>();
                options.EmbeddingGenerator ??= provider.GetService<IEmbeddingGenerator<string, Embedding<float>>>();
                options.LoggerFactory ??= provider.GetService<ILoggerFactory>();
                options.FailureClassifier ??= provider.GetService<IFailureClassifier>();
            })
            .ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<LoreOptions>, LoreOptionsValidation>());
        services.TryAddSingleton<LoreRuntimeLifetime>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LoreRuntimeLifetime>(provider => provider.GetRequiredService<LoreRuntimeLifetime>()));
        services.TryAddSingleton(provider => provider.GetRequiredService<LoreRuntimeLifetime>().Runtime);
        return services;
    }

    /// <summary>
    /// Opens the runtime <see cref="AddLore(IServiceCollection, Action{LoreOptions, IServiceProvider})"/> registered, for
    /// an app without a generic host (a console app that builds its own service provider); a host does this at start.
    /// Dispose the provider asynchronously (<c>await provider.DisposeAsync()</c>) so capture is flushed.
    /// </summary>
    public static async Task<LoreRuntime> StartLoreAsync(this IServiceProvider services, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(services);
        var lifetime = services.GetService<LoreRuntimeLifetime>()
            ?? throw new InvalidOperationException("Lore is not registered in this container: call services.AddLore(...) first.");
        await lifetime.StartAsync(cancellationToken).ConfigureAwait(false);
        return lifetime.Runtime;
    }
}

/// <summary>Checks <see cref="LoreOptions"/> as the options system asks, reporting every error at once; a store an <see cref="ILoreStoreOpener"/> opens at start need not be set yet.</summary>
internal sealed class LoreOptionsValidation(ILoreStoreOpener? storeOpener = null) : IValidateOptions<LoreOptions>
{
    public ValidateOptionsResult Validate(string? name, LoreOptions options)
        => options.Errors(storeOpensAtStart: storeOpener is not null) is { Count: > 0 } errors ? ValidateOptionsResult.Fail(errors) : ValidateOptionsResult.Success;
}

/// <summary>
/// Opens the container's runtime asynchronously when the host starts and disposes it (flushing capture) when the
/// container is disposed; the runtime is never opened by blocking a thread on first resolve. When no store is set or
/// registered, the container's <see cref="ILoreStoreOpener"/> opens one first (the runtime then owns it).
/// </summary>
internal sealed class LoreRuntimeLifetime(IOptions<LoreOptions> options, ILoreStoreOpener? storeOpener = null) : IHostedService, IAsyncDisposable
{
    private readonly SemaphoreSlim _gate = new(1, 1);
    private LoreRuntime? _runtime;

    public LoreRuntime Runtime => _runtime
        ?? throw new InvalidOperationException("The Lore runtime is opened when the host starts (AddLore registers a hosted service); without a generic host, call 'await provider.StartLoreAsync()' before resolving it.");

    public async Task StartAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            _runtime ??= await OpenAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<LoreRuntime> OpenAsync(CancellationToken cancellationToken)
    {
        var configured = options.Value;
        if (configured.Store is not null || storeOpener is null)
        {
            return await LoreRuntime.OpenAsync(configured, cancellationToken).ConfigureAwait(false);
        }

        // The container's options stay as configured: the opened store goes into the runtime's own frozen copy.
        var store = await storeOpener.OpenAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var withStore = configured.Frozen();
            withStore.Store = store;
            withStore.LeaveStoreOpen = false;
            return await LoreRuntime.OpenAsync(withStore, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_runtime is { } runtime)
        {
            await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_runtime is { } runtime)
        {
            _runtime = null;
            await runtime.DisposeAsync().ConfigureAwait(false);
        }

        _gate.Dispose();
    }
}
