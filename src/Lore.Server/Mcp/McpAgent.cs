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
/// <param name="Key">The API key over HTTP (its id and whether it may assert units); null over stdio.</param>
internal sealed record McpAgent(string Tenant, string Actor, Caller? Key = null)
{
    /// <summary>
    /// The <see cref="Episode.Source"/> of an episode this agent records for <paramref name="unit"/> (the unit argument
    /// as given, null when none): over HTTP the key's rule (<see cref="EpisodeSources.OfKey"/>), so calls without a unit
    /// share the key's one source; over stdio the local process the operator started, trusted to name units, its
    /// unit-less calls sharing one source.
    /// </summary>
    public string SourceFor(string? unit)
        => Key is not null
            ? Key.SourceFor(unit)
            : string.IsNullOrWhiteSpace(unit) ? Actor : $"{Actor}/unit:{unit.Trim()}";

    /// <summary>The agent of the HTTP request being handled, from its authenticated API key.</summary>
    public static McpAgent FromHttp(IHttpContextAccessor accessor)
    {
        ArgumentNullException.ThrowIfNull(accessor);

        // Fails closed: a handler that somehow ran outside an authenticated request acts for nobody.
        var context = accessor.HttpContext ?? throw new McpException("This MCP request has no HTTP context, so no API key to act for.");
        var caller = Caller.From(context);
        return new McpAgent(caller.Tenant, caller.Actor, caller);
    }
}
