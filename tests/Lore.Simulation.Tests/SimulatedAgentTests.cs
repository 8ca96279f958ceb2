using Lore.Simulation;
using Microsoft.Extensions.AI;

namespace Lore.Simulation.Tests;

public sealed class SimulatedAgentTests
{
    private static readonly Workplace Desk = new(seed: 11);

    /// <summary>Lessons worded the way the LLM-free extractors word them, inside some markup the agent must not depend on.</summary>
    private static readonly Dictionary<string, string> ExtractorStyleLessons = new()
    {
        [WorkplaceSlices.Refunds] = "`refund_order` failed with 'order <id> must be looked up before it can be refunded'; call `lookup_order` first.",
        [WorkplaceSlices.Payments] = "`pay_invoice` without prior `get_invoice` fails in 92% of episodes (lift 2.3).",
        [WorkplaceSlices.Bookings] = "`book_flight` failed with 'a seat on flight <id> must be held ...'; call `hold_seat` first.",
        [WorkplaceSlices.Account] = "`update_address` without prior `verify_identity` fails in 81% of episodes.",
    };

    private static readonly SimulatedAgentProfile NoStopping = SimulatedAgentProfile.Default with { StopEarly = 0 };

    [Theory]
    [InlineData(WorkplaceSlices.Refunds, "lookup_order", "refund_order")]
    [InlineData(WorkplaceSlices.Payments, "get_invoice", "pay_invoice")]
    [InlineData(WorkplaceSlices.Bookings, "hold_seat", "book_flight")]
    [InlineData(WorkplaceSlices.Account, "verify_identity", "update_address")]
    public async Task Without_lessons_the_agent_skips_the_precondition_at_its_configured_rate(string slice, string precondition, string action)
    {
        const int n = 300;
        var skipped = 0;
        foreach (var task in AgentHarness.TasksOf(Desk, slice, n))
        {
            var (environment, _) = await AgentHarness.RunAsync(Desk, task, NoStopping);
            skipped += AgentHarness.SkippedPrecondition(environment.Calls, precondition, action) ? 1 : 0;
        }

        // Binomial: three standard deviations of a rate near 0.5 over 300 episodes is about 0.087.
        Assert.InRange((double)skipped / n, NoStopping.MistakeRate(slice) - 0.09, NoStopping.MistakeRate(slice) + 0.09);
    }

    [Theory]
    [InlineData(WorkplaceSlices.Refunds, "lookup_order", "refund_order")]
    [InlineData(WorkplaceSlices.Bookings, "hold_seat", "book_flight")]
    [InlineData(WorkplaceSlices.Account, "verify_identity", "update_address")]
    public async Task After_a_refusal_the_agent_recovers_at_its_configured_rate_and_otherwise_gives_up(string slice, string precondition, string action)
    {
        var profile = NoStopping with { SkipOrderLookup = 1, SkipSeatHold = 1, SkipIdentityCheck = 1, RecoverAfterError = 0.35 };
        const int n = 300;
        var recovered = 0;
        foreach (var task in AgentHarness.TasksOf(Desk, slice, n))
        {
            var (environment, response) = await AgentHarness.RunAsync(Desk, task, profile);
            var calls = environment.Calls.Where(c => c.Name != "get_customer" && c.Name != "search_flights").Select(c => (c.Name, c.Failed)).ToList();
            if (environment.Judge().Success)
            {
                recovered++;
                Assert.Equal([(action, true), (precondition, false), (action, false)], calls);
            }
            else
            {
                Assert.Equal([(action, true)], calls);
                Assert.StartsWith("I could not ", response.Text, StringComparison.Ordinal);
                Assert.Contains("must be", response.Text, StringComparison.Ordinal);
            }
        }

        Assert.InRange((double)recovered / n, 0.35 - 0.09, 0.35 + 0.09);
    }

    [Fact]
    public async Task An_agent_that_pays_the_stated_amount_fails_silently_and_one_that_reads_the_invoice_pays_the_total()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Payments, 1).Single();
        var facts = (PaymentFacts)task.Facts;

        var (hasty, hastyAnswer) = await AgentHarness.RunAsync(Desk, task, WorkplaceTests.ShortcutAgent);
        Assert.Equal("pay_invoice", Assert.Single(hasty.Calls).Name);
        Assert.Contains($"\"{Workplace.F(facts.Subtotal)}\"", hasty.Calls[0].Arguments, StringComparison.Ordinal);
        Assert.StartsWith($"Paid {Workplace.F(facts.Subtotal)}", hastyAnswer.Text, StringComparison.Ordinal);
        Assert.False(hasty.Judge().Success);

        var (taught, _) = await AgentHarness.RunAsync(Desk, task, WorkplaceTests.ShortcutAgent with { FollowLessons = 1 }, lessons: ExtractorStyleLessons[WorkplaceSlices.Payments]);
        Assert.Equal(["get_invoice", "pay_invoice"], taught.Calls.Select(c => c.Name));
        Assert.Contains($"\"{Workplace.F(facts.Total)}\"", taught.Calls[1].Arguments, StringComparison.Ordinal);
        Assert.True(taught.Judge().Success);
    }

    [Theory]
    [InlineData(WorkplaceSlices.Refunds, "lookup_order", "refund_order")]
    [InlineData(WorkplaceSlices.Payments, "get_invoice", "pay_invoice")]
    [InlineData(WorkplaceSlices.Bookings, "hold_seat", "book_flight")]
    [InlineData(WorkplaceSlices.Account, "verify_identity", "update_address")]
    public async Task A_lesson_naming_the_tools_in_a_system_message_makes_the_agent_avoid_the_mistake(string slice, string precondition, string action)
    {
        var profile = NoStopping with { FollowLessons = 1 };
        var section = $"<lore-lessons>\nLessons learned from earlier episodes:\n- {ExtractorStyleLessons[slice]}\n</lore-lessons>";
        int skippedWithout = 0, failedWithout = 0;
        foreach (var task in AgentHarness.TasksOf(Desk, slice, 60))
        {
            var (without, _) = await AgentHarness.RunAsync(Desk, task, profile);
            skippedWithout += AgentHarness.SkippedPrecondition(without.Calls, precondition, action) ? 1 : 0;
            failedWithout += without.Judge().Success ? 0 : 1;

            var (with, _) = await AgentHarness.RunAsync(Desk, task, profile, lessons: section);
            Assert.False(AgentHarness.SkippedPrecondition(with.Calls, precondition, action), AgentHarness.Names(with));
            Assert.True(with.Judge().Success, $"{task.Text}: {AgentHarness.Names(with)} -> {with.Judge().Reason}");
        }

        Assert.True(skippedWithout >= 15, $"only {skippedWithout} of 60 skipped without the lesson");
        Assert.True(failedWithout >= 10, $"only {failedWithout} of 60 failed without the lesson");
    }

    [Fact]
    public async Task Lessons_about_other_tools_or_naming_only_one_tool_change_nothing()
    {
        var profile = NoStopping with { SkipOrderLookup = 1, RecoverAfterError = 0, FollowLessons = 1 };
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Refunds, 1).Single();
        string[] unrelated =
        [
            ExtractorStyleLessons[WorkplaceSlices.Payments],
            "Always be polite; `refund_order` is slow on Mondays.",
            "Call `lookup_order` when a customer asks where a parcel is.\nRefunds take 3 days to show on a card (`refund_order`).",
        ];
        foreach (var lessons in unrelated)
        {
            var (environment, _) = await AgentHarness.RunAsync(Desk, task, profile, lessons: lessons);
            Assert.Equal(["refund_order"], environment.Calls.Select(c => c.Name));
        }
    }

    [Fact]
    public async Task Lessons_are_read_from_any_system_message_not_from_user_text()
    {
        var profile = NoStopping with { SkipOrderLookup = 1, RecoverAfterError = 0, FollowLessons = 1 };
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Refunds, 1).Single();
        using var agent = new SimulatedAgentChatClient(profile, seed: 1);
        var lesson = ExtractorStyleLessons[WorkplaceSlices.Refunds];
        var ct = TestContext.Current.CancellationToken;

        var asUser = await agent.GetResponseAsync([new(ChatRole.User, task.Text), new(ChatRole.User, lesson)], cancellationToken: ct);
        var asLateSystem = await agent.GetResponseAsync([new(ChatRole.User, task.Text), new(ChatRole.System, "Context:\n" + lesson)], cancellationToken: ct);

        Assert.Equal("refund_order", FirstCall(asUser).Name);
        Assert.Equal("lookup_order", FirstCall(asLateSystem).Name);
    }

    [Fact]
    public async Task Lesson_compliance_follows_the_configured_rate()
    {
        var profile = NoStopping with { SkipOrderLookup = 1, FollowLessons = 0.7 };
        var lesson = ExtractorStyleLessons[WorkplaceSlices.Refunds];
        const int n = 300;
        var followed = 0;
        foreach (var task in AgentHarness.TasksOf(Desk, WorkplaceSlices.Refunds, n))
        {
            var (environment, _) = await AgentHarness.RunAsync(Desk, task, profile, lessons: lesson);
            followed += AgentHarness.SkippedPrecondition(environment.Calls, "lookup_order", "refund_order") ? 0 : 1;
        }

        Assert.InRange((double)followed / n, 0.7 - 0.08, 0.7 + 0.08);
    }

    [Fact]
    public async Task The_same_seed_gives_the_same_trajectories_and_another_seed_different_ones()
    {
        var tasks = Enumerable.Range(0, 120).Select(Desk.CreateTask).ToList();

        async Task<List<string>> Trajectories(int agentSeed)
        {
            var list = new List<string>();
            foreach (var task in tasks)
            {
                var (environment, response) = await AgentHarness.RunAsync(Desk, task, agentSeed: agentSeed);
                list.Add(string.Join(" | ", environment.Calls.Select(c => $"{c.Name}{c.Arguments}={c.Result}")) + " => " + response.Text);
            }

            return list;
        }

        var first = await Trajectories(5);
        Assert.Equal(first, await Trajectories(5));
        Assert.NotEqual(first, await Trajectories(6));
    }

    [Fact]
    public async Task Streaming_and_buffered_calls_produce_the_same_episode()
    {
        foreach (var task in Enumerable.Range(0, 40).Select(Desk.CreateTask))
        {
            var (buffered, bufferedAnswer) = await AgentHarness.RunAsync(Desk, task);
            var (streamed, streamedAnswer) = await AgentHarness.RunAsync(Desk, task, streaming: true);
            Assert.Equal(buffered.Calls, streamed.Calls);
            Assert.Equal(bufferedAnswer.Text, streamedAnswer.Text);
        }
    }

    [Fact]
    public async Task The_agent_is_stateless_between_calls_like_a_model()
    {
        var task = AgentHarness.TasksOf(Desk, WorkplaceSlices.Bookings, 1).Single();
        using var agent = new SimulatedAgentChatClient(seed: 3);
        List<ChatMessage> messages = [new(ChatRole.User, task.Text)];
        var ct = TestContext.Current.CancellationToken;

        var first = await agent.GetResponseAsync(messages, cancellationToken: ct);
        var again = await agent.GetResponseAsync(messages, cancellationToken: ct);

        var call = FirstCall(first);
        Assert.Equal("search_flights", call.Name);
        Assert.Equal(call.Name, FirstCall(again).Name);
        Assert.Equal(call.Arguments, FirstCall(again).Arguments);
        Assert.Equal(ChatFinishReason.ToolCalls, first.FinishReason);
        Assert.Equal(SimulatedAgentChatClient.ModelId, first.ModelId);
        Assert.True(first.Usage?.InputTokenCount > 0);
    }

    [Fact]
    public async Task A_ticket_it_cannot_read_gets_a_question_back_and_no_tool_call()
    {
        using var agent = new SimulatedAgentChatClient(seed: 3);
        var response = await agent.GetResponseAsync([new(ChatRole.User, "Hello, can you help me with something?")], cancellationToken: TestContext.Current.CancellationToken);
        Assert.Empty(response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>());
        Assert.Contains("clarify", response.Text, StringComparison.Ordinal);
        Assert.Equal(ChatFinishReason.Stop, response.FinishReason);
    }

    [Fact]
    public void Out_of_range_rates_are_rejected_by_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new SimulatedAgentChatClient(SimulatedAgentProfile.Default with { RecoverAfterError = 1.5 }));
        Assert.Equal("RecoverAfterError", error.ParamName);
    }

    private static FunctionCallContent FirstCall(ChatResponse response)
        => response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().First();
}
