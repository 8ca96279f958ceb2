using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Lore.Cli.Tests;

/// <summary>
/// A stand-in for an external OpenAI-compatible model endpoint (<c>POST /v1/chat/completions</c>) on a loopback port:
/// it answers every request with a fixed text, fails with 500, or hangs until the caller gives up, and keeps each
/// request's model, Authorization header and body for the test to check.
/// </summary>
internal sealed class FakeChatCompletions : IAsyncDisposable
{
    public enum Behaviour
    {
        Answer,
        Fail,
        Hang,
    }

    private readonly WebApplication _app;

    private FakeChatCompletions(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>The endpoint's base URL, as a user gives it to Lore (ends in <c>/v1/</c>).</summary>
    public Uri BaseAddress { get; }

    /// <summary>The requests received: the Authorization header and the JSON body.</summary>
    public ConcurrentQueue<(string? Authorization, JsonElement Body)> Requests { get; } = new();

    public static async Task<FakeChatCompletions> StartAsync(Behaviour behaviour, string answer = "")
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        FakeChatCompletions? fake = null;
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = await JsonSerializer.DeserializeAsync<JsonElement>(context.Request.Body, cancellationToken: context.RequestAborted);
            fake!.Requests.Enqueue((context.Request.Headers.Authorization.ToString(), body));
            switch (behaviour)
            {
                case Behaviour.Fail:
                    return Results.Json(new { error = new { message = "the model is overloaded", type = "server_error" } }, statusCode: StatusCodes.Status500InternalServerError);
                case Behaviour.Hang:
                    using (var stop = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, app.Lifetime.ApplicationStopping))
                    {
                        await Task.Delay(Timeout.Infinite, stop.Token).ContinueWith(_ => { }, TaskScheduler.Default);
                    }

                    return Results.StatusCode(StatusCodes.Status504GatewayTimeout);
                default:
                    return Results.Json(new
                    {
                        id = "chatcmpl-fake",
                        @object = "chat.completion",
                        created = 1_767_225_600,
                        model = body.GetProperty("model").GetString(),
                        choices = new[] { new { index = 0, message = new { role = "assistant", content = answer }, finish_reason = "stop" } },
                        usage = new { prompt_tokens = 10, completion_tokens = 5, total_tokens = 15 },
                    });
            }
        });
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        fake = new FakeChatCompletions(app, new Uri(address.TrimEnd('/') + "/v1/"));
        return fake;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
