// Microsoft Agent Framework with Lore: a ChatClientAgent over an IChatClient that Lore wraps, with tools, and each
// task's outcome reported to Lore so it learns what works. Offline by default: the inner client is the simulated
// workplace's agent and the tools are the simulated workplace's. To use a real model, swap the line marked REAL MODEL.
using Lore;
using Lore.Simulation;
using Lore.Sqlite;
using Microsoft.Agents.AI;
using Microsoft.Extensions.AI;

var path = Path.Combine(Path.GetTempPath(), $"lore-agent-framework-{Environment.ProcessId}.db");
File.Delete(path);
await using var lore = await LoreRuntime.OpenAsync(new LoreOptions { Store = await SqliteLoreStore.OpenAsync(path) });

IChatClient model = new SimulatedAgentChatClient(seed: 11);
// REAL MODEL: IChatClient model = new OpenAI.Chat.ChatClient("gpt-4o-mini", Environment.GetEnvironmentVariable("OPENAI_API_KEY")).AsIChatClient();

// Lore outside the tool loop: it sees every model call and tool result of the agent's run as one episode.
IChatClient client = new ChatClientBuilder(model).UseLore(lore).UseFunctionInvocation().Build();

var workplace = new Workplace(seed: 11);
for (var round = 1; round <= 3; round++)
{
    var successes = 0;
    for (var i = 0; i < 30; i++)
    {
        var task = workplace.CreateTask((round * 1000) + i);
        var environment = workplace.CreateEnvironment(task);
        AIAgent agent = new ChatClientAgent(
            client,
            instructions: "You are a support agent. Use the tools to resolve the customer's request.",
            name: "support",
            tools: [.. environment.Tools]);

        await using var episode = lore.BeginEpisode(task.Text, task.CreateLabels(), unitKey: task.CustomerId);
        await agent.RunAsync(task.Text);
        var verdict = environment.Judge();
        successes += verdict.Success ? 1 : 0;
        await episode.CompleteAsync(verdict.ToOutcome());   // outcome reporting: what Lore learns from
    }

    var run = await lore.LearnAsync();
    Console.WriteLine($"round {round}: {successes}/30 tasks succeeded; learning made snapshot {run.SnapshotId ?? "(none)"}");
}

Console.WriteLine($"Lore serves {lore.CurrentSnapshot?.Lessons.Count ?? 0} lessons to the agent.");
