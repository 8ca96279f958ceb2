using Lore.Server.Simulation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Lore.Server.Proxy;

/// <summary>
/// Where the proxy forwards: <see cref="LoreServerOptions.UpstreamBaseUrl"/>, or this server's own simulated upstream
/// when <see cref="LoreServerOptions.SimulatedUpstream"/> is on. The simulated address is read from the addresses
/// Kestrel actually bound (never from a request's Host header, which a caller controls).
/// </summary>
internal sealed class UpstreamEndpoint(LoreServerOptions options, IServer server)
{
    /// <summary>The name of the <see cref="HttpClient"/> the proxy sends with.</summary>
    public const string HttpClientName = "lore-upstream";

    private Uri? _simulated;

    /// <summary>True when the upstream is the simulated workplace's agent (responses are labelled as simulated).</summary>
    public bool IsSimulated => options.UpstreamBaseUrl is null && options.SimulatedUpstream;

    /// <summary>The upstream's base address ending in '/', or null when no upstream is configured.</summary>
    public Uri? BaseAddress
    {
        get
        {
            if (options.UpstreamBaseUrl is { } configured)
            {
                return WithSlash(configured);
            }

            return options.SimulatedUpstream ? _simulated ??= SimulatedAddress() : null;
        }
    }

    private Uri? SimulatedAddress()
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null)
        {
            return null;
        }

        var bound = new Uri(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        var host = bound.Host is "0.0.0.0" or "[::]" or "::" or "localhost" ? "127.0.0.1" : bound.Host;
        return new UriBuilder(bound.Scheme, host, bound.Port, SimulatedUpstreamEndpoints.Prefix.TrimStart('/') + "/").Uri;
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
