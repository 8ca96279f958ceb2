// A plain IChatClient loop with Lore: each task is an episode, its outcome is reported, Lore learns between rounds
// and injects what it learned into later calls. Offline by default: the inner client is the simulated workplace's
// agent (a deterministic stand-in that makes typical mistakes and follows injected lessons), its tools the
// simulated workplace's. To use a real model, swap the one line marked REAL MODEL below.
using Lore;
using Lore.Simulation;
using Lore.Sqlite;
using Microsoft.Extensions.AI;

var path = Path.Combine(Path.GetTempPath(), $"lore-console-{Environment.ProcessId}.db");
File.Delete(path);
await using var lore = await LoreRuntime.OpenAsync(new LoreOptions { Store = await SqliteLoreStore.OpenAsync(path) });

IChatClient inner = new SimulatedAgentChatClient(seed: 7);
// REAL MODEL: IChatClient inner = new OpenAI.Chat.ChatClient("gpt-4o-mini", Environment.GetEnvironmentVariable("OPENAI_API_KEY")).AsIChatClient();

IChatClient client = new ChatClientBuilder(inner)
    .UseLore(lore)                 // inject relevant lessons, capture the trajectory
    .UseFunctionInvocation()       // run the tools the model asks for
    .Build();

var workplace = new Workplace(seed: 7);
for (var round = 1; round <= 3; round++)
{
    var successes = 0;
    for (var i = 0; i < 40; i++)
    {
        var task = workplace.CreateTask((round * 1000) + i);
        var environment = workplace.CreateEnvironment(task);
        await using var episode = lore.BeginEpisode(task.Text, task.CreateLabels(), unitKey: task.CustomerId);
        await client.GetResponseAsync(task.Text, new ChatOptions { Tools = [.. environment.Tools] });
        var verdict = environment.Judge();
        successes += verdict.Success ? 1 : 0;
        await episode.CompleteAsync(verdict.ToOutcome());
    }

    var run = await lore.LearnAsync();
    Console.WriteLine($"round {round}: {successes}/40 tasks succeeded; learning made snapshot {run.SnapshotId ?? "(none)"}");
}

var lessons = lore.CurrentSnapshot?.Lessons ?? [];
Console.WriteLine($"Lore serves {lessons.Count} lessons, for example: {lessons.FirstOrDefault()?.Text ?? "(none yet)"}");
