using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Runtime;

public sealed class LoreRuntimeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly Lesson RefundLesson = Lesson("les-refund-lookup", "Look up the order with lookup_order before issuing any refund.", LessonTrigger.OnKeywords("refund"));
    private static readonly Lesson PaymentLesson = Lesson("les-refund-card", "Refund to the original card, never to store credit.", LessonTrigger.OnKeywords("refund"));

    private static async Task<(string EpisodeId, IReadOnlyList<ChatMessage> Sent)> RunRefundEpisodeAsync(LoreRuntime runtime, string unit = "user-42")
    {
        var model = new ScriptedAgentClient();
        var client = new ChatClientBuilder(model).UseLore(runtime).UseFunctionInvocation().Build();
        await using var episode = runtime.BeginEpisode("refund order 1142", unitKey: unit);
        await client.GetResponseAsync(
            [new ChatMessage(ChatRole.System, "You are a support agent."), new ChatMessage(ChatRole.User, "Please refund order 1142")],
            new ChatOptions { Tools = [AIFunctionFactory.Create((string orderId) => "order found", "lookup_order")] },
            Ct);
        await episode.CompleteAsync(Outcome.Success(), Ct);
        return (episode.Id, model.Requests[0]);
    }

    [Fact]
    public async Task Opening_without_a_store_says_which_option_is_missing()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => LoreRuntime.OpenAsync(new LoreOptions(), Ct));
        Assert.Contains("LoreOptions.Store", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opening_with_a_bad_capture_setting_names_it()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var options = new LoreOptions { Store = host.Store };
        options.Capture.Capacity = 0;
        var error = await Assert.ThrowsAsync<ArgumentException>(() => LoreRuntime.OpenAsync(options, Ct));
        Assert.Contains("Capture.Capacity", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Opening_with_a_negative_capture_batch_window_or_an_empty_telemetry_tenant_names_both()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var options = new LoreOptions { Store = host.Store, TelemetryTenant = " " };
        options.Capture.BatchWindow = TimeSpan.FromMilliseconds(-1);
        var error = await Assert.ThrowsAsync<ArgumentException>(() => LoreRuntime.OpenAsync(options, Ct));
        Assert.Contains("Capture.BatchWindow", error.Message, StringComparison.Ordinal);
        Assert.Contains("TelemetryTenant", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_active_snapshot_is_served_from_the_start()
    {
        var snapshot = Snapshot([RefundLesson]);
        await using var host = await RuntimeHost.OpenAsync([snapshot]);
        Assert.Equal(snapshot.Id, host.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(snapshot.Id, host.Runtime.BeginEpisode("x").SnapshotId);
    }

    [Fact]
    public async Task Injected_lessons_go_in_after_the_callers_system_messages_and_are_recorded_on_the_episode()
    {
        var snapshot = Snapshot([RefundLesson, .. SupportDesk().Skip(1)]);
        await using var host = await RuntimeHost.OpenAsync([snapshot]);
        var (id, sent) = await RunRefundEpisodeAsync(host.Runtime);

        Assert.Equal([ChatRole.System, ChatRole.System, ChatRole.User], sent.Select(m => m.Role));
        Assert.Equal("You are a support agent.", sent[0].Text);
        Assert.StartsWith($"<lore-lessons snapshot=\"{snapshot.Id}\">", sent[1].Text, StringComparison.Ordinal);
        Assert.Contains("[les-refund-lookup]", sent[1].Text, StringComparison.Ordinal);

        var stored = await host.StoredEpisodeAsync(id);
        Assert.Equal(snapshot.Id, stored.SnapshotId);
        Assert.Contains("les-refund-lookup", stored.InjectedLessonIds);
        var call = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Equal(stored.InjectedLessonIds, call.InjectedLessonIds);

        // The recorded request is what the caller sent, not the injected section.
        Assert.Equal(["system", "user"], call.Request.Select(m => m.Role));
    }

    [Fact]
    public async Task Without_a_snapshot_nothing_is_injected_and_the_episode_is_a_baseline()
    {
        await using var host = await RuntimeHost.OpenAsync();
        var (id, sent) = await RunRefundEpisodeAsync(host.Runtime);
        Assert.Equal([ChatRole.System, ChatRole.User], sent.Select(m => m.Role));
        var stored = await host.StoredEpisodeAsync(id);
        Assert.Null(stored.SnapshotId);
        Assert.Empty(stored.InjectedLessonIds);
    }

    [Fact]
    public async Task Shadow_mode_retrieves_but_injects_and_records_nothing()
    {
        await using var host = await RuntimeHost.OpenAsync([Snapshot([RefundLesson])]);
        var model = new ScriptedAgentClient();
        var client = new ChatClientBuilder(model).UseLore(host.Runtime, c => c.InjectLessons = false).UseFunctionInvocation().Build();
        string id;
        await using (var episode = host.Runtime.BeginEpisode("refund order 1142"))
        {
            id = episode.Id;
            await client.GetResponseAsync("Please refund order 1142", cancellationToken: Ct);
        }

        Assert.DoesNotContain(model.Requests.SelectMany(r => r), m => m.Role == ChatRole.System);
        Assert.Empty((await host.StoredEpisodeAsync(id)).InjectedLessonIds);
    }

    [Fact]
    public async Task Activating_another_snapshot_changes_what_the_next_episode_gets_but_not_a_running_one()
    {
        var first = Snapshot([RefundLesson], reason: "first");
        var second = Snapshot([PaymentLesson], parent: first.Id, reason: "second");
        await using var host = await RuntimeHost.OpenAsync([second, first]);
        Assert.Equal(first.Id, host.Runtime.CurrentSnapshot?.Id);

        var model = new ScriptedAgentClient();
        var client = new ChatClientBuilder(model).UseLore(host.Runtime).Build();
        await using var running = host.Runtime.BeginEpisode("refund order 1142");

        await host.Runtime.ActivateSnapshotAsync(second.Id, Ct);
        Assert.Equal(second.Id, host.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(second.Id, await host.Store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));

        await client.GetResponseAsync("refund please", cancellationToken: Ct);
        Assert.Equal(["les-refund-lookup"], running.InjectedLessonIds);
        await running.DisposeAsync();

        await using (var next = host.Runtime.BeginEpisode("refund order 1142"))
        {
            Assert.Equal(second.Id, next.SnapshotId);
            await client.GetResponseAsync("refund please", cancellationToken: Ct);
            Assert.Equal(["les-refund-card"], next.InjectedLessonIds);
        }

        await host.Runtime.ActivateSnapshotAsync(null, Ct);
        Assert.Null(host.Runtime.CurrentSnapshot);
        Assert.Null(host.Runtime.BeginEpisode("refund").SnapshotId);
    }

    [Fact]
    public async Task Activating_an_unknown_snapshot_fails_and_keeps_serving_the_current_one()
    {
        var snapshot = Snapshot([RefundLesson]);
        await using var host = await RuntimeHost.OpenAsync([snapshot]);
        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => host.Runtime.ActivateSnapshotAsync("snap-0000000000000000", Ct));
        Assert.Contains("snap-0000000000000000", error.Message, StringComparison.Ordinal);
        Assert.Equal(snapshot.Id, host.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(snapshot.Id, await host.Store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Refresh_serves_a_pointer_moved_by_another_process()
    {
        var first = Snapshot([RefundLesson], reason: "first");
        var second = Snapshot([PaymentLesson], parent: first.Id, reason: "second");
        await using var host = await RuntimeHost.OpenAsync([second, first]);

        await host.Store.SetActiveSnapshotAsync(Tenants.Default, second.Id, Ct);
        Assert.Equal(first.Id, host.Runtime.CurrentSnapshot?.Id);
        await host.Runtime.RefreshAsync(Ct);
        Assert.Equal(second.Id, host.Runtime.CurrentSnapshot?.Id);
    }

    [Fact]
    public async Task Retrieve_answers_from_the_served_snapshot_without_a_model_call()
    {
        await using var host = await RuntimeHost.OpenAsync([Snapshot(SupportDesk())]);
        var result = await host.Runtime.RetrieveAsync(new RetrievalQuery { Task = "the customer wants to change the shipping address" }, Ct);
        Assert.Equal("les-address", result.Lessons[0].Lesson.Id);
    }

    [Fact]
    public async Task Lessons_of_another_tenant_are_never_served()
    {
        var ours = Snapshot([RefundLesson]);
        var theirs = Snapshot([Lesson("les-acme", "Refund everything immediately.", LessonTrigger.Always, tenant: "acme")], tenant: "acme");
        await using var host = await RuntimeHost.OpenAsync([theirs, ours]);
        var (id, _) = await RunRefundEpisodeAsync(host.Runtime);
        var stored = await host.StoredEpisodeAsync(id);
        Assert.Equal(["les-refund-lookup"], stored.InjectedLessonIds);
        await Assert.ThrowsAsync<RolloutRefusedException>(() => host.Runtime.ActivateSnapshotAsync(theirs.Id, Ct));
    }

    [Fact]
    public async Task Each_unit_gets_only_its_own_user_facts()
    {
        var facts = Snapshot(
        [
            Lesson("les-fact-42", "This customer wants refunds by bank transfer.", LessonTrigger.OnKeywords("refund"), LessonKind.UserFact, unit: "user-42"),
            Lesson("les-fact-7", "This customer wants refunds as store credit.", LessonTrigger.OnKeywords("refund"), LessonKind.UserFact, unit: "user-7"),
        ]);
        await using var host = await RuntimeHost.OpenAsync([facts]);
        var (id42, sent42) = await RunRefundEpisodeAsync(host.Runtime, unit: "user-42");
        var (id7, _) = await RunRefundEpisodeAsync(host.Runtime, unit: "user-7");

        Assert.DoesNotContain("les-fact-7", sent42[1].Text, StringComparison.Ordinal);
        Assert.Equal(["les-fact-42"], (await host.StoredEpisodeAsync(id42)).InjectedLessonIds);
        Assert.Equal(["les-fact-7"], (await host.StoredEpisodeAsync(id7)).InjectedLessonIds);
    }

    [Fact]
    public async Task Disposing_the_runtime_makes_capture_durable()
    {
        var directory = new Lore.Testing.TempDirectory();
        var path = directory.File("lore.db");
        string id;
        var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = Lore.Sqlite.SqliteLoreStore.Open(path) }, Ct);
        await using (runtime)
        {
            (id, _) = await RunRefundEpisodeAsync(runtime);
        }

        await using var reopened = Lore.Sqlite.SqliteLoreStore.Open(path);
        var stored = await reopened.GetEpisodeAsync(id, Ct);
        Assert.NotNull(stored);
        Assert.Equal(2, stored.Steps.Count);
        directory.Dispose();
    }
}
