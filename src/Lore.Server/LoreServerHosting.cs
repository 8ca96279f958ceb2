using Lore.Server.Api;
using Lore.Server.Dashboard;
using Lore.Server.Hosting;
using Lore.Server.Mcp;
using Lore.Server.Otlp;
using Lore.Server.Proxy;
using Lore.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lore.Server;

/// <summary>
/// Hosts Lore's server (REST API, OpenAI-compatible proxy, OTLP receiver, MCP and dashboard) inside an ASP.NET Core
/// app a team already runs, next to its own endpoints: <c>builder.Services.AddLoreServer(...)</c> then
/// <c>app.MapLore()</c>. <c>lore serve</c> is the same two calls on an app of its own.
/// </summary>
public static class LoreServerHosting
{
    /// <summary>
    /// The path prefixes Lore's endpoints live under in a hosted app; Lore's host check, authentication, rate limits and
    /// body-size limit apply to these and to nothing else of the app.
    /// </summary>
    public static IReadOnlyList<string> RoutePrefixes { get; } = ["/api", "/v1", "/mcp", "/dashboard", "/openapi", "/healthz"];

    /// <summary>
    /// Registers Lore's server services. <paramref name="configure"/> runs at once (the limits shape the registration);
    /// when it leaves <see cref="LoreServerOptions.Store"/> unset, the <see cref="ILoreStore"/> registered in the
    /// container is used. Every invalid option is reported together, and a missing store fails the app at start.
    /// </summary>
    public static IServiceCollection AddLoreServer(this IServiceCollection services, Action<LoreServerOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        var options = new LoreServerOptions();
        configure?.Invoke(options);
        return AddLoreServer(services, options, hosted: true);
    }

    /// <summary>
    /// Maps Lore's endpoints (see <see cref="RoutePrefixes"/>) and puts Lore's request pipeline in front of them: the
    /// DNS-rebinding host check, API-key authentication, per-key rate limits and the request-size limit. Call it after
    /// the app's own authentication middleware, if any; requests to the app's other routes are untouched.
    /// </summary>
    public static WebApplication MapLore(this WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        return Map(app, everyRequest: false);
    }

    internal static IServiceCollection AddLoreServer(IServiceCollection services, LoreServerOptions options, bool hosted)
    {
        if (services.Any(d => d.ServiceType == typeof(LoreServerRegistration)))
        {
            throw new InvalidOperationException("AddLoreServer was called twice: one app hosts one Lore server.");
        }

        options.ThrowIfInvalid(requireStore: !hosted);
        services.AddSingleton(new LoreServerRegistration(options));
        services.AddSingleton(provider =>
        {
            // The store comes from the options or, in a hosted app, from the container; resolved once, at start.
            options.Store ??= provider.GetService<ILoreStore>()
                ?? throw new InvalidOperationException("Lore's server has no store: set LoreServerOptions.Store in AddLoreServer(...) or register an ILoreStore.");
            return options;
        });
        services.TryAddSingleton(options.TimeProvider);
        services.AddSingleton(provider => new TenantRuntimes(provider.GetRequiredService<LoreServerOptions>(), provider.GetService<ILoggerFactory>()));
        services.AddSingleton<ILoreRuntimeProvider>(provider => provider.GetRequiredService<TenantRuntimes>());
        services.AddSingleton<ApiKeyCache>();
        services.AddHostedService<LoreServerLifetime>();
        services.AddHostedService<OpenEpisodeSweeper>(); // after the lifetime: it sweeps at start, before requests, and stops first
        services.AddAuthentication()
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(LorePolicies.Add);
        services.AddProblemDetails();
        services.AddExceptionHandler<StoreUnavailableHandler>();
        if (!hosted)
        {
            RequestRateLimits.AddServices(services, options);
        }

        LoreApiEndpoints.AddServices(services);
        OpenAiProxyEndpoints.AddServices(services);
        OtlpReceiverEndpoints.AddServices(services);
        LoreMcpEndpoints.AddServices(services);
        DashboardEndpoints.AddServices(services);
        return services;
    }

    /// <summary>Lore's pipeline and endpoints; on its own app (<paramref name="everyRequest"/>) the pipeline covers every request.</summary>
    internal static WebApplication Map(WebApplication app, bool everyRequest)
    {
        var options = app.Services.GetService<LoreServerRegistration>()?.Options
            ?? throw new InvalidOperationException("Call builder.Services.AddLoreServer(...) before app.MapLore().");
        if (!((IApplicationBuilder)app).Properties.TryAdd("lore.server.mapped", true))
        {
            throw new InvalidOperationException("MapLore was called twice: Lore's endpoints are mapped once per app.");
        }

        if (everyRequest)
        {
            app.UseExceptionHandler();
            HostValidation.Use(app, options); // before anything reads the request: a rebinding page gets nothing
            app.UseStatusCodePages();
            app.UseAuthentication();
            RequestRateLimits.Use(app); // after authentication: the bucket is the caller's key
            app.UseAuthorization();
        }
        else
        {
            app.UseWhen(IsLoreRequest, lore =>
            {
                HostValidation.Use(lore, options);
                lore.Use(async (context, next) =>
                {
                    // Kestrel's limit belongs to the app; Lore's routes get Lore's.
                    if (context.Features.Get<Microsoft.AspNetCore.Http.Features.IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } size)
                    {
                        size.MaxRequestBodySize = options.MaxRequestBytes;
                    }

                    // The app's default scheme may be anything; Lore's routes know their caller by Lore's API key.
                    var result = await context.AuthenticateAsync(ApiKeyAuthentication.SchemeName).ConfigureAwait(false);
                    if (result.Succeeded)
                    {
                        context.User = result.Principal;
                    }

                    await next(context).ConfigureAwait(false);
                });
                RequestRateLimits.UseOwnLimiter(lore, options);
            });
        }

        LoreApiEndpoints.Map(app);
        OpenAiProxyEndpoints.Map(app);
        OtlpReceiverEndpoints.Map(app);
        LoreMcpEndpoints.Map(app);
        DashboardEndpoints.Map(app);
        return app;
    }

    private static bool IsLoreRequest(HttpContext context)
    {
        var path = context.Request.Path;
        foreach (var prefix in RoutePrefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>Marks a container Lore's server is registered in, with its options as given (before the store is resolved).</summary>
internal sealed record LoreServerRegistration(LoreServerOptions Options);

/// <summary>
/// Opens the server's store at start (so a missing or unreachable store fails the app then, not on the first request)
/// and, when the app stops, flushes capture and closes every tenant's runtime before the store goes away.
/// </summary>
internal sealed class LoreServerLifetime(IServiceProvider services) : IHostedService
{
    public Task StartAsync(CancellationToken cancellationToken)
    {
        _ = services.GetRequiredService<TenantRuntimes>();
        return Task.CompletedTask;
    }

    // Runs after ApplicationStopping, whose callbacks end open proxy episodes and OTLP traces while runtimes still record.
    public Task StopAsync(CancellationToken cancellationToken) => services.GetRequiredService<TenantRuntimes>().DisposeAsync().AsTask();
}
