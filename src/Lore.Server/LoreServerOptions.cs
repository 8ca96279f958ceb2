namespace Lore.Server;

/// <summary>
/// What <c>lore serve</c> needs: the shared store, where to listen, where the proxy forwards, and the limits that
/// keep one caller from starving the rest. Every tenant's runtime is opened on demand against <see cref="Store"/>.
/// </summary>
public sealed class LoreServerOptions
{
    /// <summary>The store every tenant's state lives in; the server does not dispose it.</summary>
    public ILoreStore? Store { get; set; }

    /// <summary>Kestrel URLs; loopback only by default so a new server is never exposed by accident.</summary>
    public string Urls { get; set; } = "http://127.0.0.1:5080";

    /// <summary>The OpenAI-compatible endpoint the proxy forwards to (for example <c>https://api.openai.com/v1/</c>); null disables the proxy.</summary>
    public Uri? UpstreamBaseUrl { get; set; }

    /// <summary>
    /// Serve the simulated workplace's agent as the upstream (at <c>/simulated/v1/</c> on this server) and forward the proxy
    /// there: lets a new user try the proxy end to end with no model endpoint. Ignored when <see cref="UpstreamBaseUrl"/> is set.
    /// </summary>
    public bool SimulatedUpstream { get; set; }

    /// <summary>The key sent upstream as <c>Authorization: Bearer</c>; never logged.</summary>
    public string? UpstreamApiKey { get; set; }

    /// <summary>Largest request body accepted, in bytes; larger bodies get 413 and nothing is written.</summary>
    public long MaxRequestBytes { get; set; } = 4 * 1024 * 1024;

    /// <summary>Requests per minute one API key may make (a token bucket refilled every second).</summary>
    public int RequestsPerMinutePerKey { get; set; } = 6_000;

    /// <summary>
    /// How long a key read from the store is trusted before it is read again (zero: read on every request). A key
    /// revoked through another server or the CLI keeps working here for at most this long.
    /// </summary>
    public TimeSpan KeyCacheDuration { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>Applied to each tenant's <see cref="LoreOptions"/> before its runtime opens (store and tenant are set for you).</summary>
    public Action<LoreOptions>? ConfigureRuntime { get; set; }

    /// <summary>
    /// Adds or changes logging providers (for example a file or OpenTelemetry logger). Whatever is configured, the server
    /// never logs API keys, Authorization headers or cookies: callers appear by key id only.
    /// </summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Used for key timestamps, audit times and rate limits; tests pass a fake.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
