using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.AspNetCore;
using ModelContextProtocol.Protocol;
using ModelContextProtocol.Server;

namespace Lore.Server.Mcp;

/// <summary>
/// The MCP server over streamable HTTP at <c>/mcp</c>, behind the same API-key authentication as the rest of
/// <c>lore serve</c> (policy agent). It runs stateless: every HTTP request is authenticated on its own and its tools act
/// for that request's key, so there is no session one key could open and another key could ride.
/// </summary>
internal static class LoreMcpEndpoints
{
    public const string Path = "/mcp";

    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddHttpContextAccessor();
        services.AddSingleton(new LoreMcpOptions { RefreshRollout = false });
        services.AddScoped(sp => McpAgent.FromHttp(sp.GetRequiredService<IHttpContextAccessor>()));
        LoreMcp.Configure(services.AddMcpServer(LoreMcp.ConfigureServer))
            .WithHttpTransport(t => t.SessionMode = HttpServerSessionMode.Stateless);
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapMcp(Path).RequireAuthorization(LorePolicies.Agent);
    }
}

/// <summary>What both transports serve: the server's name, its instructions to agents, the tools and the resources.</summary>
internal static class LoreMcp
{
    public const string Instructions =
        "Lore gives you lessons learned from earlier runs of agents in this workspace and learns from yours. " +
        "At the start of each task call get_guidelines with the task (and your unit and tools if you know them) and follow " +
        "the lessons where they apply. When the task is done call record_trajectory with the conversation, the outcome if " +
        "known, and the episode_id and lesson ids get_guidelines returned. If you learn the outcome later, call record_outcome. " +
        "Resources lore://snapshots, lore://snapshots/{id} and lore://lessons/{id} show what has been learned and why.";

    public static void ConfigureServer(McpServerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.ServerInfo = new Implementation { Name = "lore", Version = typeof(LoreMcp).Assembly.GetName().Version?.ToString(3) ?? "0.0.0" };
        options.ServerInstructions = Instructions;
    }

    public static IMcpServerBuilder Configure(IMcpServerBuilder builder)
        => McpArgumentCheck.AddTo(builder.WithTools<LoreMcpTools>().WithTools<LoreMcpReviewTools>().WithResources<LoreMcpResources>())
            .WithRequestFilters(filters => filters.AddListToolsFilter(next => async (context, cancellationToken) =>
            {
                // An agent is not shown the tools for people: they would only cost it context and be refused.
                var result = await next(context, cancellationToken).ConfigureAwait(false);
                if (context.Services?.GetService<McpAgent>()?.Key is { } key && key.Allows(ApiKeyRole.Reviewer))
                {
                    return result;
                }

                result.Tools = [.. result.Tools.Where(t => !LoreMcpReviewTools.Names.Contains(t.Name))];
                return result;
            }));
}
