using System.Net;
using System.Net.Http.Headers;
using Lore.Server.Security;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Proxy;

/// <summary>
/// Registers and maps the OpenAI-compatible proxy: <c>POST /v1/chat/completions</c> and <c>GET /v1/models</c>.
/// </summary>
internal static class OpenAiProxyEndpoints
{
    public static void AddServices(IServiceCollection services)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton<UpstreamEndpoint>();
        services.AddSingleton(sp => new ProxyEpisodes(sp.GetRequiredService<LoreServerOptions>().TimeProvider));
        services.AddSingleton<ChatCompletionsProxy>();
        services.AddHttpForwarder();
        services.AddSingleton<UpstreamForwarding>();

        // GET /v1/models only; chat completions go through UpstreamForwarding.
        services.AddHttpClient(UpstreamEndpoint.HttpClientName, client =>
            {
                // Long generations stream for minutes; the caller's own disconnect cancels sooner.
                client.Timeout = TimeSpan.FromMinutes(10);
            })
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler
            {
                AutomaticDecompression = DecompressionMethods.All,
                PooledConnectionLifetime = TimeSpan.FromMinutes(5),
                UseCookies = false,
                AllowAutoRedirect = false,
            })
            .SetHandlerLifetime(Timeout.InfiniteTimeSpan)

            // The default logging handlers would log every upstream request; the proxy logs failures itself, without secrets.
            .RemoveAllLoggers();
    }

    public static void Map(WebApplication app)
    {
        ArgumentNullException.ThrowIfNull(app);
        app.MapPost("/v1/chat/completions", (HttpContext context, ChatCompletionsProxy proxy) => proxy.HandleAsync(context))
            .RequireAuthorization(LorePolicies.Agent)
            .WithSummary("OpenAI-compatible chat completions: lessons injected, the call forwarded upstream and recorded as a step of its episode.")
            .WithDescription(
                "Acknowledgement: a 200 means the upstream answered. By default the call's steps are then queued for the store " +
                "(X-Lore-Recorded: queued) and are lost if the server dies before its capture writer flushes. With the request " +
                "header 'X-Lore-Durable: true' (or 'lore serve --durable') the steps are stored before the answer is released " +
                "(X-Lore-Recorded: stored; for a stream, before-end: stored before the stream ends), and a 503 replaces the answer " +
                "when they cannot be stored. Lore's own errors use OpenAI's shape {\"error\":{\"message\",\"type\",\"param\",\"code\"}}.");
        app.MapGet("/v1/models", ListModelsAsync).RequireAuthorization(LorePolicies.Agent);

        // Registered once the app has started, so that it runs before the tenant runtimes are disposed (stopping
        // callbacks run last-registered first): open episodes end while their runtime can still record the end.
        var lifetime = app.Lifetime;
        lifetime.ApplicationStarted.Register(() => lifetime.ApplicationStopping.Register(
            () => app.Services.GetRequiredService<ProxyEpisodes>().DisposeAsync().AsTask().GetAwaiter().GetResult()));
    }

    /// <summary><c>GET /v1/models</c>: the upstream's list, status and body as they are.</summary>
    private static async Task ListModelsAsync(HttpContext context, UpstreamEndpoint upstream, IHttpClientFactory clients, LoreServerOptions options)
    {
        if (upstream.BaseAddress is not { } baseAddress)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "No upstream configured", "the proxy has no upstream configured.").ConfigureAwait(false);
            return;
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(baseAddress, "models"));
        if (options.UpstreamApiKey is { Length: > 0 } key)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        try
        {
            using var response = await clients.CreateClient(UpstreamEndpoint.HttpClientName).SendAsync(request, context.RequestAborted).ConfigureAwait(false);
            var bytes = await response.Content.ReadAsByteArrayAsync(context.RequestAborted).ConfigureAwait(false);
            context.Response.StatusCode = (int)response.StatusCode;
            context.Response.ContentType = response.Content.Headers.ContentType?.ToString() ?? "application/json";
            if (response.Headers.TryGetValues(UpstreamEndpoint.SimulatedHeader, out var simulated))
            {
                context.Response.Headers[UpstreamEndpoint.SimulatedHeader] = simulated.ToArray();
            }

            await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
        }
        catch (HttpRequestException e)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status502BadGateway, "Upstream unreachable",
                $"the upstream at {baseAddress.GetLeftPart(UriPartial.Authority)} could not be reached: {e.Message}").ConfigureAwait(false);
        }
    }
}
