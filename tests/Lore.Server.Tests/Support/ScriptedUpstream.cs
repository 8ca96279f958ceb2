using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Server.Tests.Support;

/// <summary>
/// A real OpenAI-compatible upstream on a loopback port whose answer the test scripts: it records every request body it
/// receives (what the proxy actually forwarded), so tests can check injection and pass-through byte for byte.
/// </summary>
internal sealed class ScriptedUpstream : IAsyncDisposable
{
    private readonly WebApplication _app;

    private ScriptedUpstream(WebApplication app, Uri baseAddress)
    {
        _app = app;
        BaseAddress = baseAddress;
    }

    /// <summary>For example <c>http://127.0.0.1:41234/v1/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>Bodies received at <c>/v1/chat/completions</c>, in order.</summary>
    public ConcurrentQueue<JsonObject> Received { get; } = new();

    /// <summary>Authorization headers received (to check the proxy sends the upstream key, never the caller's).</summary>
    public ConcurrentQueue<string> Authorizations { get; } = new();

    public static async Task<ScriptedUpstream> StartAsync(Func<HttpContext, JsonObject, Task> respond)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        ScriptedUpstream? upstream = null;
        app.MapPost("/v1/chat/completions", async (HttpContext context) =>
        {
            var body = (JsonObject)(await JsonNode.ParseAsync(context.Request.Body))!;
            upstream!.Received.Enqueue(body);
            upstream.Authorizations.Enqueue(context.Request.Headers.Authorization.ToString());
            await respond(context, body);
        });
        await app.StartAsync(TestContext.Current.CancellationToken);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        upstream = new ScriptedUpstream(app, new Uri(address.TrimEnd('/') + "/v1/"));
        return upstream;
    }

    /// <summary>An upstream that answers with the system messages it received, so the caller can read what was injected.</summary>
    public static Task<ScriptedUpstream> EchoSystemMessagesAsync()
        => StartAsync(async (context, body) =>
        {
            var system = string.Join("\n---\n", ((JsonArray)body["messages"]!)
                .Where(m => (string?)m!["role"] == "system")
                .Select(m => (string?)m!["content"]));
            var completion = new JsonObject
            {
                ["id"] = "chatcmpl-echo",
                ["object"] = "chat.completion",
                ["created"] = 0,
                ["model"] = "echo",
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = new JsonObject { ["role"] = "assistant", ["content"] = system },
                    ["finish_reason"] = "stop",
                }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 1, ["completion_tokens"] = 1, ["total_tokens"] = 2 },
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(completion.ToJsonString());
        });

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
