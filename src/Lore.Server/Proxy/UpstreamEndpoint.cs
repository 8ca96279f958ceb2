using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace Lore.Server.Proxy;

/// <summary>
/// Where the proxy forwards: <see cref="LoreServerOptions.UpstreamBaseUrl"/>; a relative URL is an upstream mapped in
/// this same app (the simulated one of <c>lore serve --upstream simulated</c>), whose address is read from the
/// addresses Kestrel actually bound (never from a request's Host header, which a caller controls).
/// </summary>
internal sealed class UpstreamEndpoint(LoreServerOptions options, IServer server)
{
    /// <summary>The name of the <see cref="HttpClient"/> the proxy sends with.</summary>
    public const string HttpClientName = "lore-upstream";

    /// <summary>The header an upstream sets to say its answers are simulated; the proxy passes it on.</summary>
    public const string SimulatedHeader = "X-Lore-Simulated";

    private Uri? _local;

    /// <summary>The upstream's base address ending in '/', or null when no upstream is configured.</summary>
    public Uri? BaseAddress
    {
        get
        {
            return options.UpstreamBaseUrl switch
            {
                null => null,
                { IsAbsoluteUri: true } configured => WithSlash(configured),
                { } relative => _local ??= LocalAddress(relative),
            };
        }
    }

    private Uri? LocalAddress(Uri relative)
    {
        var address = server.Features.Get<IServerAddressesFeature>()?.Addresses.FirstOrDefault();
        if (address is null)
        {
            return null;
        }

        var bound = new Uri(address.Replace("://+", "://127.0.0.1", StringComparison.Ordinal).Replace("://*", "://127.0.0.1", StringComparison.Ordinal));
        var host = bound.Host is "0.0.0.0" or "[::]" or "::" or "localhost" ? "127.0.0.1" : bound.Host;
        return new UriBuilder(bound.Scheme, host, bound.Port, relative.OriginalString.Trim('/') + "/").Uri;
    }

    private static Uri WithSlash(Uri uri) => uri.AbsoluteUri.EndsWith('/') ? uri : new Uri(uri.AbsoluteUri + "/");
}
