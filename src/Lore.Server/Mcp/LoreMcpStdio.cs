using Lore.Server.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lore.Server.Mcp;

/// <summary>
/// <c>lore mcp</c>: the same MCP tools and resources over stdio, for a coding agent that launches Lore as a local
/// process. The process has the store itself and acts as an agent of one tenant; stdout carries only the protocol,
/// so every log line goes to stderr. Public so a host other than the <c>lore</c> tool can offer the same stdio server.
/// </summary>
public static class LoreMcpStdio
{
    /// <summary>Serves MCP on stdin/stdout until the client closes stdin or <paramref name="cancellationToken"/> fires.</summary>
    public static async Task RunAsync(ILoreStore store, string tenant, string actor, Action<LoreOptions>? configureRuntime, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(actor);

        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, Args = [] });
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Information);
        builder.Logging.AddConsole(o => o.LogToStandardErrorThreshold = LogLevel.Trace);
        builder.Services.Configure<ConsoleLifetimeOptions>(o => o.SuppressStatusMessages = true);

        var services = builder.Services;
        services.AddSingleton(new LoreMcpOptions { RefreshRollout = true });
        services.AddSingleton(new McpAgent(tenant, actor));
        services.AddSingleton(sp => new TenantRuntimes(new LoreServerOptions
        {
            Store = store,
            ConfigureRuntime = o =>
            {
                configureRuntime?.Invoke(o);
                o.LoggerFactory ??= sp.GetRequiredService<ILoggerFactory>();
            },
        }));
        LoreMcp.Configure(services.AddMcpServer(LoreMcp.ConfigureServer)).WithStdioServerTransport();

        // RunAsync disposes the host when it stops, and with it the runtimes: capture is flushed before the caller closes the store.
        await builder.Build().RunAsync(cancellationToken).ConfigureAwait(false);
    }
}
