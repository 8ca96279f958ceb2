using Lore.Tests.Rollout;
using Microsoft.Extensions.AI;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Audit;

/// <summary>Replay answers "what would snapshot S have injected here?" from an episode's recorded requests.</summary>
public sealed class ReplayTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Replay_against_the_snapshot_that_served_an_episode_reproduces_what_was_injected()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var (episode, _) = await scenario.RunAsync("user-1");
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);

        var replay = await scenario.Runtime.ReplayAsync(episode.Id, scenario.Stable.Id, Ct);

        var call = Assert.Single(replay.Calls);
        Assert.NotEmpty(call.Recorded);
        Assert.Equal(stored.InjectedLessonIds, call.Replayed);
        Assert.True(call.Unchanged);
        Assert.Equal(0, replay.ChangedCalls);
        Assert.Equal(scenario.Stable.Id, replay.RecordedSnapshotId);
    }

    [Fact]
    public async Task Replay_against_a_shadowed_candidate_names_the_lesson_it_would_have_added_as_shadow_recorded_it()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.ShadowAsync(scenario.Candidate.Id, "test", "watch it first", Ct);
        var (episode, _) = await scenario.RunAsync("user-1");
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        var shadowed = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall).ShadowLessonIds;

        var replay = await scenario.Runtime.ReplayAsync(episode.Id, scenario.Candidate.Id, Ct);

        var call = Assert.Single(replay.Calls);
        Assert.Equal(shadowed, call.Replayed);
        Assert.Equal(["les-refund-amount"], call.Added);
        Assert.Empty(call.Removed);
        Assert.Contains("Read the refund amount back", call.Section, StringComparison.Ordinal);
        Assert.Equal("Read the refund amount back to the customer before refunding.", replay.Lessons["les-refund-amount"]);
        Assert.Equal(1, replay.ChangedCalls);
    }

    [Fact]
    public async Task Replay_against_an_older_snapshot_names_the_lessons_it_would_not_have_injected()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var older = Snapshot([Lesson("les-baggage", "Baggage allowance depends on the fare class; read it from the reservation.", LessonTrigger.OnDescription("baggage allowance question"))], reason: "older");
        await scenario.Store.SaveSnapshotAsync(older, Ct);
        var (episode, _) = await scenario.RunAsync("user-1");
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);

        var replay = await scenario.Runtime.ReplayAsync(episode.Id, older.Id, Ct);

        var call = Assert.Single(replay.Calls);
        Assert.Equal(stored.InjectedLessonIds, call.Removed);
        Assert.DoesNotContain("les-refund-lookup", call.Replayed);
        Assert.Equal("Look up the order with lookup_order before issuing any refund.", replay.Lessons["les-refund-lookup"]);
    }

    [Fact]
    public async Task A_later_call_without_a_new_user_message_is_replayed_with_the_earlier_turn()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var episode = scenario.Runtime.BeginEpisode("help a customer", new() { ["slice"] = "support" }, "user-2");
        await using (episode)
        {
            List<ChatMessage> history = [new(ChatRole.System, "You are a support agent."), new(ChatRole.User, "Please change the shipping address on my order.")];
            var first = await scenario.Client.GetResponseAsync(history, cancellationToken: Ct);
            history.AddRange(first.Messages);
            var lookup = first.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
            history.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(lookup.CallId, "order 1142: shipped to 1 Main St")]));
            await scenario.Client.GetResponseAsync(history, cancellationToken: Ct);
        }

        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        var calls = stored.Steps.Where(s => s.Kind == StepKind.ModelCall).ToList();
        Assert.Equal(2, calls.Count);
        Assert.Contains("les-address", calls[1].InjectedLessonIds);

        var replay = await scenario.Runtime.ReplayAsync(episode.Id, scenario.Stable.Id, Ct);

        Assert.Equal(2, replay.Calls.Count);
        Assert.Equal("Please change the shipping address on my order.", replay.Calls[1].Turn);
        Assert.All(replay.Calls, c => Assert.True(c.Unchanged, $"step {c.StepIndex}: replayed {string.Join(",", c.Replayed)}, recorded {string.Join(",", c.Recorded)}"));
    }

    [Fact]
    public async Task Offered_tools_are_recorded_and_keep_a_tool_scoped_lesson_out_of_the_replay_as_they_did_live()
    {
        var scoped = Lesson("les-lookup-first", "Call lookup_order before refund_order.", LessonTrigger.OnDescription(RolloutScenario.RefundTask), tools: ["lookup_order", "refund_order"]);
        await using var scenario = await RolloutScenario.OpenAsync(stableLessons: [scoped]);
        var episode = scenario.Runtime.BeginEpisode(RolloutScenario.RefundTask, new() { ["slice"] = "refunds" }, "user-3");
        var flightsOnly = new ChatOptions { Tools = [AIFunctionFactory.Create(() => "none", "search_flights")] };
        await using (episode)
        {
            await scenario.Client.GetResponseAsync([new ChatMessage(ChatRole.User, RolloutScenario.RefundTask)], flightsOnly, Ct);
        }

        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        var call = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Equal(["search_flights"], call.OfferedTools);
        Assert.Empty(call.InjectedLessonIds);

        var replay = await scenario.Runtime.ReplayAsync(episode.Id, scenario.Stable.Id, Ct);

        Assert.Empty(Assert.Single(replay.Calls).Replayed);
        Assert.False(replay.ToolsUnknown);
    }

    [Fact]
    public async Task Replay_of_an_unknown_episode_or_another_tenants_snapshot_is_not_found()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var (episode, _) = await scenario.RunAsync("user-1");
        await scenario.Runtime.FlushAsync(Ct);
        var foreign = Snapshot([Lesson("les-acme", "Acme only.", tenant: "acme")], tenant: "acme");
        await scenario.Store.SaveSnapshotAsync(foreign, Ct);

        var noEpisode = await Assert.ThrowsAsync<KeyNotFoundException>(() => scenario.Runtime.ReplayAsync("ep-nope", scenario.Stable.Id, Ct));
        var noSnapshot = await Assert.ThrowsAsync<KeyNotFoundException>(() => scenario.Runtime.ReplayAsync(episode.Id, foreign.Id, Ct));

        Assert.Contains("ep-nope", noEpisode.Message, StringComparison.Ordinal);
        Assert.Contains(foreign.Id, noSnapshot.Message, StringComparison.Ordinal);
    }
}
