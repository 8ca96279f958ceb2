using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Capture;

/// <summary>What a full buffer does to whole episodes, through the runtime and a store held at a gate.</summary>
public sealed class CaptureOverflowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Dropped_records_are_counted_and_an_episode_whose_start_was_dropped_never_reaches_the_store()
    {
        await using var host = await RuntimeHost.OpenAsync(gated: true, configure: o =>
        {
            o.Capture.Capacity = 3;
            o.Capture.OverflowPolicy = CaptureOverflowPolicy.DropAndCount;
        });
        var store = host.Gated!;
        var client = new ChatClientBuilder(new ScriptedAgentClient()).UseLore(host.Runtime).Build();

        // The writer takes one record and waits at the gate: the buffer is empty and holds three.
        store.Hold();
        Assert.True(await host.Runtime.Capture.EnqueueAsync(new EpisodeStarted(new Episode { Id = "ep-first", Task = "first" }), Ct));
        await store.AppendWaiting.WaitAsync(Ct);

        var x = host.Runtime.BeginEpisode("x");
        await x.DisposeAsync();                                   // start + end: 2 of 3
        var y = host.Runtime.BeginEpisode("y");
        await client.GetResponseAsync("refund order 1142", cancellationToken: Ct);  // start fits (3 of 3), the step is dropped
        await y.DisposeAsync();                                   // end dropped
        var z = host.Runtime.BeginEpisode("z");
        await z.CompleteAsync(Outcome.Success(), Ct);             // start dropped, so outcome and end are never sent

        store.Release();
        await host.Runtime.FlushAsync(Ct);

        Assert.Equal(new CaptureStatistics(Enqueued: 4, Written: 4, Dropped: 5, Failed: 0), host.Runtime.CaptureStatistics);
        Assert.NotNull((await host.Store.GetEpisodeAsync(x.Id, Ct))?.EndedAt);
        var partial = await host.Store.GetEpisodeAsync(y.Id, Ct);
        Assert.NotNull(partial);
        Assert.Null(partial.EndedAt);
        Assert.Empty(partial.Steps);
        Assert.Null(await host.Store.GetEpisodeAsync(z.Id, Ct));
    }

    [Fact]
    public async Task The_callers_messages_and_options_are_never_modified()
    {
        await using var host = await RuntimeHost.OpenAsync([TestLessons.Snapshot([TestLessons.Lesson("les-always", "Greet the customer.", LessonTrigger.Always)])]);
        var model = new ScriptedAgentClient();
        var client = new ChatClientBuilder(model).UseLore(host.Runtime).UseFunctionInvocation().Build();
        var system = new ChatMessage(ChatRole.System, "You are a support agent.");
        var user = new ChatMessage(ChatRole.User, "Please refund order 1142");
        var messages = new List<ChatMessage> { system, user };
        var tool = AIFunctionFactory.Create((string orderId) => "found", "lookup_order");
        var options = new ChatOptions { Tools = [tool] };

        await using (host.Runtime.BeginEpisode("refund order 1142"))
        {
            await client.GetResponseAsync(messages, options, Ct);
        }

        Assert.Equal([system, user], messages);
        Assert.Equal([tool], options.Tools);
        Assert.Null(options.Instructions);
        Assert.Equal(["You are a support agent.", "Please refund order 1142"], messages.Select(m => m.Text));
        Assert.Contains(model.Requests[0], m => m.Text.Contains("[les-always]", StringComparison.Ordinal));
    }
}
