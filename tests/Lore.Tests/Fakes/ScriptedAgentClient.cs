using System.Runtime.CompilerServices;
using Microsoft.Extensions.AI;

namespace Lore.Tests.Fakes;

/// <summary>
/// A fake model for a refund task: it asks for <c>lookup_order</c> until it has seen the tool's result, then answers.
/// It keeps every request it received so tests can see exactly what Lore sent, and streams its answer in chunks.
/// </summary>
internal sealed class ScriptedAgentClient : IChatClient
{
    private int _calls;

    public ScriptedAgentClient(string toolName = "lookup_order", string answer = "Refunded order 1142 to the original card.")
    {
        ToolName = toolName;
        Answer = answer;
    }

    public string ToolName { get; }

    public string Answer { get; }

    /// <summary>Every request, as the list of messages this client received.</summary>
    public List<IReadOnlyList<ChatMessage>> Requests { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => Task.FromResult(Respond(messages));

    public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        var response = Respond(messages);
        foreach (var update in response.ToChatResponseUpdates())
        {
            if (update.Contents.OfType<TextContent>().SingleOrDefault() is { } text)
            {
                // Stream the answer word by word, as a real model does.
                foreach (var word in text.Text.Split(' '))
                {
                    await Task.Yield();
                    yield return new ChatResponseUpdate(ChatRole.Assistant, word + " ") { ResponseId = update.ResponseId, MessageId = update.MessageId, ModelId = update.ModelId };
                }

                continue;
            }

            await Task.Yield();
            yield return update;
        }
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }

    private ChatResponse Respond(IEnumerable<ChatMessage> messages)
    {
        var request = messages.ToList();
        Requests.Add(request);
        var call = Interlocked.Increment(ref _calls);
        var answered = request.SelectMany(m => m.Contents).OfType<FunctionResultContent>().Any();
        var message = answered
            ? new ChatMessage(ChatRole.Assistant, Answer)
            : new ChatMessage(ChatRole.Assistant, [new FunctionCallContent($"call-{call}", ToolName, new Dictionary<string, object?> { ["orderId"] = "1142" })]);
        message.MessageId = $"msg-{call}";
        return new ChatResponse(message)
        {
            ResponseId = $"resp-{call}",
            ModelId = "fake-model-1",
            Usage = new UsageDetails { InputTokenCount = 100 + call, OutputTokenCount = 10 + call },
        };
    }
}
