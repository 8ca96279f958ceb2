using System.ClientModel;
using System.ClientModel.Primitives;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.AI;
using OpenAI;
using OpenAI.Chat;
using AiChatMessage = OpenAI.Chat.ChatMessage;

namespace Lore.Simulation.OpenAi;

/// <summary>
/// Adds Lore's correlation headers to every request and keeps the Lore headers of every response, inside the OpenAI
/// SDK's own pipeline: an agent built on the SDK needs no other change to be captured and to see what was injected.
/// </summary>
public sealed class LoreHeadersPolicy : PipelinePolicy
{
    private readonly Lock _lock = new();
    private readonly List<IReadOnlyDictionary<string, string>> _responses = [];

    /// <summary>Headers added to every request (X-Lore-Episode, X-Lore-Unit, ...); change between calls.</summary>
    public Dictionary<string, string> Send { get; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The Lore headers of every response, in order.</summary>
    public IReadOnlyList<IReadOnlyDictionary<string, string>> Responses
    {
        get
        {
            lock (_lock)
            {
                return [.. _responses];
            }
        }
    }

    /// <inheritdoc />
    public override void Process(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Before(message);
        ProcessNext(message, pipeline, currentIndex);
        After(message);
    }

    /// <inheritdoc />
    public override async ValueTask ProcessAsync(PipelineMessage message, IReadOnlyList<PipelinePolicy> pipeline, int currentIndex)
    {
        Before(message);
        await ProcessNextAsync(message, pipeline, currentIndex).ConfigureAwait(false);
        After(message);
    }

    private void Before(PipelineMessage message)
    {
        foreach (var (name, value) in Send)
        {
            message.Request.Headers.Set(name, value);
        }
    }

    private void After(PipelineMessage message)
    {
        if (message.Response is not { } response)
        {
            return;
        }

        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, value) in response.Headers)
        {
            if (name.StartsWith("X-Lore-", StringComparison.OrdinalIgnoreCase))
            {
                seen[name] = value;
            }
        }

        lock (_lock)
        {
            _responses.Add(seen);
        }
    }
}

/// <summary>
/// Works one ticket of the simulated workplace through the official OpenAI SDK the way an agent written against OpenAI
/// would: the model (Lore's proxy, in front of the simulated agent) asks for tools, this side runs them on the
/// workplace and sends the results back, until the model answers. The environment then judges the outcome, so the
/// verdict comes from the workplace's state and not from what the model claims.
/// </summary>
public sealed class WorkplaceOverOpenAi
{
    /// <summary>The most model calls one ticket may take before it counts as stuck.</summary>
    public const int MaxTurns = 20;

    private const string SystemPrompt = "You are a customer-operations agent at Northwind Desk (a simulated workplace). Work the ticket with the tools you have, then reply with one short line saying what you did.";

    /// <summary>An OpenAI SDK client aimed at Lore's proxy, with Lore's headers on every call, and a fresh workplace.</summary>
    /// <param name="serverBase">Lore's base address (the proxy is at <c>v1/chat/completions</c> under it).</param>
    /// <param name="apiKey">A Lore API key (any role may use the proxy).</param>
    /// <param name="seed">The workplace's seed: the same seed gives the same customers and tickets.</param>
    public WorkplaceOverOpenAi(Uri serverBase, string apiKey, int seed = 7)
    {
        Headers = new LoreHeadersPolicy();
        var baseAddress = serverBase.AbsoluteUri.EndsWith('/') ? serverBase : new Uri(serverBase.AbsoluteUri + "/");
        var options = new OpenAIClientOptions { Endpoint = new Uri(baseAddress, "v1"), RetryPolicy = new ClientRetryPolicy(0) };
        options.AddPolicy(Headers, PipelinePosition.PerCall);
        Client = new ChatClient("gpt-4o-mini", new ApiKeyCredential(apiKey), options);
        Workplace = new Workplace(seed);
    }

    /// <summary>The OpenAI SDK chat client, pointed at the proxy; nothing about it is Lore-specific but the pipeline policy.</summary>
    public ChatClient Client { get; }

    /// <summary>The headers sent with each call and those Lore returned, so a caller can read the episode and injected lessons.</summary>
    public LoreHeadersPolicy Headers { get; }

    /// <summary>The simulated workplace whose tools this side runs and whose state judges each ticket.</summary>
    public Workplace Workplace { get; }

    /// <summary>Runs ticket <paramref name="index"/> as episode <paramref name="episodeId"/>; returns the verdict and what the model said last.</summary>
    /// <param name="index">Which ticket of the workplace to work (the same index gives the same ticket for a seed).</param>
    /// <param name="episodeId">The episode id sent to Lore, so the calls of one ticket are captured as one episode.</param>
    /// <param name="streaming">Whether the model is called with streaming, to exercise the proxy's streamed path.</param>
    /// <param name="cancellationToken">Stops the run between model calls.</param>
    public async Task<TicketRun> RunAsync(int index, string episodeId, bool streaming, CancellationToken cancellationToken)
    {
        var task = Workplace.CreateTask(index);
        var environment = Workplace.CreateEnvironment(task);
        Headers.Send["X-Lore-Episode"] = episodeId;
        Headers.Send["X-Lore-Unit"] = task.CustomerId;
        Headers.Send["X-Lore-Labels"] = $"slice={task.Slice}";
        var tools = environment.Tools.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var options = new ChatCompletionOptions();
        foreach (var tool in environment.Tools)
        {
            options.Tools.Add(ChatTool.CreateFunctionTool(tool.Name, tool.Description, BinaryData.FromString(tool.JsonSchema.GetRawText())));
        }

        List<AiChatMessage> messages = [new SystemChatMessage(SystemPrompt), new UserChatMessage(task.Text)];
        var first = Headers.Responses.Count;
        for (var turn = 0; turn < MaxTurns; turn++)
        {
            var (text, calls) = streaming
                ? await StreamAsync(messages, options, cancellationToken).ConfigureAwait(false)
                : await CompleteAsync(messages, options, cancellationToken).ConfigureAwait(false);
            if (calls.Count == 0)
            {
                return new TicketRun(task, environment.Judge(), text, [.. Headers.Responses.Skip(first)]);
            }

            messages.Add(new AssistantChatMessage(calls));
            foreach (var call in calls)
            {
                messages.Add(new ToolChatMessage(call.Id, await InvokeAsync(tools, call, cancellationToken).ConfigureAwait(false)));
            }
        }

        return new TicketRun(task, new WorkplaceVerdict(false, $"the model was still calling tools after {MaxTurns} turns"), "", [.. Headers.Responses.Skip(first)]);
    }

    /// <summary>Runs one tool call on the workplace; a call the tools cannot take is answered with an error, as a real tool runner would.</summary>
    private static async Task<string> InvokeAsync(Dictionary<string, AIFunction> tools, ChatToolCall call, CancellationToken cancellationToken)
    {
        if (!tools.TryGetValue(call.FunctionName, out var tool))
        {
            return $"Error: there is no tool named '{call.FunctionName}'.";
        }

        Dictionary<string, JsonElement>? parsed;
        try
        {
            parsed = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(call.FunctionArguments.ToString());
        }
        catch (JsonException e)
        {
            return $"Error: the arguments are not a JSON object: {e.Message}";
        }

        var arguments = (parsed ?? []).ToDictionary(p => p.Key, p => (object?)p.Value, StringComparer.Ordinal);
        var result = await tool.InvokeAsync(new AIFunctionArguments(arguments), cancellationToken).ConfigureAwait(false);
        return result is JsonElement { ValueKind: JsonValueKind.String } s ? s.GetString()! : result?.ToString() ?? "";
    }

    private async Task<(string Text, List<ChatToolCall> Calls)> CompleteAsync(List<AiChatMessage> messages, ChatCompletionOptions options, CancellationToken cancellationToken)
    {
        ChatCompletion completion = await Client.CompleteChatAsync(messages, options, cancellationToken).ConfigureAwait(false);
        return (string.Concat(completion.Content.Select(c => c.Text)), [.. completion.ToolCalls]);
    }

    private async Task<(string Text, List<ChatToolCall> Calls)> StreamAsync(List<AiChatMessage> messages, ChatCompletionOptions options, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        var calls = new SortedDictionary<int, (string? Id, string? Name, StringBuilder Arguments)>();
        await foreach (var update in Client.CompleteChatStreamingAsync(messages, options, cancellationToken).ConfigureAwait(false))
        {
            foreach (var part in update.ContentUpdate)
            {
                text.Append(part.Text);
            }

            foreach (var delta in update.ToolCallUpdates)
            {
                var call = calls.TryGetValue(delta.Index, out var existing) ? existing : (null, null, new StringBuilder());
                call.Id ??= delta.ToolCallId;
                call.Name ??= delta.FunctionName;
                call.Arguments.Append(delta.FunctionArgumentsUpdate?.ToString());
                calls[delta.Index] = call;
            }
        }

        return (text.ToString(), [.. calls.Values.Select(c => ChatToolCall.CreateFunctionToolCall(c.Id ?? "", c.Name ?? "", BinaryData.FromString(c.Arguments.ToString())))]);
    }
}

/// <summary>One ticket worked through the proxy: the environment's verdict and the Lore headers of each model call.</summary>
/// <param name="Task">The ticket that was worked.</param>
/// <param name="Verdict">The workplace's judgement from its own state, not from what the model claimed.</param>
/// <param name="FinalText">The model's last answer (empty when it never stopped calling tools).</param>
/// <param name="Calls">The Lore response headers of each model call, in order.</param>
public sealed record TicketRun(WorkplaceTask Task, WorkplaceVerdict Verdict, string FinalText, IReadOnlyList<IReadOnlyDictionary<string, string>> Calls);
