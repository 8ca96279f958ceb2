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

    /// <summary>
    /// Host names requests may carry in <c>Host</c> and <c>Origin</c> besides localhost, 127.0.0.1 and [::1] (for a
    /// server behind a reverse proxy or reached by a name). While the server listens on loopback only, or this list is
    /// not empty, any other Host or Origin is refused with 403 on every route (DNS-rebinding protection); <c>*</c>
    /// turns the check off.
    /// </summary>
    public IList<string> AllowedHosts { get; set; } = [];

    /// <summary>
    /// The OpenAI-compatible endpoint the proxy forwards to (for example <c>https://api.openai.com/v1/</c>); null disables
    /// the proxy. A relative URL (for example <c>/simulated/v1/</c>) names an upstream mapped in this same app, reached
    /// at the address the server actually bound: <c>lore serve --upstream simulated</c> maps the simulated workplace's
    /// agent there (<c>MapSimulatedUpstream()</c> from Lore.Simulation), so the server itself never ships the simulation.
    /// </summary>
    public Uri? UpstreamBaseUrl { get; set; }

    /// <summary>
    /// Every proxied call is durable, as if it sent <c>X-Lore-Durable: true</c>: its steps are in the store before the
    /// answer is released (a 503 replaces the answer when they cannot be stored). Off by default: the default answers
    /// as soon as the upstream does and stores the steps through the background capture writer.
    /// </summary>
    public bool ProxyDurableByDefault { get; set; }

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

    /// <summary>
    /// How long an OTLP trace whose root span has arrived must go without new spans before its episode is written
    /// (default 2 s: spans of other services or a retried export can trail the root). Zero writes it with the export
    /// that brings the root.
    /// </summary>
    public TimeSpan OtlpSettleDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// How long an OTLP trace without its root span must go without new spans before its episode is written as it
    /// stands, open (default 60 s: longer than a batch exporter's delay plus a slow tool call). Later spans extend it.
    /// </summary>
    public TimeSpan OtlpTraceQuietPeriod { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Most OTLP spans held in memory while their traces are assembled; past it the oldest traces are written as they stand.</summary>
    public int OtlpMaxPendingSpans { get; set; } = 200_000;

    /// <summary>
    /// Episodes still open in the store with no step for this long are ended as <see cref="EpisodeEndReasons.Abandoned"/>
    /// when the server starts (every tenant) and by a sweep every half of it (at most every 5 minutes): the process
    /// capturing them died (default 30 minutes, longer than the proxy keeps an idle episode open, so episodes another
    /// live host is writing are left alone). Zero ends every open episode at start and does not sweep later (only for
    /// a store no other live server writes); <see cref="Timeout.InfiniteTimeSpan"/> turns recovery off.
    /// </summary>
    public TimeSpan AbandonIdleEpisodesAfter { get; set; } = TimeSpan.FromMinutes(30);

    /// <summary>
    /// The tenants named in the <c>lore.tenant</c> tag of Lore's spans and metrics; every other tenant is tagged
    /// <c>other</c>, so a server of thousands of tenants keeps its time series bounded. Null (the default): the first
    /// <see cref="DefaultTelemetryTenantCount"/> tenants the server opens are named and later ones are <c>other</c>.
    /// </summary>
    public ICollection<string>? TelemetryTenants { get; set; }

    /// <summary>How many tenants are named in telemetry when <see cref="TelemetryTenants"/> is null.</summary>
    public const int DefaultTelemetryTenantCount = 20;

    /// <summary>Applied to each tenant's <see cref="LoreOptions"/> before its runtime opens (store and tenant are set for you).</summary>
    public Action<LoreOptions>? ConfigureRuntime { get; set; }

    /// <summary>
    /// Adds or changes logging providers (for example a file or OpenTelemetry logger). Whatever is configured, the server
    /// never logs API keys, Authorization headers or cookies: callers appear by key id only.
    /// </summary>
    public Action<Microsoft.Extensions.Logging.ILoggingBuilder>? ConfigureLogging { get; set; }

    /// <summary>Used for key timestamps, audit times and rate limits; tests pass a fake.</summary>
    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;

    /// <summary>Throws one <see cref="ArgumentException"/> naming every invalid option, so a bad configuration is fixed in one pass.</summary>
    internal void ThrowIfInvalid(bool requireStore)
    {
        var errors = new List<string>();
        if (requireStore && Store is null)
        {
            errors.Add("Store is required.");
        }

        if (string.IsNullOrWhiteSpace(Urls))
        {
            errors.Add("Urls must name at least one URL.");
        }

        if (MaxRequestBytes < 1024)
        {
            errors.Add($"MaxRequestBytes must be at least 1024 (was {MaxRequestBytes}).");
        }

        if (RequestsPerMinutePerKey < 1)
        {
            errors.Add($"RequestsPerMinutePerKey must be at least 1 (was {RequestsPerMinutePerKey}).");
        }

        if (KeyCacheDuration < TimeSpan.Zero)
        {
            errors.Add("KeyCacheDuration must not be negative.");
        }

        if (OtlpSettleDelay < TimeSpan.Zero)
        {
            errors.Add("OtlpSettleDelay must be >= 0.");
        }

        if (OtlpTraceQuietPeriod <= TimeSpan.Zero)
        {
            errors.Add("OtlpTraceQuietPeriod must be > 0.");
        }

        if (OtlpMaxPendingSpans < 1_000)
        {
            errors.Add($"OtlpMaxPendingSpans must be >= 1000 (was {OtlpMaxPendingSpans}).");
        }

        if (UpstreamBaseUrl is { IsAbsoluteUri: true } upstream && upstream.Scheme is not ("http" or "https"))
        {
            errors.Add($"UpstreamBaseUrl '{upstream}' must be an http(s) URL or a path on this app.");
        }

        if (AbandonIdleEpisodesAfter < TimeSpan.Zero && AbandonIdleEpisodesAfter != Timeout.InfiniteTimeSpan)
        {
            errors.Add("AbandonIdleEpisodesAfter must be zero or more (Timeout.InfiniteTimeSpan turns recovery off).");
        }

        if (TelemetryTenants?.Any(string.IsNullOrWhiteSpace) == true)
        {
            errors.Add("TelemetryTenants must not contain empty tenant names.");
        }

        foreach (var host in AllowedHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || host.Contains('/', StringComparison.Ordinal) || (host.Contains(':', StringComparison.Ordinal) && !host.StartsWith('[')))
            {
                errors.Add($"AllowedHosts: '{host}' is not a host name (give names like lore.example.com, without scheme or port).");
            }
        }

        if (errors.Count > 0)
        {
            throw new ArgumentException("LoreServerOptions: " + string.Join(" ", errors), "options");
        }
    }
}
