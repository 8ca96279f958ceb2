using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server;

/// <summary>
/// Builds the <c>lore serve</c> web application: one Kestrel host with the REST API, the OpenAI-compatible proxy,
/// the OTLP receiver, the MCP endpoint and the dashboard, all behind the same API-key authentication. It is a thin
/// host over <see cref="LoreServerHosting.AddLoreServer(IServiceCollection, Action{LoreServerOptions}?)"/> and
/// <see cref="LoreServerHosting.MapLore"/>, which put the same server into an app of your own.
/// </summary>
public static class LoreServer
{
    /// <summary>
    /// Builds (but does not start) the server; more endpoints may still be mapped on it (as <c>lore serve --upstream
    /// simulated</c> maps the simulated upstream), then <c>await app.StartAsync()</c> or <c>RunAsync()</c> it.
    /// </summary>
    public static WebApplication Build(LoreServerOptions options, string[]? args = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ThrowIfInvalid(requireStore: true);

        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { Args = args ?? [] });
        builder.WebHost.UseUrls(options.Urls);
        builder.WebHost.ConfigureKestrel(k => k.Limits.MaxRequestBodySize = options.MaxRequestBytes);
        options.ConfigureLogging?.Invoke(builder.Logging);

        // On its own host Lore's key is the default scheme: every request's caller is known to the rate limiter.
        builder.Services.AddAuthentication(ApiKeyAuthentication.SchemeName);
        LoreServerHosting.AddLoreServer(builder.Services, options, hosted: false);
        return LoreServerHosting.Map(builder.Build(), everyRequest: true);
    }
}
