using System.ComponentModel;
using System.Globalization;
using System.Runtime.InteropServices;
using Lore.Cli.Infrastructure;
using Lore.Server;
using Lore.Server.Security;
using Lore.Simulation.Upstream;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// <c>lore serve</c>: the REST API, the OpenAI-compatible proxy, the OTLP receiver, MCP and the dashboard on one port,
/// loopback by default. A store with no keys gets one admin key, printed once, so a new user can start at once.
/// </summary>
internal sealed class ServeCommand(IAnsiConsole console) : AsyncCommand<ServeCommand.Settings>
{
    internal sealed class Settings : CommandSettings
    {
        [CommandOption("--store <PATH>")]
        [Description("The store: a SQLite file path (default ./lore.db, created when absent), or a PostgreSQL database as postgres://user:password@host:port/db or an Npgsql connection string (LORE_STORE when not given).")]
        [DefaultValue("lore.db")]
        public string Store { get; init; } = "lore.db";

        [CommandOption("--urls <URLS>")]
        [Description("Where to listen (default http://127.0.0.1:5080, loopback only); separate several with ';'.")]
        [DefaultValue("http://127.0.0.1:5080")]
        public string Urls { get; init; } = "http://127.0.0.1:5080";

        [CommandOption("--allowed-hosts <HOSTS>")]
        [Description("Host names clients may use besides localhost/127.0.0.1/[::1], separated by ';' (for a server behind a reverse proxy); '*' turns Host/Origin checking off. While listening on loopback only, any other Host or Origin is refused (DNS-rebinding protection).")]
        public string? AllowedHosts { get; init; }

        [CommandOption("--durable")]
        [Description("Every proxied call is stored before its answer is released (as if each request sent X-Lore-Durable: true); slower, but a 200 then means the step is in the store.")]
        public bool Durable { get; init; }

        [CommandOption("--upstream <URL>")]
        [Description("The OpenAI-compatible endpoint the proxy forwards to (for example https://api.openai.com/v1/), or 'simulated' for the simulated workplace's agent.")]
        public string? Upstream { get; init; }

        [CommandOption("--upstream-key-env <VAR>")]
        [Description("The environment variable holding the upstream's API key (read at start, never printed or logged).")]
        public string? UpstreamKeyEnv { get; init; }

        [CommandOption("--max-request-bytes <BYTES>")]
        [Description("Largest request body accepted (default 4194304); larger ones get 413 and nothing is written.")]
        [DefaultValue(4L * 1024 * 1024)]
        public long MaxRequestBytes { get; init; } = 4L * 1024 * 1024;

        [CommandOption("--rate <PER_MINUTE>")]
        [Description("Requests per minute one API key may make (default 6000); more get 429 with Retry-After.")]
        [DefaultValue(6_000)]
        public int Rate { get; init; } = 6_000;

        [CommandOption("--abandon-idle-episodes-after <MINUTES>")]
        [Description("Episodes left open in the store by a process that stopped, with no step for this many minutes, are ended as abandoned at start and by a periodic sweep (default 30; 0 ends every open episode at start, for a store no other live server writes; -1 turns recovery off).")]
        [DefaultValue(30.0)]
        public double AbandonIdleEpisodesAfterMinutes { get; init; } = 30;

        /// <summary>Longest tenant name <c>--telemetry-tenants</c> accepts.</summary>
        private const int MaxTenantLength = 200;

        [CommandOption("--telemetry-tenants <NAMES>")]
        [Description("Tenants named in the lore.tenant tag of Lore's spans and metrics, separated by ',' (the option may be repeated); every other tenant is tagged 'other', so time series stay bounded. Default: the first 20 tenants the server opens are named.")]
        public string[]? TelemetryTenants { get; init; }

        [CommandOption("--tenant <NAME>")]
        [Description("The tenant of the admin key created when the store has no keys yet (default 'default').")]
        [DefaultValue(Tenants.Default)]
        public string Tenant { get; init; } = Tenants.Default;

        [CommandOption("--failure-classifier-endpoint <URL>")]
        [Description("An OpenAI-compatible endpoint (for example https://api.openai.com/v1/ or a local model server) whose model names the failure mode of each failed episode as it is judged; the mode is stored with the outcome and used by the rollout monitor, eval, diff and the dashboard. Without it the built-in failure signature is used.")]
        public string? FailureClassifierEndpoint { get; init; }

        [CommandOption("--failure-classifier-model <NAME>")]
        [Description("The model of --failure-classifier-endpoint that names failures (required with it).")]
        public string? FailureClassifierModel { get; init; }

        [CommandOption("--failure-classifier-key-env <VAR>")]
        [Description("The environment variable holding --failure-classifier-endpoint's API key (read at start, never printed or logged); omit it for an endpoint without keys.")]
        public string? FailureClassifierKeyEnv { get; init; }

        [CommandOption("--failure-classifier-timeout <SECONDS>")]
        [Description("How long the classifier may take for one episode before the built-in signature is used instead (default 30, 0.1 to 300).")]
        public double? FailureClassifierTimeoutSeconds { get; init; }

        public override ValidationResult Validate()
        {
            if (Infrastructure.FailureClassifierEndpoint.Check(FailureClassifierEndpoint, FailureClassifierModel, FailureClassifierKeyEnv, FailureClassifierTimeoutSeconds) is { } classifierProblem)
            {
                return ValidationResult.Error(classifierProblem);
            }

            if (MaxRequestBytes < 1024)
            {
                return ValidationResult.Error("--max-request-bytes must be at least 1024.");
            }

            if (AbandonIdleEpisodesAfterMinutes < 0 && AbandonIdleEpisodesAfterMinutes != -1 || double.IsNaN(AbandonIdleEpisodesAfterMinutes))
            {
                return ValidationResult.Error($"--abandon-idle-episodes-after must be 0 or more minutes, or -1 to turn recovery off (got {AbandonIdleEpisodesAfterMinutes.ToString(CultureInfo.InvariantCulture)}).");
            }

            if (Rate < 1)
            {
                return ValidationResult.Error("--rate must be at least 1 request per minute.");
            }

            if (Upstream is not null && Upstream != "simulated"
                && (!Uri.TryCreate(Upstream, UriKind.Absolute, out var upstream) || upstream.Scheme is not ("http" or "https")))
            {
                return ValidationResult.Error($"--upstream '{Upstream}' is not an http(s) URL or 'simulated'.");
            }

            if (TelemetryTenantProblem(TelemetryTenants) is { } problem)
            {
                return ValidationResult.Error(problem);
            }

            return string.IsNullOrWhiteSpace(Tenant) ? ValidationResult.Error("--tenant must not be empty.") : ValidationResult.Success();
        }

        /// <summary>The tenant names the <c>--telemetry-tenants</c> values list (comma-separated, trimmed, distinct), or null when the option was not given.</summary>
        public IReadOnlyList<string>? TelemetryTenantNames()
            => TelemetryTenants is null ? null : [.. TelemetryTenants.SelectMany(v => v.Split(',', StringSplitOptions.TrimEntries)).Distinct(StringComparer.Ordinal)];

        /// <summary>What is wrong with the <c>--telemetry-tenants</c> values, naming the value; null when they are fine.</summary>
        private static string? TelemetryTenantProblem(string[]? values)
        {
            foreach (var value in values ?? [])
            {
                foreach (var name in value.Split(',', StringSplitOptions.TrimEntries))
                {
                    if (name.Length == 0)
                    {
                        return $"--telemetry-tenants '{value}' has an empty tenant name; separate names with single commas (for example acme,globex).";
                    }

                    if (name.Length > MaxTenantLength || name.Any(char.IsControl))
                    {
                        return $"--telemetry-tenants '{value}': '{name}' is not a tenant name (at most {MaxTenantLength} characters, no control characters).";
                    }
                }
            }

            return null;
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        string? upstreamKey = null;
        if (settings.UpstreamKeyEnv is { } variable)
        {
            upstreamKey = Environment.GetEnvironmentVariable(variable);
            if (string.IsNullOrEmpty(upstreamKey))
            {
                throw new CliException($"--upstream-key-env: the environment variable {variable} is not set.");
            }
        }

        var classifier = Infrastructure.FailureClassifierEndpoint.FromOptions(settings.FailureClassifierEndpoint, settings.FailureClassifierModel, settings.FailureClassifierKeyEnv, settings.FailureClassifierTimeoutSeconds);
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        var writer = console.Profile.Out.Writer;
        if ((await store.ListApiKeysAsync(null, cancellationToken)).Count == 0)
        {
            var issued = await ApiKeys.CreateAsync(store, settings.Tenant, ApiKeyRole.Admin, "first admin key (lore serve)", $"cli:{Environment.UserName}", TimeProvider.System, cancellationToken);
            writer.WriteLine($"The store had no API keys, so this admin key for tenant '{settings.Tenant}' was created ({issued.Key.Id}). It is shown only this once; Lore keeps only its hash:");
            writer.WriteLine(issued.Secret);
            writer.WriteLine("Create more with 'lore keys create --role agent --name NAME' and revoke this one with 'lore keys revoke ID --reason R'.");
        }

        var options = new LoreServerOptions
        {
            Store = store,
            Urls = settings.Urls,
            UpstreamBaseUrl = settings.Upstream switch
            {
                null => null,
                "simulated" => new Uri(SimulatedUpstreamEndpoints.Prefix + "/", UriKind.Relative),
                var url => new Uri(url.EndsWith('/') ? url : url + "/"),
            },
            UpstreamApiKey = upstreamKey,
            MaxRequestBytes = settings.MaxRequestBytes,
            RequestsPerMinutePerKey = settings.Rate,
            AllowedHosts = settings.AllowedHosts is { } hosts ? [.. hosts.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)] : [],
            ProxyDurableByDefault = settings.Durable,
            AbandonIdleEpisodesAfter = settings.AbandonIdleEpisodesAfterMinutes < 0 ? Timeout.InfiniteTimeSpan : TimeSpan.FromMinutes(settings.AbandonIdleEpisodesAfterMinutes),
            TelemetryTenants = settings.TelemetryTenantNames() is { } named ? [.. named] : null,
            ConfigureRuntime = classifier?.Configure(),

            // One line per request is noise on a terminal; warnings and Lore's own messages (by key id, never a key) stay.
            ConfigureLogging = logging => logging.AddFilter("Microsoft.AspNetCore", LogLevel.Warning),
        };
        // Ctrl+C and SIGTERM stop the server cleanly (capture flushed, runtimes closed) instead of killing the process.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var interrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, signal => { signal.Cancel = true; stop.Cancel(); });
        using var terminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, signal => { signal.Cancel = true; stop.Cancel(); });
        var app = LoreServer.Build(options);
        if (settings.Upstream == "simulated")
        {
            // The simulated agent is the CLI's, not the server's: mapped next to the server, the proxy forwards to it.
            app.MapSimulatedUpstream();
        }

        await using (app.ConfigureAwait(false))
        {
            await app.StartAsync(cancellationToken);
            var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
            writer.WriteLine($"Listening on {string.Join(", ", addresses)} (store {store.Location}).");
            if (classifier is not null)
            {
                writer.WriteLine($"Failure modes named by model {classifier.Model} at {classifier.Endpoint} (timeout {classifier.Timeout.TotalSeconds.ToString(CultureInfo.InvariantCulture)} s; the built-in signature when it fails).");
            }

            writer.WriteLine(string.Create(CultureInfo.InvariantCulture, $"REST API under /api (OpenAPI at /openapi/v1.json), OpenAI-compatible proxy at /v1/chat/completions{(options.UpstreamBaseUrl is null ? " (no --upstream: disabled)" : "")}, OTLP at /v1/traces, MCP at /mcp, dashboard at /dashboard. Ctrl+C stops."));
            writer.Flush();
            try
            {
                await Task.Delay(Timeout.Infinite, stop.Token);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C (or the caller's cancellation): stop cleanly below.
            }

            await app.StopAsync(CancellationToken.None);
        }

        writer.WriteLine("Stopped.");
        writer.Flush();
        return 0;
    }
}
