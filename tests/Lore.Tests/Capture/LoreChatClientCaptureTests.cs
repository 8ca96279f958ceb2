using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Capture;

public sealed class LoreChatClientCaptureTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static AIFunction LookupOrder(Func<string, string>? body = null)
        => AIFunctionFactory.Create(body ?? (orderId => $"order {orderId}: blender, 40 EUR, delivered"), "lookup_order", "Looks an order up by id.");

    private static IChatClient Pipeline(IChatClient model, LoreRuntime runtime)
        => new ChatClientBuilder(model).UseLore(runtime).UseFunctionInvocation().Build();

    [Fact]
    public async Task A_tool_loop_is_recorded_as_a_model_call_and_a_tool_call()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var model = new ScriptedAgentClient();
        var client = Pipeline(model, host.Runtime);
        string id;
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142", new() { ["slice"] = "refunds" }, unitKey: "user-42"))
        {
            id = episode.Id;
            var response = await client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, "You are a support agent."), new ChatMessage(ChatRole.User, "Please refund order 1142")],
                new ChatOptions { Tools = [LookupOrder()] },
                Ct);
            Assert.Equal("Refunded order 1142 to the original card.", response.Text);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        var stored = await host.StoredEpisodeAsync(id);
        Assert.Equal("refund order 1142", stored.Task);
        Assert.Equal("user-42", stored.UnitKey);
        Assert.Equal("refunds", stored.Slice);
        Assert.NotNull(stored.EndedAt);
        Assert.Equal(1.0, Assert.Single(stored.Outcomes).Score);

        Assert.Collection(
            stored.Steps,
            model =>
            {
                Assert.Equal(StepKind.ModelCall, model.Kind);
                Assert.Equal(0, model.Index);
                Assert.Equal("fake-model-1", model.Model);
                Assert.Equal(["system", "user"], model.Request.Select(m => m.Role));
                Assert.Equal("Please refund order 1142", model.Request[1].Text);

                // The whole tool loop came back as one response: call, result, answer.
                Assert.Equal(["assistant", "tool", "assistant"], model.Response.Select(m => m.Role));
                Assert.Equal("lookup_order", Assert.Single(model.Response[0].ToolCalls).Name);
                Assert.Equal("lookup_order", model.Response[1].ToolName);
                Assert.Equal("Refunded order 1142 to the original card.", model.Response[2].Text);
                Assert.NotNull(model.Usage);
            },
            tool =>
            {
                Assert.Equal(StepKind.ToolCall, tool.Kind);
                Assert.Equal(1, tool.Index);
                Assert.Equal("lookup_order", tool.ToolName);
                Assert.Equal("call-1", tool.ToolCallId);
                Assert.Contains("\"orderId\"", tool.ToolArguments);
                Assert.Contains("1142", tool.ToolArguments);
                Assert.Equal("order 1142: blender, 40 EUR, delivered", tool.ToolResult);
                Assert.False(tool.ToolFailed);
            });
    }

    [Fact]
    public async Task A_streamed_tool_loop_is_recorded_once_the_stream_ends()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var model = new ScriptedAgentClient();
        var client = Pipeline(model, host.Runtime);
        string id;
        var text = "";
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await foreach (var update in client.GetStreamingResponseAsync("Please refund order 1142", new ChatOptions { Tools = [LookupOrder()] }, Ct))
            {
                text += update.Text;
            }
        }

        Assert.Equal("Refunded order 1142 to the original card.", text.Trim());
        var stored = await host.StoredEpisodeAsync(id);
        Assert.Equal([StepKind.ModelCall, StepKind.ToolCall], stored.Steps.Select(s => s.Kind));
        var call = stored.Steps[0];
        Assert.Equal("Refunded order 1142 to the original card.", call.Response.Last().Text?.Trim());
        Assert.Equal("order 1142: blender, 40 EUR, delivered", stored.Steps[1].ToolResult);
        Assert.Empty(stored.Outcomes);
        Assert.NotNull(stored.EndedAt);
    }

    [Fact]
    public async Task A_stream_the_consumer_stops_early_is_still_recorded_with_what_arrived()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var model = new ScriptedAgentClient();
        var client = Pipeline(model, host.Runtime);
        string id;
        var received = new List<ChatResponseUpdate>();
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await foreach (var update in client.GetStreamingResponseAsync("Please refund order 1142", new ChatOptions { Tools = [LookupOrder()] }, Ct))
            {
                received.Add(update);
                if (update.Text.StartsWith("Refunded", StringComparison.Ordinal))
                {
                    break;
                }
            }
        }

        var stored = await host.StoredEpisodeAsync(id);
        var call = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Equal("Refunded", call.Response.Last().Text?.Trim());
        Assert.Single(stored.Steps, s => s.Kind == StepKind.ToolCall && s.ToolName == "lookup_order");
    }

    [Fact]
    public async Task A_stream_that_throws_is_recorded_up_to_the_failure()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var client = new ChatClientBuilder(new BrokenStreamClient()).UseLore(host.Runtime).Build();
        string id;
        await using (var episode = host.Runtime.BeginEpisode("summarise the ticket"))
        {
            id = episode.Id;
            await Assert.ThrowsAsync<HttpRequestException>(async () =>
            {
                await foreach (var _ in client.GetStreamingResponseAsync("Summarise ticket 7", cancellationToken: Ct))
                {
                }
            });
        }

        var stored = await host.StoredEpisodeAsync(id);
        var call = Assert.Single(stored.Steps);
        Assert.Equal("Summarising", call.Response.Single().Text);
        Assert.Equal("Summarise ticket 7", call.Request.Single().Text);
    }

    [Fact]
    public async Task A_tool_that_throws_is_recorded_as_a_failed_step()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var client = Pipeline(new ScriptedAgentClient(), host.Runtime);
        var failing = LookupOrder(orderId => throw new InvalidOperationException($"order service down for {orderId}"));
        string id;
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await client.GetResponseAsync("Please refund order 1142", new ChatOptions { Tools = [failing] }, Ct);
        }

        var tool = Assert.Single((await host.StoredEpisodeAsync(id)).Steps, s => s.Kind == StepKind.ToolCall);
        Assert.True(tool.ToolFailed);
        Assert.StartsWith("Error", tool.ToolResult, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_tool_result_reading_as_an_error_is_recorded_as_failed()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var client = Pipeline(new ScriptedAgentClient(), host.Runtime);
        string id;
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await client.GetResponseAsync("Please refund order 1142", new ChatOptions { Tools = [LookupOrder(orderId => $"Error: order {orderId} not found")] }, Ct);
        }

        var tool = Assert.Single((await host.StoredEpisodeAsync(id)).Steps, s => s.Kind == StepKind.ToolCall);
        Assert.True(tool.ToolFailed);
        Assert.Equal("Error: order 1142 not found", tool.ToolResult);
    }

    [Fact]
    public async Task A_call_outside_any_episode_passes_through_untouched_and_records_nothing()
    {
        await using var host = await RuntimeHost.OpenAsync([TestLessons.Snapshot([TestLessons.Lesson("les-always", "Always greet the customer.", LessonTrigger.Always)])]);
        var model = new ScriptedAgentClient();
        var client = Pipeline(model, host.Runtime);
        Assert.Null(LoreRuntime.CurrentEpisode);

        var messages = new List<ChatMessage> { new(ChatRole.User, "Please refund order 1142") };
        await client.GetResponseAsync(messages, new ChatOptions { Tools = [LookupOrder()] }, Ct);
        await foreach (var _ in client.GetStreamingResponseAsync(messages, new ChatOptions { Tools = [LookupOrder()] }, Ct))
        {
        }

        await host.Runtime.FlushAsync(Ct);
        Assert.Equal(0, await host.Store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(0, host.Runtime.CaptureStatistics.Enqueued);
        Assert.All(model.Requests, r => Assert.DoesNotContain(r, m => m.Role == ChatRole.System));
        Assert.Single(messages);
    }

    [Fact]
    public async Task Tools_the_caller_runs_itself_are_recorded_once_and_resent_messages_are_not_repeated()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var client = new ChatClientBuilder(new ScriptedAgentClient()).UseLore(host.Runtime).Build();
        string id;
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            var history = new List<ChatMessage> { new(ChatRole.User, "Please refund order 1142") };
            var first = await client.GetResponseAsync(history, cancellationToken: Ct);
            history.AddMessages(first);
            var call = Assert.Single(first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
            history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, "order 1142: blender, 40 EUR, delivered")]));
            var second = await client.GetResponseAsync(history, cancellationToken: Ct);
            history.AddMessages(second);

            // A copy of the same history (as a caller that rebuilds it would send) adds only the new turn.
            var copy = history.Select(m => new ChatMessage(m.Role, [.. m.Contents])).ToList();
            copy.Add(new ChatMessage(ChatRole.User, "Thanks!"));
            await client.GetResponseAsync(copy, cancellationToken: Ct);
        }

        var steps = (await host.StoredEpisodeAsync(id)).Steps;
        Assert.Equal([StepKind.ModelCall, StepKind.ToolCall, StepKind.ModelCall, StepKind.ModelCall], steps.Select(s => s.Kind));
        Assert.Equal([0, 1, 2, 3], steps.Select(s => s.Index));
        Assert.Equal("lookup_order", steps[1].ToolName);
        Assert.Equal(["user"], steps[0].Request.Select(m => m.Role));
        Assert.Equal(["tool"], steps[2].Request.Select(m => m.Role));
        Assert.Equal("lookup_order", steps[2].Request[0].ToolName);
        Assert.Equal("Thanks!", Assert.Single(steps[3].Request).Text);
    }

    [Fact]
    public async Task A_message_repeated_in_the_conversation_is_recorded_each_time_it_is_said()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var client = new ChatClientBuilder(new EchoClient()).UseLore(host.Runtime).Build();
        string id;
        await using (var episode = host.Runtime.BeginEpisode("confirm twice"))
        {
            id = episode.Id;
            var history = new List<ChatMessage> { new(ChatRole.User, "yes") };
            history.AddMessages(await client.GetResponseAsync(history, cancellationToken: Ct));
            history.Add(new ChatMessage(ChatRole.User, "yes"));
            await client.GetResponseAsync(history, cancellationToken: Ct);
        }

        var steps = (await host.StoredEpisodeAsync(id)).Steps;
        Assert.Equal(2, steps.Count);
        Assert.Equal("yes", Assert.Single(steps[0].Request).Text);
        Assert.Equal("yes", Assert.Single(steps[1].Request).Text);
    }

    [Fact]
    public async Task A_disposed_episode_ends_without_an_outcome_and_a_completed_one_with_it()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var abandoned = host.Runtime.BeginEpisode("abandoned task");
        await abandoned.DisposeAsync();
        var completed = host.Runtime.BeginEpisode("completed task");
        await completed.CompleteAsync(Outcome.Scored(0.7, OutcomeSource.Evaluator), Ct);
        await completed.DisposeAsync();

        var a = await host.StoredEpisodeAsync(abandoned.Id);
        Assert.NotNull(a.EndedAt);
        Assert.Empty(a.Outcomes);
        var c = await host.StoredEpisodeAsync(completed.Id);
        Assert.NotNull(c.EndedAt);
        Assert.Equal(0.7, Assert.Single(c.Outcomes).Score);
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await completed.CompleteAsync(Outcome.Success(), Ct));
    }

    [Fact]
    public async Task The_episode_is_ambient_only_for_the_flow_that_began_it_until_it_ends()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var outer = host.Runtime.BeginEpisode("outer");
        Assert.Same(outer, LoreRuntime.CurrentEpisode);
        var inner = host.Runtime.BeginEpisode("inner");
        Assert.Same(inner, LoreRuntime.CurrentEpisode);
        await inner.DisposeAsync();
        Assert.Same(outer, LoreRuntime.CurrentEpisode);
        await outer.CompleteAsync(Outcome.Failure(), Ct);
        Assert.Null(LoreRuntime.CurrentEpisode);
    }

    [Fact]
    public async Task A_late_outcome_reaches_an_episode_that_has_ended()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var episode = host.Runtime.BeginEpisode("refund order 1142");
        await episode.CompleteAsync(Outcome.Success(), Ct);

        await host.Runtime.RecordOutcomeAsync(episode.Id, Outcome.Failure(OutcomeSource.User, actor: "user-42", comment: "the refund never arrived"), Ct);

        var stored = await host.StoredEpisodeAsync(episode.Id);
        Assert.Equal([OutcomeSource.Environment, OutcomeSource.User], stored.Outcomes.Select(o => o.Source));
        Assert.Equal("the refund never arrived", stored.Outcomes[1].Comment);
    }

    [Fact]
    public async Task An_outcome_for_a_running_episode_is_recorded_with_it()
    {
        await using var host = await RuntimeHost.OpenAsync();
        await using var episode = host.Runtime.BeginEpisode("refund order 1142");
        await host.Runtime.RecordOutcomeAsync(episode.Id, Outcome.Scored(0.4, OutcomeSource.Evaluator), Ct);
        await episode.CompleteAsync(Outcome.Success(), Ct);

        var stored = await host.StoredEpisodeAsync(episode.Id);
        Assert.Equal([0.4, 1.0], stored.Outcomes.Select(o => o.Score));
    }

    [Fact]
    public async Task An_outcome_for_an_unknown_episode_names_it()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => host.Runtime.RecordOutcomeAsync("ep-missing", Outcome.Success(), Ct));
        Assert.Contains("ep-missing", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Streams one word, then loses the connection.</summary>
    private sealed class BrokenStreamClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            await Task.Yield();
            yield return new ChatResponseUpdate(ChatRole.Assistant, "Summarising");
            throw new HttpRequestException("connection reset (simulated)");
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    /// <summary>Answers "ok" to anything.</summary>
    private sealed class EchoClient : IChatClient
    {
        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "ok")));

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
