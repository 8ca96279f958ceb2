using Lore.Server.Security;
using Microsoft.AspNetCore.Http;
using ModelContextProtocol;

namespace Lore.Server.Mcp;

/// <summary>
/// Whom one MCP request acts for: the tenant every read and write of the tools and resources is confined to, and the
/// actor recorded on what they write. Over HTTP it is read from the API key of the very request being handled (never
/// from a session or an argument), so a request can only ever act for its own key's tenant; over stdio it is the
/// tenant <c>lore mcp</c> was started for.
/// </summary>
/// <param name="Tenant">The only tenant the request may read or change.</param>
/// <param name="Actor">Recorded as the actor of outcomes it writes (<c>key:{id}</c> over HTTP).</param>
internal sealed record McpAgent(string Tenant, string Actor)
{
    /// <summary>The agent of the HTTP request being handled, from its authenticated API key.</summary>
    public static McpAgent FromHttp(IHttpContextAccessor accessor)
    {
        ArgumentNullException.ThrowIfNull(accessor);

        // Fails closed: a handler that somehow ran outside an authenticated request acts for nobody.
        var context = accessor.HttpContext ?? throw new McpException("This MCP request has no HTTP context, so no API key to act for.");
        var caller = Caller.From(context);
        return new McpAgent(caller.Tenant, caller.Actor);
    }
}
