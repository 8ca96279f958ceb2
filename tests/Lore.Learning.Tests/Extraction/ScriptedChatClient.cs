using Microsoft.Extensions.AI;

namespace Lore.Learning.Tests.Extraction;

/// <summary>A fake model: answers each request with whatever the script returns for it, and keeps every request.</summary>
internal sealed class ScriptedChatClient(Func<IReadOnlyList<ChatMessage>, int, string> script) : IChatClient
{
    private int _calls;

    public List<(IReadOnlyList<ChatMessage> Messages, ChatOptions? Options)> Requests { get; } = [];

    public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
    {
        var list = messages.ToList();
        int call;
        lock (Requests)
        {
            Requests.Add((list, options));
            call = _calls++;
        }

        return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, script(list, call))));
    }

    public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        => throw new NotSupportedException("The extractors ask for whole answers.");

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
