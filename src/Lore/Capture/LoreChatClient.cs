using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>
/// Chat middleware that injects the relevant lessons of the snapshot in effect and records the call, its tool
/// calls and results into the ambient episode. Recording never blocks the model call on disk.
/// </summary>
public sealed class LoreChatClient : DelegatingChatClient
{
    public LoreChatClient(IChatClient innerClient, LoreRuntime runtime)
        : base(innerClient) => throw new NotImplementedException();

    /// <summary>When false, lessons are retrieved and recorded but not injected (shadow mode).</summary>
    public bool InjectLessons { get; set; } = true;
}
