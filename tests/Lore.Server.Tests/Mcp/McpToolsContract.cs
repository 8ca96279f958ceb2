using System.Text.Json;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using Xunit;
using static Lore.Server.Tests.Mcp.McpTestData;

namespace Lore.Server.Tests.Mcp;

/// <summary>
/// What an agent relies on from Lore's MCP server, whichever transport it connects through: the tools and resources
/// are listed, trajectories and outcomes are stored for the agent's tenant only, guidelines carry the lessons of the
/// served snapshot in the engine's own format, and bad arguments are tool errors that write nothing.
/// </summary>
public abstract class McpToolsContract : IAsyncLifetime
{
    protected const string TenantA = "acme";
    protected const string TenantB = "globex";

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The store the server under test uses.</summary>
    protected abstract ILoreStore Store { get; }

    /// <summary>A real MCP client connected as an agent of <paramref name="tenant"/>.</summary>
    protected abstract Task<McpClient> ConnectAsync(string tenant);

    public abstract ValueTask InitializeAsync();

    public abstract ValueTask DisposeAsync();

    [Fact]
    public async Task Wrong_arguments_are_tool_errors_that_name_the_argument()
    {
        await using var client = await ConnectAsync("acme");

        Assert.Contains("'task' is required", (await client.CallAsync("get_guidelines", new())).Error(), StringComparison.Ordinal);
        Assert.Contains("'tools' must be an array", (await client.CallAsync("get_guidelines", new() { ["task"] = "refund", ["tools"] = "lookup_order" })).Error(), StringComparison.Ordinal);
        Assert.Contains("'limit' must be", (await client.CallAsync("list_lessons", new() { ["limit"] = "ten" })).Error(), StringComparison.Ordinal);
        Assert.Contains("'colour' is not one this tool takes", (await client.CallAsync("get_guidelines", new() { ["task"] = "refund", ["colour"] = "blue" })).Error(), StringComparison.Ordinal);
        Assert.Contains("not an episode id", (await client.CallAsync("record_outcome", new() { ["episode_id"] = "../../x", ["success"] = true })).Error(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Tools_and_read_only_resources_are_listed_with_descriptions_for_agents()
    {
        await using var client = await ConnectAsync(TenantA);

        var tools = await client.ListToolsAsync(cancellationToken: Ct);
        var names = tools.Select(t => t.Name).ToHashSet();
        Assert.Superset(new HashSet<string> { "get_guidelines", "record_trajectory", "record_outcome", "list_lessons" }, names);
        Assert.All(tools, t => Assert.True(t.Description.Length > 80, $"{t.Name} needs a description an agent can decide by"));
        var guidelines = tools.Single(t => t.Name == "get_guidelines");
        Assert.True(guidelines.ProtocolTool.Annotations?.ReadOnlyHint);
        Assert.Contains("task", guidelines.JsonSchema.GetProperty("required").EnumerateArray().Select(e => e.GetString()));

        var resources = await client.ListResourcesAsync(cancellationToken: Ct);
        Assert.Contains(resources, r => r.Uri == "lore://snapshots");
        var templates = await client.ListResourceTemplatesAsync(cancellationToken: Ct);
        Assert.Contains(templates, t => t.UriTemplate == "lore://snapshots/{id}");
        Assert.Contains(templates, t => t.UriTemplate == "lore://lessons/{id}");
    }

    [Fact]
    public async Task A_recorded_trajectory_and_a_later_outcome_are_stored_for_the_agents_tenant()
    {
        await using var client = await ConnectAsync(TenantA);

        var recorded = (await client.CallAsync("record_trajectory", new()
        {
            ["task"] = RefundTask,
            ["messages"] = RefundConversation(),
            ["outcome"] = Json("false"),
            ["unit"] = "customer-7",
            ["labels"] = new Dictionary<string, string> { ["slice"] = "refunds" },
        })).Ok();
        var id = recorded.GetProperty("episode_id").GetString()!;
        Assert.Equal(6, recorded.GetProperty("steps").GetInt32());

        var stored = await Store.GetEpisodeAsync(id, Ct);
        Assert.NotNull(stored);
        Assert.Equal(TenantA, stored.Tenant);
        Assert.Equal(RefundTask, stored.Task);
        Assert.Equal("customer-7", stored.UnitKey);
        Assert.Equal("refunds", stored.Slice);
        Assert.StartsWith("mcp:", stored.Origin);
        Assert.NotNull(stored.EndedAt);
        Assert.Equal(new[] { "issue_refund", "lookup_order", "issue_refund" }, stored.Steps.Where(s => s.Kind == StepKind.ToolCall).Select(s => s.ToolName));
        Assert.True(stored.Steps.First(s => s.Kind == StepKind.ToolCall).ToolFailed);
        Assert.Equal(0.0, Assert.Single(stored.Outcomes).Score);

        var judged = (await client.CallAsync("record_outcome", new()
        {
            ["episode_id"] = id,
            ["score"] = 0.75,
            ["feedback"] = "refunded, but only after a failed call",
            ["source"] = "user",
        })).Ok();
        Assert.True(judged.GetProperty("succeeded").GetBoolean());

        stored = await Store.GetEpisodeAsync(id, Ct);
        var late = stored!.Outcomes[^1];
        Assert.Equal(2, stored.Outcomes.Count);
        Assert.Equal((0.75, OutcomeSource.User, "refunded, but only after a failed call"), (late.Score, late.Source, late.Comment));
        Assert.False(string.IsNullOrEmpty(late.Actor));
        Assert.Equal(0, await Store.CountEpisodesAsync(TenantB, Ct));
    }

    [Fact]
    public async Task Guidelines_carry_the_served_snapshots_lesson_in_the_engines_injection_format()
    {
        var lesson = RefundLesson(TenantA);
        var snapshot = await ServeAsync(Store, TenantA, lesson);
        await using var client = await ConnectAsync(TenantA);

        var guidelines = (await client.CallAsync("get_guidelines", new()
        {
            ["task"] = RefundTask,
            ["tools"] = new[] { "lookup_order", "issue_refund" },
            ["unit"] = "customer-7",
        })).Ok();

        Assert.Equal(snapshot.Id, guidelines.GetProperty("snapshot_id").GetString());
        Assert.Equal(JsonValueKind.Null, guidelines.GetProperty("arm").ValueKind);
        var picked = Assert.Single(guidelines.GetProperty("lessons").EnumerateArray());
        Assert.Equal((lesson.Id, lesson.Text, "toolGuide"), (picked.GetProperty("id").GetString(), picked.GetProperty("text").GetString(), picked.GetProperty("kind").GetString()));
        Assert.StartsWith("ep-", guidelines.GetProperty("episode_id").GetString());

        // The same retrieval and section the engine injects into a model call, character for character.
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = Store, Tenant = TenantA, LeaveStoreOpen = true }, Ct);
        var engine = await runtime.RetrieveAsync(new RetrievalQuery { Task = RefundTask, Tenant = TenantA, UnitKey = "customer-7", AvailableTools = ["lookup_order", "issue_refund"] }, Ct);
        Assert.Equal(engine.Section, guidelines.GetProperty("section").GetString());
        Assert.Contains($"[{lesson.Id}] {lesson.Text}", engine.Section);

        // Recording with those ids stamps the episode with the lessons and snapshot in effect.
        var recorded = (await client.CallAsync("record_trajectory", new()
        {
            ["task"] = RefundTask,
            ["messages"] = RefundConversation(),
            ["unit"] = "customer-7",
            ["episode_id"] = guidelines.GetProperty("episode_id").GetString(),
            ["lesson_ids"] = new[] { lesson.Id },
        })).Ok();
        var stored = await Store.GetEpisodeAsync(recorded.GetProperty("episode_id").GetString()!, Ct);
        Assert.Equal(guidelines.GetProperty("episode_id").GetString(), stored!.Id);
        Assert.Equal(snapshot.Id, stored.SnapshotId);
        Assert.Equal(new[] { lesson.Id }, stored.InjectedLessonIds);

        var listed = (await client.CallAsync("list_lessons", new() { ["query"] = "REFUND lookup_order" })).Ok();
        Assert.Equal(lesson.Id, Assert.Single(listed.GetProperty("lessons").EnumerateArray()).GetProperty("id").GetString());
        var read = await client.ReadTextAsync($"lore://lessons/{lesson.Id}");
        Assert.Equal(lesson.Text, JsonDocument.Parse(read).RootElement.GetProperty("text").GetString());
        Assert.Contains(snapshot.Id, await client.ReadTextAsync("lore://snapshots"));
        Assert.Contains(lesson.Id, await client.ReadTextAsync("lore://snapshots/stable"));
    }

    [Fact]
    public async Task An_agent_of_another_tenant_can_neither_see_the_lessons_nor_judge_the_episodes()
    {
        var lesson = RefundLesson(TenantA);
        var snapshot = await ServeAsync(Store, TenantA, lesson);
        await using var a = await ConnectAsync(TenantA);
        await using var b = await ConnectAsync(TenantB);
        var episodeId = (await a.CallAsync("record_trajectory", new() { ["task"] = RefundTask, ["messages"] = RefundConversation() })).Ok()
            .GetProperty("episode_id").GetString()!;

        // Interleaved calls: each answer is for the caller's own tenant.
        var seenByB = (await b.CallAsync("get_guidelines", new() { ["task"] = RefundTask })).Ok();
        var seenByA = (await a.CallAsync("get_guidelines", new() { ["task"] = RefundTask })).Ok();
        Assert.Empty(seenByB.GetProperty("lessons").EnumerateArray());
        Assert.Equal(JsonValueKind.Null, seenByB.GetProperty("section").ValueKind);
        Assert.Single(seenByA.GetProperty("lessons").EnumerateArray());
        Assert.Equal(0, (await b.CallAsync("list_lessons", new())).Ok().GetProperty("total").GetInt32());

        var error = (await b.CallAsync("record_outcome", new() { ["episode_id"] = episodeId, ["success"] = true })).Error();
        Assert.Contains($"no episode '{episodeId}'", error);
        Assert.Empty((await Store.GetEpisodeAsync(episodeId, Ct))!.Outcomes);

        error = (await b.CallAsync("record_trajectory", new() { ["task"] = RefundTask, ["messages"] = RefundConversation(), ["lesson_ids"] = new[] { lesson.Id } })).Error();
        Assert.Contains($"'{lesson.Id}' is not a lesson of this tenant", error);
        Assert.Equal(0, await Store.CountEpisodesAsync(TenantB, Ct));

        var notFound = await Assert.ThrowsAsync<McpProtocolException>(() => b.ReadTextAsync($"lore://lessons/{lesson.Id}"));
        Assert.Equal(McpErrorCode.ResourceNotFound, notFound.ErrorCode);
        notFound = await Assert.ThrowsAsync<McpProtocolException>(() => b.ReadTextAsync($"lore://snapshots/{snapshot.Id}"));
        Assert.Equal(McpErrorCode.ResourceNotFound, notFound.ErrorCode);
        Assert.DoesNotContain(snapshot.Id, await b.ReadTextAsync("lore://snapshots"));
    }

    [Fact]
    public async Task Bad_arguments_come_back_as_tool_errors_naming_the_field_and_nothing_is_written()
    {
        await using var client = await ConnectAsync(TenantA);
        var existing = (await client.CallAsync("record_trajectory", new() { ["task"] = RefundTask, ["messages"] = RefundConversation() })).Ok()
            .GetProperty("episode_id").GetString()!;

        async Task<string> RecordFails(Dictionary<string, object?> arguments)
        {
            arguments.TryAdd("task", RefundTask);
            return (await client.CallAsync("record_trajectory", arguments)).Error();
        }

        Assert.Contains("messages is an object, expected an array", await RecordFails(new() { ["messages"] = Json("""{"role": "user"}""") }));
        Assert.Contains("messages[0].role is 'robot'", await RecordFails(new() { ["messages"] = Json("""[{"role": "robot", "content": "hi"}]""") }));
        Assert.Contains("messages[2].tool_call_id 'call_9' does not match any tool call", await RecordFails(new()
        {
            ["messages"] = Json("""
                [{"role": "user", "content": "refund 1142"},
                 {"role": "assistant", "content": null, "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "issue_refund", "arguments": "{}"}}]},
                 {"role": "tool", "tool_call_id": "call_9", "content": "done"}]
                """),
        }));
        Assert.Contains("messages[1].tool_calls[0].function.arguments is not a string", await RecordFails(new()
        {
            ["messages"] = Json("""
                [{"role": "user", "content": "refund 1142"},
                 {"role": "assistant", "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "issue_refund", "arguments": {"order_id": 1142}}}]}]
                """),
        }));
        Assert.Contains("no assistant message", await RecordFails(new() { ["messages"] = Json("""[{"role": "user", "content": "refund 1142"}]""") }));
        Assert.Contains("outcome is 'maybe'", await RecordFails(new() { ["messages"] = RefundConversation(), ["outcome"] = Json("\"maybe\"") }));
        Assert.Contains("task is empty", await RecordFails(new() { ["task"] = "  ", ["messages"] = RefundConversation() }));
        Assert.Contains($"episode_id '{existing}' is already recorded", await RecordFails(new() { ["messages"] = RefundConversation(), ["episode_id"] = existing }));
        Assert.Contains("lesson_ids[0] 'les-nowhere' is not a lesson of this tenant", await RecordFails(new() { ["messages"] = RefundConversation(), ["lesson_ids"] = new[] { "les-nowhere" } }));

        Assert.Contains("exactly one of success", (await client.CallAsync("record_outcome", new() { ["episode_id"] = existing, ["success"] = true, ["score"] = 1.0 })).Error());
        Assert.Contains("exactly one of success", (await client.CallAsync("record_outcome", new() { ["episode_id"] = existing })).Error());
        Assert.Contains("score 1.5 is outside [0, 1]", (await client.CallAsync("record_outcome", new() { ["episode_id"] = existing, ["score"] = 1.5 })).Error());
        Assert.Contains("source 'boss'", (await client.CallAsync("record_outcome", new() { ["episode_id"] = existing, ["success"] = false, ["source"] = "boss" })).Error());
        Assert.Contains("no episode 'ep-unknown'", (await client.CallAsync("record_outcome", new() { ["episode_id"] = "ep-unknown", ["success"] = true })).Error());
        Assert.Contains("task is empty", (await client.CallAsync("get_guidelines", new() { ["task"] = "" })).Error());
        Assert.Contains("kind 'rule' is not one of", (await client.CallAsync("list_lessons", new() { ["kind"] = "rule" })).Error());

        Assert.Equal(1, await Store.CountEpisodesAsync(TenantA, Ct));
        Assert.Empty((await Store.GetEpisodeAsync(existing, Ct))!.Outcomes);
    }
}
