using System.Buffers;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Capture;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;

namespace Lore.Server.Proxy;

/// <summary>
/// <c>POST /v1/chat/completions</c>: forwards the caller's request to the upstream with its body unchanged except for
/// one system message carrying the lessons of the snapshot in effect for the caller's arm, relays the answer (SSE
/// chunks as they arrive), and records the call as steps of the caller's episode. The caller's OpenAI API key is its
/// Lore key; the upstream gets <see cref="LoreServerOptions.UpstreamApiKey"/>, never the caller's key.
/// </summary>
internal sealed partial class ChatCompletionsProxy(
    IHttpClientFactory clients,
    TenantRuntimes runtimes,
    ProxyEpisodes episodes,
    UpstreamEndpoint upstream,
    LoreServerOptions options,
    ILogger<ChatCompletionsProxy> logger)
{
    public const string EpisodeHeader = "X-Lore-Episode";
    public const string UnitHeader = "X-Lore-Unit";
    public const string TaskHeader = "X-Lore-Task";
    public const string LabelsHeader = "X-Lore-Labels";
    public const string EndHeader = "X-Lore-End";
    public const string SnapshotHeader = "X-Lore-Snapshot";
    public const string LessonsHeader = "X-Lore-Lessons";

    /// <summary>Request header: <c>true</c> asks for the call to be stored before the answer is released (durable mode).</summary>
    public const string DurableHeader = "X-Lore-Durable";

    /// <summary>
    /// Response header saying what was promised about the call's record: <c>queued</c> (default: handed to the capture
    /// writer, stored within its flush interval, lost if the process dies first), <c>stored</c> (durable mode: in the
    /// store before this answer was sent) or <c>before-end</c> (durable stream: stored before the stream ends).
    /// </summary>
    public const string RecordedHeader = "X-Lore-Recorded";

    private const int MaxTaskLength = 2000;

    /// <summary>Response headers that describe one hop, not the content: never relayed.</summary>
    private static readonly HashSet<string> HopHeaders = new(StringComparer.OrdinalIgnoreCase)
    {
        "Connection", "Keep-Alive", "Transfer-Encoding", "Upgrade", "Proxy-Connection", "Trailer", "TE",
        "Content-Length", "Content-Encoding", "Server", "Date", "Alt-Svc",
    };

    public async Task HandleAsync(HttpContext context)
    {
        var caller = Caller.From(context);
        var cancel = context.RequestAborted;

        // 1. Validate everything the proxy relies on before anything is forwarded or written.
        JsonObject body;
        List<ChatMessage> messages;
        EpisodeRequest episodeRequest;
        try
        {
            JsonNode? node;
            try
            {
                node = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: cancel).ConfigureAwait(false);
            }
            catch (JsonException e)
            {
                throw new ChatRequestException("$", $"the body is not valid JSON: {e.Message}");
            }

            messages = OpenAiChatFormat.ReadRequest(node);
            body = (JsonObject)node!;
            episodeRequest = Correlate(context.Request, body, messages);
            episodeRequest = episodeRequest with { Source = caller.SourceFor(episodeRequest.UnitKey) };
        }
        catch (ChatRequestException e)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid chat-completions request", e.Message, e.Field).ConfigureAwait(false);
            return;
        }
        catch (BadHttpRequestException e)
        {
            await RequestProblem.WriteAsync(context, e.StatusCode, "Request rejected", e.Message, "$").ConfigureAwait(false);
            return;
        }

        if (upstream.BaseAddress is not { } baseAddress)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "No upstream configured",
                "the proxy has no upstream: set LoreServerOptions.UpstreamBaseUrl (lore serve --upstream URL) or turn on the simulated upstream.").ConfigureAwait(false);
            return;
        }

        var runtime = await runtimes.GetAsync(caller.Tenant, cancel).ConfigureAwait(false);
        OpenEpisode episode;
        try
        {
            episode = await episodes.OpenAsync(runtime, episodeRequest, cancel).ConfigureAwait(false);
        }
        catch (EpisodeConflictException e)
        {
            await RequestProblem.WriteAsync(context, StatusCodes.Status409Conflict, "Episode cannot be continued", e.Message, EpisodeHeader).ConfigureAwait(false);
            return;
        }

        var scope = episode.Scope;
        var at = runtime.TimeProvider.GetUtcNow();
        var started = Stopwatch.GetTimestamp();
        var injection = await InjectAsync(runtime, scope, body, messages, cancel).ConfigureAwait(false);

        var headers = context.Response.Headers;
        headers[EpisodeHeader] = scope.Id;
        headers[SnapshotHeader] = scope.SnapshotId ?? "none";
        headers[LessonsHeader] = string.Join(',', injection.InjectedIds);

        var durable = options.ProxyDurableByDefault || IsTrue(context.Request.Headers[DurableHeader]);
        ChatMessage? answer = null;
        string? model = OpenAiChatFormat.StringOf(body["model"]);
        UsageDetails? usage = null;
        string? error = null;
        byte[]? heldBody = null;
        var awaitsRecord = false;
        scope.CallStarted();
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(baseAddress, "chat/completions"))
            {
                Content = new ByteArrayContent(JsonSerializer.SerializeToUtf8Bytes(body, ProxyJson.Default.JsonNode)),
            };
            request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
            if (options.UpstreamApiKey is { Length: > 0 } key)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            }

            HttpResponseMessage response;
            try
            {
                response = await clients.CreateClient(UpstreamEndpoint.HttpClientName)
                    .SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancel).ConfigureAwait(false);
            }
            catch (HttpRequestException e)
            {
                LogUpstreamUnreachable(logger, e, baseAddress.GetLeftPart(UriPartial.Authority));
                error = $"upstream unreachable: {e.Message}";
                await RequestProblem.WriteAsync(context, StatusCodes.Status502BadGateway, "Upstream unreachable",
                    $"the upstream at {baseAddress.GetLeftPart(UriPartial.Authority)} could not be reached: {e.Message}").ConfigureAwait(false);
                return;
            }
            catch (TaskCanceledException) when (!cancel.IsCancellationRequested)
            {
                error = "upstream timed out";
                await RequestProblem.WriteAsync(context, StatusCodes.Status504GatewayTimeout, "Upstream timed out",
                    $"the upstream at {baseAddress.GetLeftPart(UriPartial.Authority)} did not answer in time.").ConfigureAwait(false);
                return;
            }

            using (response)
            {
                context.Response.StatusCode = (int)response.StatusCode;
                CopyHeaders(response, context.Response);
                var streamed = response.IsSuccessStatusCode && response.Content.Headers.ContentType?.MediaType == "text/event-stream";
                if (streamed)
                {
                    headers[RecordedHeader] = durable ? "before-end" : "queued";
                    awaitsRecord = durable;
                    var completion = await RelayStreamAsync(context, response, cancel).ConfigureAwait(false);
                    answer = completion.ToMessage();
                    model = completion.Model ?? model;
                    usage = completion.Usage;
                    if (!completion.Done)
                    {
                        error = cancel.IsCancellationRequested ? "the caller disconnected before the stream ended" : "the upstream's stream ended before [DONE]";
                    }
                }
                else
                {
                    var bytes = await response.Content.ReadAsByteArrayAsync(cancel).ConfigureAwait(false);
                    if (response.IsSuccessStatusCode)
                    {
                        (answer, var answeredModel, usage) = OpenAiChatFormat.ReadCompletion(bytes);
                        model = answeredModel ?? model;
                    }
                    else
                    {
                        error = OpenAiChatFormat.ErrorText((int)response.StatusCode, bytes);
                    }

                    if (durable && response.IsSuccessStatusCode)
                    {
                        // Durable: the answer is held until its step is in the store (below, in finally).
                        heldBody = bytes;
                        awaitsRecord = true;
                    }
                    else
                    {
                        headers[RecordedHeader] = "queued";
                        context.Response.ContentLength = bytes.Length;
                        await context.Response.Body.WriteAsync(bytes, cancel).ConfigureAwait(false);
                        await context.Response.CompleteAsync().ConfigureAwait(false);
                    }
                }
            }
        }
        catch (OperationCanceledException) when (cancel.IsCancellationRequested)
        {
            error ??= "the caller disconnected before the answer arrived";
            throw;
        }
        finally
        {
            // Also when the upstream failed or the caller went away: the request and the tool results it carried are
            // part of the trajectory, and the call is recorded as failed, never as an empty answer.
            var facts = new ModelCallFacts(at, Stopwatch.GetElapsedTime(started), model, usage, injection.InjectedIds, injection.ShadowIds) { Error = error, OfferedTools = OpenAiChatFormat.ToolNames(body) };
            var recorded = 0;
            try
            {
                recorded = await scope.RecordCallAsync(messages, answer is null ? [] : [answer], facts).ConfigureAwait(false);
            }
            finally
            {
                scope.CallFinished();
            }

            if (episodeRequest.Kind == CorrelationKind.None || IsTrue(context.Request.Headers[EndHeader]))
            {
                await episodes.EndAsync(episode).ConfigureAwait(false);
            }

            if (awaitsRecord && !cancel.IsCancellationRequested)
            {
                await AnswerDurablyAsync(context, runtime, scope.Id, recorded, heldBody, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Durable mode: writes the held answer only once the call's steps are in the store (capture flushed, then the
    /// episode read back). When they cannot be stored the caller gets 503 instead of the answer, so a 200 in durable
    /// mode always means the step is stored; for a stream, whose answer has already gone out, the response ends only
    /// after the steps are stored (or is aborted when they are not).
    /// </summary>
    private async Task AnswerDurablyAsync(HttpContext context, LoreRuntime runtime, string episodeId, int recorded, byte[]? heldBody, CancellationToken cancel)
    {
        string? problem = null;
        try
        {
            await runtime.FlushAsync(cancel).ConfigureAwait(false);
            var stored = await runtime.Store.GetEpisodeAsync(episodeId, cancel).ConfigureAwait(false);
            if (recorded == 0 || stored is null || stored.Steps.Count < recorded)
            {
                problem = recorded == 0
                    ? "the episode had already ended, so this call could not be recorded"
                    : "the store did not accept the call's steps (see the server log)";
            }
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            LogDurableWriteFailed(logger, e, episodeId);
            problem = $"the store could not be written: {e.Message}";
        }

        if (heldBody is null)
        {
            if (problem is not null && context.Response.HasStarted)
            {
                // A stream already relayed: abort rather than end it cleanly, so the caller sees the failure.
                context.Abort();
            }

            return;
        }

        if (problem is not null)
        {
            context.Response.Headers.Remove(RecordedHeader);
            await RequestProblem.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, "Not recorded",
                $"the upstream answered, but {problem}; the answer is withheld because {DurableHeader} asked for it to be recorded first. Retry the call.").ConfigureAwait(false);
            return;
        }

        context.Response.Headers[RecordedHeader] = "stored";
        context.Response.ContentLength = heldBody.Length;
        await context.Response.Body.WriteAsync(heldBody, cancel).ConfigureAwait(false);
        await context.Response.CompleteAsync().ConfigureAwait(false);
    }

    /// <summary>Relays the upstream's events byte for byte, flushing after each read, and rebuilds the answer from copies.</summary>
    private static async Task<StreamedCompletion> RelayStreamAsync(HttpContext context, HttpResponseMessage response, CancellationToken cancel)
    {
        context.Features.Get<IHttpResponseBodyFeature>()?.DisableBuffering();
        var completion = new StreamedCompletion();
        var buffer = ArrayPool<byte>.Shared.Rent(16 * 1024);
        try
        {
            var source = await response.Content.ReadAsStreamAsync(cancel).ConfigureAwait(false);
            await using (source.ConfigureAwait(false))
            {
                await context.Response.StartAsync(cancel).ConfigureAwait(false);
                int read;
                while ((read = await source.ReadAsync(buffer, cancel).ConfigureAwait(false)) > 0)
                {
                    await context.Response.Body.WriteAsync(buffer.AsMemory(0, read), cancel).ConfigureAwait(false);
                    await context.Response.Body.FlushAsync(cancel).ConfigureAwait(false);
                    completion.Feed(buffer.AsSpan(0, read));
                }
            }

            completion.Complete();
            return completion;
        }
        catch (Exception e) when (e is OperationCanceledException or IOException or HttpRequestException)
        {
            // The caller went away or the upstream broke off: what arrived so far is still recorded.
            completion.Complete();
            return completion;
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    /// <summary>Retrieves the lessons for this call (the episode's snapshot, fixed at its start) and inserts them after the leading system messages.</summary>
    private static async ValueTask<Injection> InjectAsync(LoreRuntime runtime, EpisodeScope scope, JsonObject body, List<ChatMessage> messages, CancellationToken cancel)
    {
        var index = scope.Index;
        var shadowIndex = scope.ShadowIndex;
        if (index.Count == 0 && (shadowIndex is null || shadowIndex.Count == 0))
        {
            return Injection.None;
        }

        var turn = LatestUserText(messages);
        var tools = OpenAiChatFormat.ToolNames(body);
        RetrievalResult result;
        RetrievalResult? shadow;
        if (scope.CachedRetrieval(turn, tools) is { } cached)
        {
            (result, shadow) = cached;
        }
        else
        {
            var query = new RetrievalQuery
            {
                Task = scope.Task,
                Turn = turn,
                Tenant = runtime.Tenant,
                UnitKey = scope.UnitKey,
                Labels = scope.Labels,
                AvailableTools = tools,
            };
            result = await runtime.RetrieveAsync(index, query, cancel).ConfigureAwait(false);
            shadow = shadowIndex is null ? null : await runtime.RetrieveAsync(shadowIndex, query, cancel).ConfigureAwait(false);
            scope.RememberRetrieval(turn, tools, result, shadow);
        }

        IReadOnlyList<string> shadowIds = shadow is null || shadow.Lessons.Count == 0 ? [] : [.. shadow.Lessons.Select(l => l.Lesson.Id)];
        if (result.Section is null)
        {
            return new Injection([], shadowIds);
        }

        var position = 0;
        while (position < messages.Count && messages[position].Role == ChatRole.System)
        {
            position++;
        }

        ((JsonArray)body["messages"]!).Insert(position, new JsonObject { ["role"] = "system", ["content"] = result.Section });
        scope.NoteInjected(result.Lessons);
        return new Injection([.. result.Lessons.Select(l => l.Lesson.Id)], shadowIds);
    }

    /// <summary>Which episode the call belongs to: <c>X-Lore-Episode</c>, else the <c>user</c> field, else a one-call episode.</summary>
    private static EpisodeRequest Correlate(HttpRequest request, JsonObject body, List<ChatMessage> messages)
    {
        var user = OpenAiChatFormat.StringOf(body["user"]);
        user = string.IsNullOrWhiteSpace(user) ? null : user.Trim();
        var unit = request.Headers[UnitHeader].ToString().Trim();
        if (unit.Length > 200)
        {
            throw new ChatRequestException(UnitHeader, $"{UnitHeader} must be at most 200 characters.");
        }

        var task = request.Headers[TaskHeader].ToString().Trim();
        if (task.Length == 0)
        {
            task = messages.FirstOrDefault(m => m.Role == ChatRole.User && !string.IsNullOrWhiteSpace(m.Text))?.Text.Trim() ?? "chat";
        }

        if (task.Length > MaxTaskLength)
        {
            task = task[..MaxTaskLength];
        }

        var labels = ReadLabels(request.Headers[LabelsHeader].ToString());
        var unitKey = unit.Length > 0 ? unit : user ?? "";
        var episodeId = request.Headers[EpisodeHeader].ToString().Trim();
        if (episodeId.Length > 0)
        {
            if (EpisodeIds.Problem(episodeId) is { } problem)
            {
                throw new ChatRequestException(EpisodeHeader, $"{EpisodeHeader} {problem}");
            }

            return new EpisodeRequest(CorrelationKind.Header, episodeId, unitKey, task, labels);
        }

        return user is not null
            ? new EpisodeRequest(CorrelationKind.User, user, unitKey, task, labels)
            : new EpisodeRequest(CorrelationKind.None, null, unitKey, task, labels);
    }

    /// <summary><c>X-Lore-Labels: slice=refunds, region=eu</c>.</summary>
    private static Dictionary<string, string> ReadLabels(string header)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal);
        if (string.IsNullOrWhiteSpace(header))
        {
            return labels;
        }

        foreach (var pair in header.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var equals = pair.IndexOf('=', StringComparison.Ordinal);
            if (equals <= 0 || equals == pair.Length - 1 || pair.Length > 200)
            {
                throw new ChatRequestException(LabelsHeader, $"{LabelsHeader} must be comma-separated key=value pairs; '{pair}' is not one.");
            }

            labels[pair[..equals].Trim()] = pair[(equals + 1)..].Trim();
        }

        return labels;
    }

    private static void CopyHeaders(HttpResponseMessage from, HttpResponse to)
    {
        foreach (var (name, values) in from.Headers)
        {
            if (!HopHeaders.Contains(name))
            {
                to.Headers[name] = values.ToArray();
            }
        }

        foreach (var (name, values) in from.Content.Headers)
        {
            if (!HopHeaders.Contains(name))
            {
                to.Headers[name] = values.ToArray();
            }
        }
    }

    private static string? LatestUserText(List<ChatMessage> messages)
    {
        for (var i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == ChatRole.User)
            {
                return messages[i].Text;
            }
        }

        return null;
    }

    private static bool IsTrue(Microsoft.Extensions.Primitives.StringValues value)
        => value.Count > 0 && (string.Equals(value[0], "true", StringComparison.OrdinalIgnoreCase) || value[0] == "1");

    [LoggerMessage(Level = LogLevel.Error, Message = "A durable proxy call of episode {EpisodeId} could not be stored; the caller got 503.")]
    private static partial void LogDurableWriteFailed(ILogger logger, Exception exception, string episodeId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The proxy's upstream at {Upstream} could not be reached.")]
    private static partial void LogUpstreamUnreachable(ILogger logger, Exception exception, string upstream);

    private sealed record Injection(IReadOnlyList<string> InjectedIds, IReadOnlyList<string> ShadowIds)
    {
        public static readonly Injection None = new([], []);
    }
}

/// <summary>Source-generated JSON metadata for the proxy's bodies (no reflection on the request path).</summary>
[System.Text.Json.Serialization.JsonSerializable(typeof(JsonNode))]
internal sealed partial class ProxyJson : System.Text.Json.Serialization.JsonSerializerContext;
