using System.Globalization;
using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Lore.Simulation;

/// <summary>
/// A stand-in for a tool-using model: it reads the ticket from the conversation, calls the workplace's tools one at a
/// time, reads their results and answers. It makes a real agent's characteristic mistakes at the rates of its
/// <see cref="SimulatedAgentProfile"/>, and avoids a mistake when a system message carries a lesson naming the tools
/// involved. Decisions depend only on the seed and the conversation, never on the clock, so runs are reproducible.
/// Use it behind <c>UseFunctionInvocation()</c>, which executes the calls it asks for.
/// </summary>
public sealed class SimulatedAgentChatClient : IChatClient
{
    /// <summary>The model id the agent reports in its responses.</summary>
    public const string ModelId = "lore-simulated-agent";

    private readonly ChatClientMetadata _metadata = new("lore-simulation", defaultModelId: ModelId);

    /// <summary>An agent with the given mistake rates (the default profile when null); the same <paramref name="seed"/> makes the same mistakes.</summary>
    public SimulatedAgentChatClient(SimulatedAgentProfile? profile = null, int seed = 0)
    {
        Profile = (profile ?? SimulatedAgentProfile.Default).Validate();
        Seed = seed;
    }

    /// <summary>How often the agent makes each typical mistake, validated when the client is made.</summary>
    public SimulatedAgentProfile Profile { get; }

    /// <summary>The seed of the agent's mistakes, so a run can be repeated exactly.</summary>
    public int Seed { get; }

    /// <inheritdoc />
    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(messages);
        cancellationToken.ThrowIfCancellationRequested();
        var list = messages as IReadOnlyList<ChatMessage> ?? messages.ToList();
        var view = ConversationView.Read(list);
        var action = NextAction(view);
        var content = action switch
        {
            CallTool call => (AIContent)new FunctionCallContent(
                string.Create(CultureInfo.InvariantCulture, $"call_{view.Calls.Count + 1}"),
                call.Name,
                call.Arguments.ToDictionary(a => a.Key, a => a.Value)),
            Answer answer => new TextContent(answer.Text),
            _ => throw new InvalidOperationException($"Unknown agent action {action.GetType().Name}."),
        };
        var message = new ChatMessage(ChatRole.Assistant, [content]) { MessageId = ResponseId(view) };
        var response = new ChatResponse(message)
        {
            ModelId = ModelId,
            ResponseId = message.MessageId,
            FinishReason = action is CallTool ? ChatFinishReason.ToolCalls : ChatFinishReason.Stop,
            Usage = new UsageDetails
            {
                InputTokenCount = EstimateTokens(list.Sum(m => m.Text.Length + m.Contents.OfType<FunctionResultContent>().Sum(r => ConversationView.ResultText(r).Length))),
                OutputTokenCount = EstimateTokens(action is Answer a ? a.Text.Length : 24),
            },
        };
        response.Usage.TotalTokenCount = response.Usage.InputTokenCount + response.Usage.OutputTokenCount;
        return Task.FromResult(response);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(
        IEnumerable<ChatMessage> messages,
        ChatOptions? options = null,
        [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = await GetResponseAsync(messages, options, cancellationToken).ConfigureAwait(false);
        foreach (var update in response.ToChatResponseUpdates())
        {
            yield return update;
        }
    }

    /// <inheritdoc />
    public object? GetService(Type serviceType, object? serviceKey = null)
    {
        ArgumentNullException.ThrowIfNull(serviceType);
        return serviceKey is not null ? null
            : serviceType == typeof(ChatClientMetadata) ? _metadata
            : serviceType.IsInstanceOfType(this) ? this
            : null;
    }

    /// <inheritdoc />
    public void Dispose()
    {
    }

    /// <summary>Replays the agent's policy against the calls already in the conversation and returns what comes next.</summary>
    private AgentAction NextAction(ConversationView view)
    {
        if (view.Task is null)
        {
            return new Answer("There is no ticket in this conversation; what should I work on?");
        }

        var policy = new AgentPolicy(Profile, Ticket.Read(view.Task), Temperament.Draw(Seed, view.Task), view.Instructions);
        var done = 0;
        foreach (var action in policy.Run())
        {
            if (action is not CallTool)
            {
                return action;
            }

            if (done == view.Calls.Count)
            {
                return action;
            }

            policy.LastResult = view.Calls[done].Result ?? "Error: the tool returned no result";
            done++;
        }

        return new Answer("I have nothing more to do on this ticket.");
    }

    private string ResponseId(ConversationView view)
        => string.Create(CultureInfo.InvariantCulture, $"sim-{(uint)StableHash.Mix(Seed, StableHash.Of(view.Task ?? ""), view.Calls.Count):x8}");

    private static long EstimateTokens(int characters) => Math.Max(1, characters / 4);
}
