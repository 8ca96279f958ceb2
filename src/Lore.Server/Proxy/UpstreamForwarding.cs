using System.Net;
using Yarp.ReverseProxy.Forwarder;

namespace Lore.Server.Proxy;

/// <summary>
/// What the proxy forwards with: YARP's <see cref="IHttpForwarder"/> and one pooled <see cref="HttpMessageInvoker"/>
/// for the process (no per-request client, no logging handlers), the same machinery a bare YARP reverse proxy uses.
/// </summary>
internal sealed class UpstreamForwarding(IHttpForwarder forwarder) : IDisposable
{
    /// <summary>Long generations stream for minutes: the forwarder gives up after this long without a byte either way.</summary>
    public static readonly ForwarderRequestConfig RequestConfig = new() { ActivityTimeout = TimeSpan.FromMinutes(10) };

    public IHttpForwarder Forwarder { get; } = forwarder;

    public HttpMessageInvoker Invoker { get; } = new(
        new SocketsHttpHandler
        {
            // Capture reads the answer, so it must arrive decoded whatever the upstream prefers.
            AutomaticDecompression = DecompressionMethods.All,
            PooledConnectionLifetime = TimeSpan.FromMinutes(5),
            UseCookies = false,
            AllowAutoRedirect = false,
            ConnectTimeout = TimeSpan.FromSeconds(30),
        },
        disposeHandler: true);

    public void Dispose() => Invoker.Dispose();
}
