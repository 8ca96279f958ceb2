// Semantic Kernel with Lore: Semantic Kernel's chat completion service over an IChatClient that Lore wraps, so every
// call Semantic Kernel makes gets the lessons Lore learned and is captured. Offline by default: the inner client is
// the simulated workplace's agent, its tools the simulated workplace's (supplied in the client pipeline). To use a
// real model, swap the line marked REAL MODEL.
using Lore;
using Lore.Simulation;
using Lore.Sqlite;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.SemanticKernel;
using Microsoft.SemanticKernel.ChatCompletion;

var path = Path.Combine(Path.GetTempPath(), $"lore-semantic-kernel-{Environment.ProcessId}.db");
File.Delete(path);
await using var lore = await LoreRuntime.OpenAsync(new LoreOptions { Store = await SqliteLoreStore.OpenAsync(path) });

IChatClient model = new SimulatedAgentChatClient(seed: 5);
// REAL MODEL: IChatClient model = new OpenAI.Chat.ChatClient("gpt-4o-mini", Environment.GetEnvironmentVariable("OPENAI_API_KEY")).AsIChatClient();

IList<AITool> tools = [];
IChatClient client = new ChatClientBuilder(model)
    .ConfigureOptions(o => o.Tools = [.. tools])   // the current task's tools
    .UseLore(lore)
    .UseFunctionInvocation()
    .Build();

var builder = Kernel.CreateBuilder();
builder.Services.AddSingleton(client.AsChatCompletionService());
var kernel = builder.Build();
var chat = kernel.GetRequiredService<IChatCompletionService>();

var workplace = new Workplace(seed: 5);
for (var round = 1; round <= 3; round++)
{
    var successes = 0;
    for (var i = 0; i < 30; i++)
    {
        var task = workplace.CreateTask((round * 1000) + i);
        var environment = workplace.CreateEnvironment(task);
        tools = [.. environment.Tools];

        await using var episode = lore.BeginEpisode(task.Text, task.CreateLabels(), unitKey: task.CustomerId);
        var history = new ChatHistory("You are a support agent. Use the tools to resolve the customer's request.");
        history.AddUserMessage(task.Text);
        await chat.GetChatMessageContentAsync(history, kernel: kernel);
        var verdict = environment.Judge();
        successes += verdict.Success ? 1 : 0;
        await episode.CompleteAsync(verdict.ToOutcome());
    }

    var run = await lore.LearnAsync();
    Console.WriteLine($"round {round}: {successes}/30 tasks succeeded; learning made snapshot {run.SnapshotId ?? "(none)"}");
}

Console.WriteLine($"Lore serves {lore.CurrentSnapshot?.Lessons.Count ?? 0} lessons through Semantic Kernel.");
