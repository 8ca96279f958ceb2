using System.Net;
using Lore.Server.Proxy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Security;

/// <summary>
/// DNS-rebinding protection. A server bound to loopback trusts that only this machine can reach it, but a web page
/// can point its own domain at 127.0.0.1 and have the browser send requests there; those arrive with the page's
/// <c>Host</c> and <c>Origin</c>. So when every URL the server listens on is loopback (or an allow-list is given), each
/// request on every route (REST, proxy, OTLP, MCP, dashboard) must name a loopback host or an allowed one in
/// <c>Host</c>, and in <c>Origin</c> when it has one; anything else is refused with 403 before authentication.
/// </summary>
internal static class HostValidation
{
    public static void Use(IApplicationBuilder app, LoreServerOptions options)
    {
        var allowed = AllowedHosts(options);
        if (allowed is null)
        {
            return;
        }

        app.Use(async (context, next) =>
        {
            if (Refusal(context.Request, allowed) is { } problem)
            {
                await RequestProblem.WriteAsync(context, StatusCodes.Status403Forbidden, "Host not allowed", problem).ConfigureAwait(false);
                return;
            }

            await next(context).ConfigureAwait(false);
        });
    }

    /// <summary>
    /// The host names requests may name, or null when validation is off: off when the server listens beyond loopback
    /// and no allow-list is given, or when the allow-list holds <c>*</c>.
    /// </summary>
    public static HashSet<string>? AllowedHosts(LoreServerOptions options)
    {
        var extra = options.AllowedHosts;
        if (extra.Contains("*"))
        {
            return null;
        }

        var loopbackOnly = options.Urls.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .All(url => Uri.TryCreate(url.Replace("://+", "://0.0.0.0", StringComparison.Ordinal).Replace("://*", "://0.0.0.0", StringComparison.Ordinal), UriKind.Absolute, out var uri) && IsLoopback(uri.Host));
        if (!loopbackOnly && extra.Count == 0)
        {
            return null;
        }

        var hosts = new HashSet<string>(StringComparer.OrdinalIgnoreCase) { "localhost", "127.0.0.1", "[::1]", "::1" };
        foreach (var host in extra)
        {
            hosts.Add(host.Trim().TrimEnd('.'));
        }

        return hosts;
    }

    /// <summary>Why the request's Host or Origin is refused, or null when both are allowed.</summary>
    public static string? Refusal(HttpRequest request, HashSet<string> allowed)
    {
        var host = request.Host.HasValue ? HostName(request.Host.Host) : "";
        if (host.Length == 0 || !IsAllowed(host, allowed))
        {
            return $"the Host header '{request.Host.Value}' is not this server's: it listens on loopback, so only localhost, 127.0.0.1 and [::1]{Extra(allowed)} are accepted (a foreign Host is what a DNS-rebinding attack sends). Behind a proxy, list the public name with --allowed-hosts.";
        }

        var origin = request.Headers.Origin.ToString();
        if (origin.Length > 0 && origin != "null")
        {
            if (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || !IsAllowed(HostName(uri.Host), allowed))
            {
                return $"the Origin '{origin}' is not allowed: a page from another site may not call this server (only localhost, 127.0.0.1 and [::1]{Extra(allowed)}).";
            }
        }

        return null;
    }

    private static bool IsAllowed(string host, HashSet<string> allowed)
        => allowed.Contains(host) || (host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase) && allowed.Contains("localhost"));

    private static string HostName(string host) => host.TrimEnd('.').ToLowerInvariant();

    private static bool IsLoopback(string host)
        => host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || (IPAddress.TryParse(host.Trim('[', ']'), out var address) && IPAddress.IsLoopback(address));

    private static string Extra(HashSet<string> allowed)
    {
        var extra = allowed.Where(h => h is not ("localhost" or "127.0.0.1" or "[::1]" or "::1")).Order(StringComparer.Ordinal).ToList();
        return extra.Count == 0 ? "" : ", " + string.Join(", ", extra);
    }
}
