using System.Globalization;
using Lore.Hosting;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Lore.Server.Proxy;

/// <summary>
/// <c>POST /v1/chat/completions</c>: forwards the caller's request to the upstream with its body unchanged except for
/// one system message carrying the lessons of the snapshot in effect for the caller's arm, relays the answer (SSE
/// chunks as they arrive), and records the call as steps of the caller's episode. The caller's OpenAI API key is its
/// Lore key; the upstream gets <see cref="LoreServerOptions.UpstreamApiKey"/>, never the caller's key.
/// </summary>
internal sealed partial class ChatCompletionsProxy(
    UpstreamForwarding forwarding,
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

    /// <summary>The labels of a call without <c>X-Lore-Labels</c> (most calls): shared, never written to.</summary>
    private static readonly IReadOnlyDictionary<string, string> NoLabels = new Dictionary<string, string>(StringComparer.Ordinal).AsReadOnly();

    private UpstreamTarget? _target;
    private ChatClientMetadata? _metadata;
    private string? _authorization;

    public async Task HandleAsync(HttpContext context)
    {
        var caller = Caller.From(context);
        var cancel = context.RequestAborted;

        // 1. Validate everything the proxy relies on before anything is forwarded or written.
        ChatRequestBody body;
        EpisodeRequest episodeRequest;
        try
        {
            body = await ChatRequestBody.ReadAsync(context.Request, cancel).ConfigureAwait(false);
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

        using (body)
        {
            try
            {
                episodeRequest = Correlate(context.Request, body.User, body.Messages);
                episodeRequest = episodeRequest with { Source = caller.SourceFor(episodeRequest.UnitKey) };
            }
            catch (ChatRequestException e)
            {
                await RequestProblem.WriteAsync(context, StatusCodes.Status400BadRequest, "Invalid chat-completions request", e.Message, e.Field).ConfigureAwait(false);
                return;
            }

            await ForwardAsync(context, caller, body, episodeRequest, cancel).ConfigureAwait(false);
        }
    }

    private async Task ForwardAsync(HttpContext context, Caller caller, ChatRequestBody body, EpisodeRequest episodeRequest, CancellationToken cancel)
    {
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

        var hosted = episode.Episode;
        var messages = body.Messages;

        // Lore's facts on the call's span and metrics, as UseLore records them; nothing is started when nobody listens.
        // From here an outcome for the episode waits until the call is recorded (below, in finally).
        var call = hosted.BeginCall(body.Model, HostedModelCall.TelemetryObserved ? Metadata(baseAddress, body.Model) : null);
        Injection injection;
        try
        {
            injection = await InjectAsync(call, body, cancel).ConfigureAwait(false);
        }
        catch (Exception e)
        {
            // Never sent: recorded as a failed call, so the episode's running calls drain and its outcome is not held up.
            await call.EndAsync(new ModelCallObservation(messages, []) { Model = body.Model, Error = "lessons could not be retrieved: " + e.Message, ErrorType = e.GetType().FullName, OfferedTools = body.ToolNames }).ConfigureAwait(false);
            throw;
        }

        var headers = context.Response.Headers;
        headers[EpisodeHeader] = hosted.Id;
        headers[SnapshotHeader] = hosted.SnapshotId ?? "none";
        headers[LessonsHeader] = call.InjectedLessonIds.Count == 0 ? "" : string.Join(',', call.InjectedLessonIds);
        var durable = options.ProxyDurableByDefault || IsTrue(context.Request.Headers[DurableHeader]);
        ChatMessage? answer = null;
        var model = body.Model;
        UsageDetails? usage = null;
        string? error = null;
        byte[]? heldBody = null;
        var awaitsRecord = false;
        var forwarded = ForwarderError.None;
        var exchange = new UpstreamExchange(ChatCompletionsAddress(baseAddress), body.WithLessonsMessage(injection.Message), UpstreamAuthorization(), durable);
        try
        {
            exchange.Begin(context);
            forwarded = await forwarding.Forwarder.SendAsync(context, baseAddress.AbsoluteUri, forwarding.Invoker, UpstreamForwarding.RequestConfig, exchange).ConfigureAwait(false);
            exchange.Untap(context);
            var authority = baseAddress.GetLeftPart(UriPartial.Authority);
            switch (forwarded)
            {
                case ForwarderError.None:
                    break;
                case ForwarderError.RequestCanceled or ForwarderError.RequestBodyCanceled or ForwarderError.RequestBodyClient:
                    error = "the caller disconnected before the answer arrived";
                    break;
                case ForwarderError.RequestTimedOut:
                    error = "upstream timed out";
                    await WriteProblemAsync(context, StatusCodes.Status504GatewayTimeout, "Upstream timed out",
                        $"the upstream at {authority} did not answer in time.").ConfigureAwait(false);
                    break;
                case ForwarderError.Request or ForwarderError.RequestCreation or ForwarderError.RequestBodyDestination:
                    var failure = context.GetForwarderErrorFeature()?.Exception;
                    LogUpstreamUnreachable(logger, failure, authority);
                    error = $"upstream unreachable: {failure?.Message}";
                    await WriteProblemAsync(context, StatusCodes.Status502BadGateway, "Upstream unreachable",
                        $"the upstream at {authority} could not be reached: {failure?.Message}").ConfigureAwait(false);
                    break;
                default:
                    // The answer broke off: the caller went away, or the upstream stopped mid-answer (YARP then resets
                    // the caller's connection so a cut answer is never taken for a whole one).
                    error = cancel.IsCancellationRequested ? "the caller disconnected before the answer arrived" : "the upstream broke off its answer";
                    await WriteProblemAsync(context, StatusCodes.Status502BadGateway, "Upstream answer broken off",
                        $"the upstream at {authority} stopped before its answer was complete.").ConfigureAwait(false);
                    break;
            }

            if (exchange.Streamed)
            {
                var completion = exchange.Completion!;
                completion.Complete();
                awaitsRecord = durable && forwarded == ForwarderError.None;
                answer = completion.ToMessage();
                model = completion.Model ?? model;
                usage = completion.Usage;
                if (!completion.Done)
                {
                    error ??= cancel.IsCancellationRequested ? "the caller disconnected before the stream ended" : "the upstream's stream ended before [DONE]";
                }
            }
            else if (exchange.Status is { } status && forwarded == ForwarderError.None)
            {
                if (exchange.HeldBody is { } held)
                {
                    // Durable: the answer is held until its step is in the store (below, in finally).
                    (answer, var answeredModel, usage) = ChatMessageReader.ReadCompletion(held);
                    model = answeredModel ?? model;
                    heldBody = held;
                    awaitsRecord = true;
                }
                else
                {
                    // The answer has gone out whole: let the caller have it before the copy is read for capture.
                    await context.Response.CompleteAsync().ConfigureAwait(false);
                    if (status is >= 200 and < 300)
                    {
                        (answer, var answeredModel, usage) = ChatMessageReader.ReadCompletion(exchange.CopiedBody);
                        model = answeredModel ?? model;
                    }
                    else
                    {
                        error = OpenAiChatFormat.ErrorText(status, exchange.CopiedBody);
                    }
                }
            }
        }
        finally
        {
            exchange.Untap(context);
            exchange.Dispose();
            injection.Dispose();

            // Also when the upstream failed or the caller went away: the request and the tool results it carried are
            // part of the trajectory, and the call is recorded as failed, never as an empty answer.
            var errorType = error is null ? null
                : exchange.Status is >= 400 and var failed ? failed.ToString(CultureInfo.InvariantCulture)
                : forwarded != ForwarderError.None ? forwarded.ToString()
                : "incomplete_answer";
            var recorded = await call.EndAsync(new ModelCallObservation(messages, answer is null ? [] : [answer])
            {
                Model = model,
                Usage = usage,
                Error = error,
                ErrorType = errorType,
                OfferedTools = body.ToolNames,
            }).ConfigureAwait(false);

            if (episodeRequest.Kind == CorrelationKind.None || IsTrue(context.Request.Headers[EndHeader]))
            {
                await episodes.EndAsync(episode).ConfigureAwait(false);
            }

            if (awaitsRecord && !cancel.IsCancellationRequested)
            {
                await AnswerDurablyAsync(context, runtime, hosted.Id, recorded, heldBody, cancel).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Lore's own refusal, unless the caller has already been sent part of an answer (then YARP has reset it).</summary>
    private static Task WriteProblemAsync(HttpContext context, int status, string title, string detail)
        => context.Response.HasStarted || context.RequestAborted.IsCancellationRequested
            ? Task.CompletedTask
            : RequestProblem.WriteAsync(context, status, title, detail);

    private Uri ChatCompletionsAddress(Uri baseAddress)
    {
        var cached = _target;
        if (cached is null || !ReferenceEquals(cached.Base, baseAddress) && cached.Base != baseAddress)
        {
            _target = cached = new UpstreamTarget(baseAddress, new Uri(baseAddress, "chat/completions"));
        }

        return cached.Address;
    }

    /// <summary>The upstream as the GenAI conventions name a provider (an OpenAI-compatible one), for the call's span and metrics.</summary>
    private ChatClientMetadata Metadata(Uri baseAddress, string? model)
    {
        var cached = _metadata;
        if (cached is null || cached.ProviderUri != baseAddress || cached.DefaultModelId != model)
        {
            _metadata = cached = new ChatClientMetadata("openai", baseAddress, model);
        }

        return cached;
    }

    private string? UpstreamAuthorization()
        => options.UpstreamApiKey is { Length: > 0 } key ? _authorization ??= "Bearer " + key : null;

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
            // The caller's tenant's episode: ids are unique per tenant, and another tenant's "ep-1" is none of its business.
            var stored = await runtime.Store.GetEpisodeAsync(runtime.Tenant, episodeId, cancel).ConfigureAwait(false);
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

    /// <summary>Retrieves the lessons for this call (the episode's snapshot, fixed at its start) and encodes their system message's content.</summary>
    private static async ValueTask<Injection> InjectAsync(HostedModelCall call, ChatRequestBody body, CancellationToken cancel)
    {
        var section = await call.RetrieveLessonsAsync(LatestUserText(body.Messages), body.ToolNames, cancel).ConfigureAwait(false);
        if (section is null)
        {
            return Injection.None;
        }

        return new Injection(EscapedJsonString.Of(section));
    }

    /// <summary>Which episode the call belongs to: <c>X-Lore-Episode</c>, else the <c>user</c> field, else a one-call episode.</summary>
    private static EpisodeRequest Correlate(HttpRequest request, string? user, List<ChatMessage> messages)
    {
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
    private static IReadOnlyDictionary<string, string> ReadLabels(string header)
    {
        if (string.IsNullOrWhiteSpace(header))
        {
            return NoLabels;
        }

        var labels = new Dictionary<string, string>(StringComparer.Ordinal);

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
    private static partial void LogUpstreamUnreachable(ILogger logger, Exception? exception, string upstream);

    /// <summary>The lessons' message for one call: its content as JSON string bytes (pooled).</summary>
    private sealed class Injection(EscapedJsonString? message) : IDisposable
    {
        private EscapedJsonString? _message = message;

        public static Injection None => new(null);

        /// <summary>The escaped content of the lessons' system message (without quotes), empty when nothing is injected.</summary>
        public ReadOnlyMemory<byte> Message => _message is null ? default : _message.Content;

        public void Dispose() => Interlocked.Exchange(ref _message, null)?.Dispose();
    }

    private sealed record UpstreamTarget(Uri Base, Uri Address);
}

