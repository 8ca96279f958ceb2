using Lore.Simulation;
using Microsoft.Extensions.AI;

namespace Lore.Simulation.Tests;

/// <summary>Runs the simulated agent on one ticket behind <c>UseFunctionInvocation</c>, without Lore, optionally with lesson text.</summary>
internal static class AgentHarness
{
    public static async Task<(WorkplaceEnvironment Environment, ChatResponse Response)> RunAsync(
        Workplace workplace,
        WorkplaceTask task,
        SimulatedAgentProfile? profile = null,
        int agentSeed = 1,
        string? lessons = null,
        WorkplaceRules? rules = null,
        bool streaming = false)
    {
        var environment = workplace.CreateEnvironment(task, rules);
        using var agent = new SimulatedAgentChatClient(profile, agentSeed);
        using var client = new ChatClientBuilder(agent).UseFunctionInvocation().Build();
        List<ChatMessage> messages = [new(ChatRole.System, WorkplaceSimulation.SystemPrompt)];
        if (lessons is not null)
        {
            messages.Add(new(ChatRole.System, lessons));
        }

        messages.Add(new(ChatRole.User, task.Text));
        var options = new ChatOptions { Tools = [.. environment.Tools] };
        var ct = TestContext.Current.CancellationToken;
        var response = streaming
            ? await client.GetStreamingResponseAsync(messages, options, ct).ToChatResponseAsync(ct)
            : await client.GetResponseAsync(messages, options, ct);
        return (environment, response);
    }

    /// <summary>The first <paramref name="count"/> tickets of a slice.</summary>
    public static IEnumerable<WorkplaceTask> TasksOf(Workplace workplace, string slice, int count)
        => Enumerable.Range(0, int.MaxValue).Select(workplace.CreateTask).Where(t => t.Slice == slice).Take(count);

    /// <summary>True when the trajectory called the action tool before ever calling its precondition.</summary>
    public static bool SkippedPrecondition(IReadOnlyList<WorkplaceToolCall> calls, string precondition, string action)
    {
        var firstAction = calls.ToList().FindIndex(c => c.Name == action);
        var firstPrecondition = calls.ToList().FindIndex(c => c.Name == precondition);
        return firstAction >= 0 && (firstPrecondition < 0 || firstPrecondition > firstAction);
    }

    public static string Names(WorkplaceEnvironment environment) => string.Join(" > ", environment.Calls.Select(c => c.Failed ? c.Name + "!" : c.Name));
}
