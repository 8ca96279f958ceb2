using Lore.Server.Api;
using Lore.Server.Dashboard;
using Lore.Server.Hosting;
using Lore.Server.Mcp;
using Lore.Server.Otlp;
using Lore.Server.Proxy;
using Lore.Server.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Lore.Server;

/// <summary>
/// Builds the <c>lore serve</c> web application: one Kestrel host with the REST API, the OpenAI-compatible proxy,
/// the OTLP receiver, the MCP endpoint and the dashboard, all behind the same API-key authentication.
/// </summary>
public static class LoreServer
{
    /// <summary>Builds (but does not start) the server; <c>await app.StartAsync()</c> or <c>RunAsync()</c> it.</summary>
    public static WebApplication Build(LoreServerOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (options.Store is null)
        {
            throw new ArgumentException("LoreServerOptions.Store is required.", nameof(options));
        }

        if (options.AbandonIdleEpisodesAfter < TimeSpan.Zero && options.AbandonIdleEpisodesAfter != Timeout.InfiniteTimeSpan)
        {
            throw new ArgumentException("LoreServerOptions.AbandonIdleEpisodesAfter must be zero or more (Timeout.InfiniteTimeSpan turns recovery off).", nameof(options));
        }

        if (options.OtlpSettleDelay < TimeSpan.Zero || options.OtlpTraceQuietPeriod <= TimeSpan.Zero || options.OtlpMaxPendingSpans < 1_000)
        {
            throw new ArgumentException("LoreServerOptions: OtlpSettleDelay must be >= 0, OtlpTraceQuietPeriod > 0 and OtlpMaxPendingSpans >= 1000.", nameof(options));
        }

        foreach (var host in options.AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || host.Contains('/', StringComparison.Ordinal) || (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[')))
            {
                throw new ArgumentException($"LoreServerOptions.AllowedHosts: '{host}' is not a host name (give names like lore.example.com, without scheme or port).", nameof(options));
            }
        }

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        options.ConfigureLogging?.Invoke(builder.Logging);

        var services = builder.Services;
        services.AddSingleton(options);
        services.AddSingleton(options.TimeProvider);
        services.AddSingleton<TenantRuntimes>();
        services.AddHostedService<OpenEpisodeSweeper>();
        services.AddSingleton<ApiKeyCache>();
        services.AddAuthentication(ApiKeyAuthentication.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthentication>(ApiKeyAuthentication.SchemeName, null);
        services.AddAuthorization(LorePolicies.Add);
        services.AddProblemDetails();
        services.AddExceptionHandler<StoreUnavailableHandler>();
        RequestRateLimits.AddServices(services, options);

        LoreApiEndpoints.AddServices(services);
        OpenAiProxyEndpoints.AddServices(services);
        OtlpReceiverEndpoints.AddServices(services);
        LoreMcpEndpoints.AddServices(services);
        DashboardEndpoints.AddServices(services);

        var app = builder.Build();
        app.UseExceptionHandler();
        HostValidation.Use(app, options); // before anything reads the request: a rebinding page gets nothing
        app.UseStatusCodePages();
        app.UseAuthentication();
        RequestRateLimits.Use(app); // after authentication: the bucket is the caller's key
        app.UseAuthorization();

        LoreApiEndpoints.Map(app);
        OpenAiProxyEndpoints.Map(app);
        OtlpReceiverEndpoints.Map(app);
        LoreMcpEndpoints.Map(app);
        DashboardEndpoints.Map(app);

        // Capture queued by requests is flushed and runtimes closed before the store goes away.
        app.Lifetime.ApplicationStopping.Register(() => app.Services.GetRequiredService<TenantRuntimes>().DisposeAsync().AsTask().GetAwaiter().GetResult());
        return app;
    }
}
