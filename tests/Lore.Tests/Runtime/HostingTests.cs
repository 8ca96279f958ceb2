using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
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
        var runtime = await provider.StartLoreAsync(Ct);
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

    [Fact]
    public async Task AddLore_opens_the_runtime_when_the_host_starts_with_the_store_and_clock_from_the_container()
    {
        using var directory = new TempDirectory();
        var clock = new FixedTime(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.Services.AddSingleton<ILoreStore>(_ => SqliteLoreStore.Open(directory.File("lore.db")));
        builder.Services.AddLore((o, provider) => o.Tenant = "acme");
        using var host = builder.Build();
        Assert.Throws<InvalidOperationException>(() => host.Services.GetRequiredService<LoreRuntime>());

        await host.StartAsync(Ct);
        var runtime = host.Services.GetRequiredService<LoreRuntime>();
        Assert.Same(host.Services.GetRequiredService<ILoreStore>(), runtime.Store);
        Assert.Equal("acme", runtime.Tenant);
        Assert.Same(clock, runtime.TimeProvider);
        await host.StopAsync(Ct);
    }

    [Fact]
    public async Task A_host_with_invalid_Lore_options_fails_at_start_naming_every_error()
    {
        var builder = Host.CreateApplicationBuilder();
        builder.Services.AddLore(o =>
        {
            o.Tenant = " ";
            o.Capture.Capacity = 0;
            o.Rollout.AttributionEvery = 0;
        });
        using var host = builder.Build();
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => host.StartAsync(Ct));
        Assert.Contains(error.Failures, f => f.Contains("LoreOptions.Store", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("LoreOptions.Tenant", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("Capture.Capacity", StringComparison.Ordinal));
        Assert.Contains(error.Failures, f => f.Contains("AttributionEvery", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AddLore_keeps_a_runtime_registered_earlier()
    {
        using var directory = new TempDirectory();
        await using var mine = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(directory.File("mine.db")) }, Ct);
        var services = new ServiceCollection();
        services.AddSingleton(mine);
        services.AddLore(o => o.Store = SqliteLoreStore.Open(directory.File("other.db")));
        await using var provider = services.BuildServiceProvider();
        Assert.Same(mine, provider.GetRequiredService<LoreRuntime>());
    }

    [Fact]
    public async Task Changing_the_rollout_policy_after_open_changes_nothing_the_runtime_does()
    {
        using var directory = new TempDirectory();
        var options = new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")) };
        options.Rollout.AttributionEvery = 1;
        await using var runtime = await LoreRuntime.OpenAsync(options, Ct);

        // Invalid now, but the runtime validated and copied the policy at open: judging an episode must still work.
        options.Rollout.AttributionEvery = 0;
        var episode = runtime.BeginEpisode("refund order 1142");
        await episode.CompleteAsync(Outcome.Success(), Ct);
        await runtime.FlushAsync(Ct);
        Assert.NotNull(await runtime.Store.GetEpisodeAsync(episode.Id, Ct));
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }
}
