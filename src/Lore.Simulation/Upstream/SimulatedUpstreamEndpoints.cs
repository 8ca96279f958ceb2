using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.AI;

namespace Lore.Simulation.Upstream;

/// <summary>
/// A SIMULATION, not a model: the simulated workplace's agent (<see cref="SimulatedAgentChatClient"/>) served over the
/// OpenAI chat-completions protocol (buffered and SSE streaming, tool calls), so the proxy can be tried end to end with
/// no model endpoint, and tests and benchmarks have a real HTTP upstream. Every response says it is simulated: the model
/// is <c>lore-simulated-agent</c>, <c>system_fingerprint</c> is <c>lore-simulation</c> and the header
/// <c>X-Lore-Simulated: true</c> is set. It needs no key: it holds no data, only a deterministic stand-in agent.
/// It lives with the simulation, not the server, so a production server never ships it; <c>lore serve --upstream
/// simulated</c> maps it next to the server and points the proxy at it.
/// </summary>
public static class SimulatedUpstreamEndpoints
{
    /// <summary>Where <c>lore serve --upstream simulated</c> mounts it (the proxy's upstream is then this relative URL).</summary>
    public const string Prefix = "/simulated/v1";

    /// <summary>The response header that labels every answer as simulated.</summary>
    public const string SimulatedHeader = "X-Lore-Simulated";

    private const string Fingerprint = "lore-simulation";

    /// <summary>Maps <c>{prefix}/chat/completions</c> and <c>{prefix}/models</c> on any app (the bench hosts it alone).</summary>
    public static IEndpointConventionBuilder MapSimulatedUpstream(this IEndpointRouteBuilder routes, string prefix = Prefix, int seed = 0)
    {
        ArgumentNullException.ThrowIfNull(routes);
        var agent = new SimulatedAgentChatClient(seed: seed);
        var group = routes.MapGroup(prefix).AllowAnonymous();
        group.MapPost("/chat/completions", (HttpContext context) => CompleteAsync(context, agent));
        group.MapGet("/models", (HttpContext context) =>
        {
            context.Response.Headers[SimulatedHeader] = "true";
            return Results.Json(new JsonObject
            {
                ["object"] = "list",
                ["data"] = new JsonArray(new JsonObject
                {
                    ["id"] = SimulatedAgentChatClient.ModelId,
                    ["object"] = "model",
                    ["created"] = 0,
                    ["owned_by"] = Fingerprint,
                }),
            });
        });
        return group;
    }

    private static async Task CompleteAsync(HttpContext context, SimulatedAgentChatClient agent)
    {
        context.Response.Headers[SimulatedHeader] = "true";
        JsonObject request;
        List<ChatMessage> messages;
        try
        {
            var node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted).ConfigureAwait(false);
            (request, messages) = SimulatedRequest.Read(node);
        }
        catch (JsonException e)
        {
            await WriteErrorAsync(context, "$", $"the body is not valid JSON: {e.Message}").ConfigureAwait(false);
            return;
        }
        catch (SimulatedRequestException e)
        {
            await WriteErrorAsync(context, e.Field, e.Message).ConfigureAwait(false);
            return;
        }

        var response = await agent.GetResponseAsync(messages, cancellationToken: context.RequestAborted).ConfigureAwait(false);
        var message = response.Messages[^1];
        var text = message.Text;
        var calls = message.Contents.OfType<FunctionCallContent>().ToArray();
        var finish = calls.Length > 0 ? "tool_calls" : "stop";
        var id = "chatcmpl-" + (response.ResponseId ?? Guid.NewGuid().ToString("n"));
        var created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var usage = new JsonObject
        {
            ["prompt_tokens"] = response.Usage?.InputTokenCount ?? 0,
            ["completion_tokens"] = response.Usage?.OutputTokenCount ?? 0,
            ["total_tokens"] = response.Usage?.TotalTokenCount ?? 0,
        };

        if (request["stream"] is JsonValue stream && stream.GetValueKind() == JsonValueKind.True)
        {
            var includeUsage = request["stream_options"]?["include_usage"] is JsonValue u && u.GetValueKind() == JsonValueKind.True;
            await StreamAsync(context, id, created, text, calls, finish, includeUsage ? usage : null).ConfigureAwait(false);
            return;
        }

        var json = new JsonObject
        {
            ["id"] = id,
            ["object"] = "chat.completion",
            ["created"] = created,
            ["model"] = SimulatedAgentChatClient.ModelId,
            ["system_fingerprint"] = Fingerprint,
            ["choices"] = new JsonArray(new JsonObject
            {
                ["index"] = 0,
                ["message"] = new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = string.IsNullOrEmpty(text) ? null : text,
                    ["tool_calls"] = calls.Length == 0 ? null : new JsonArray([.. calls.Select(c => (JsonNode)SimulatedRequest.WriteToolCall(c))]),
                },
                ["finish_reason"] = finish,
            }),
            ["usage"] = usage,
        };
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(json.ToJsonString(), context.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>SSE as OpenAI streams it: a role chunk, content in pieces, each tool call's id and name then its arguments in two fragments, the finish, optional usage, <c>[DONE]</c>.</summary>
    private static async Task StreamAsync(HttpContext context, string id, long created, string? text, FunctionCallContent[] calls, string finish, JsonObject? usage)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var cancel = context.RequestAborted;

        await SendAsync(Chunk(new JsonObject { ["role"] = "assistant", ["content"] = "" }, null)).ConfigureAwait(false);
        if (!string.IsNullOrEmpty(text))
        {
            foreach (var piece in Pieces(text, 3))
            {
                await SendAsync(Chunk(new JsonObject { ["content"] = piece }, null)).ConfigureAwait(false);
            }
        }

        for (var i = 0; i < calls.Length; i++)
        {
            var whole = SimulatedRequest.WriteToolCall(calls[i], i);
            var arguments = whole["function"]!["arguments"]!.GetValue<string>();
            whole["function"]!["arguments"] = "";
            await SendAsync(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(whole) }, null)).ConfigureAwait(false);
            foreach (var fragment in Pieces(arguments, 2))
            {
                var delta = new JsonObject { ["index"] = i, ["function"] = new JsonObject { ["arguments"] = fragment } };
                await SendAsync(Chunk(new JsonObject { ["tool_calls"] = new JsonArray(delta) }, null)).ConfigureAwait(false);
            }
        }

        await SendAsync(Chunk(new JsonObject(), finish)).ConfigureAwait(false);
        if (usage is not null)
        {
            var last = Chunk(null, null);
            last["choices"] = new JsonArray();
            last["usage"] = usage;
            await SendAsync(last).ConfigureAwait(false);
        }

        await context.Response.WriteAsync("data: [DONE]\n\n", cancel).ConfigureAwait(false);
        await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);

        JsonObject Chunk(JsonObject? delta, string? finishReason)
        {
            var chunk = new JsonObject
            {
                ["id"] = id,
                ["object"] = "chat.completion.chunk",
                ["created"] = created,
                ["model"] = SimulatedAgentChatClient.ModelId,
                ["system_fingerprint"] = Fingerprint,
            };
            if (delta is not null)
            {
                chunk["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["delta"] = delta, ["finish_reason"] = finishReason });
            }

            return chunk;
        }

        async Task SendAsync(JsonObject chunk)
        {
            await context.Response.WriteAsync("data: " + chunk.ToJsonString() + "\n\n", cancel).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
        }
    }

    /// <summary>Splits text into at most <paramref name="count"/> contiguous pieces (so the caller must join deltas).</summary>
    private static IEnumerable<string> Pieces(string text, int count)
    {
        var size = Math.Max(1, (text.Length + count - 1) / count);
        for (var start = 0; start < text.Length; start += size)
        {
            yield return text.Substring(start, Math.Min(size, text.Length - start));
        }
    }

    /// <summary>An error in OpenAI's shape, so clients report it as they would a real provider's.</summary>
    private static Task WriteErrorAsync(HttpContext context, string param, string message)
    {
        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        context.Response.ContentType = "application/json";
        var error = new JsonObject
        {
            ["error"] = new JsonObject
            {
                ["message"] = message,
                ["type"] = "invalid_request_error",
                ["param"] = param,
                ["code"] = null,
            },
        };
        return context.Response.WriteAsync(error.ToJsonString(), context.RequestAborted);
    }
}
