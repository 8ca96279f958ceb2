using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Tests.Runtime;

public sealed class HostingTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task UseLore_without_a_runtime_uses_the_one_AddLore_registered()
    {
        using var directory = new TempDirectory();
        var model = new ScriptedAgentClient();
        var services = new ServiceCollection();
        services.AddLore(o => o.Store = SqliteLoreStore.Open(directory.File("lore.db")));
        services.AddChatClient(model).UseLore().UseFunctionInvocation();

        await using var provider = services.BuildServiceProvider();
        var runtime = provider.GetRequiredService<LoreRuntime>();
        Assert.Same(runtime, provider.GetRequiredService<LoreRuntime>());
        var client = provider.GetRequiredService<IChatClient>();

        string id;
        await using (var episode = runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await client.GetResponseAsync("Please refund order 1142", new ChatOptions { Tools = [AIFunctionFactory.Create((string orderId) => "found", "lookup_order")] }, Ct);
        }

        await runtime.FlushAsync(Ct);
        var stored = await runtime.Store.GetEpisodeAsync(id, Ct);
        Assert.Equal([StepKind.ModelCall, StepKind.ToolCall], stored!.Steps.Select(s => s.Kind));
    }

    [Fact]
    public void UseLore_without_a_runtime_or_a_registration_says_how_to_fix_it()
    {
        var builder = new ChatClientBuilder(new ScriptedAgentClient()).UseLore();
        var error = Assert.Throws<InvalidOperationException>(() => builder.Build());
        Assert.Contains("AddLore", error.Message, StringComparison.Ordinal);
    }
}
