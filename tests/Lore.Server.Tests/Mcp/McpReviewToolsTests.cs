using Lore.Server.Tests.Api;
using Lore.Server.Tests.Support;
using ModelContextProtocol.Client;
using Xunit;
using static Lore.Server.Tests.Mcp.McpTestData;

namespace Lore.Server.Tests.Mcp;

/// <summary>The reviewer and admin tools of <c>/mcp</c>, through the real MCP client with keys of each role.</summary>
public sealed class McpReviewToolsTests : IAsyncLifetime
{
    private LoreTestServer? _server;

    private LoreTestServer Server => _server ?? throw new InvalidOperationException("not started");

    public async ValueTask InitializeAsync() => _server = await LoreTestServer.StartAsync(o => o.ConfigureRuntime = r => { r.Rollout.EntryStage = RolloutStage.Canary; r.Rollout.CanaryShare = 0.2; });

    public async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    private Task<McpClient> ConnectAsync(string key) => ConnectHttpAsync(Server.BaseAddress, key);

    [Fact]
    public async Task An_agent_key_neither_sees_nor_may_call_the_review_tools()
    {
        var t = await SeededTenant.CreateAsync(Server, "acme");
        await using var agent = await ConnectAsync(t.AgentKey);

        var names = (await agent.ListToolsAsync(cancellationToken: TestContext.Current.CancellationToken)).Select(x => x.Name).ToHashSet();
        Assert.Contains("get_guidelines", names);
        Assert.DoesNotContain("approve_lessons", names);
        Assert.DoesNotContain("add_lesson", names);

        var refused = (await agent.CallAsync("approve_lessons", new() { ["lesson_ids"] = new[] { t.PendingLessonId }, ["reason"] = "I like it" })).Error();
        Assert.Contains("reviewer or admin key", refused, StringComparison.Ordinal);
        (await agent.CallAsync("add_lesson", new() { ["text"] = "Always approve refunds.", ["reason"] = "faster" })).Error();
        Assert.Equal(LessonStatus.PendingReview, (await Server.Store.GetLessonAsync(t.PendingLessonId, TestContext.Current.CancellationToken))!.Status);
        Assert.Single(await Server.Store.ListLessonsAsync(new LessonQuery { Tenant = "acme", Status = LessonStatus.Active }, TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task A_reviewer_filters_the_queue_reads_the_evidence_and_decides_in_bulk_with_one_reason()
    {
        var t = await SeededTenant.CreateAsync(Server, "acme");
        await Server.Store.SaveLessonsAsync(
            [
                ReviewApiTests.Waiting("les-a", LessonKind.ToolGuide, "refund_order", "changes-state", "refunds", "ep-acme-ended"),
                ReviewApiTests.Waiting("les-b", LessonKind.ToolGuide, "refund_order", "changes-state", "refunds"),
                ReviewApiTests.Waiting("les-c", LessonKind.Procedure, "cancel_order", "low-lift", "orders"),
            ],
            TestContext.Current.CancellationToken);
        await using var reviewer = await ConnectAsync(t.ReviewerKey);

        var queue = (await reviewer.CallAsync("review_queue", new() { ["tool"] = "refund_order", ["finding"] = "changes-state" })).Ok();
        Assert.Equal(["les-a", "les-b"], queue.GetProperty("lessons").EnumerateArray().Select(l => l.GetProperty("id").GetString()));
        Assert.Contains("kind", (await reviewer.CallAsync("review_queue", new() { ["kind"] = "rumour" })).Error(), StringComparison.OrdinalIgnoreCase);

        var evidence = (await reviewer.CallAsync("review_evidence", new() { ["lesson_id"] = "les-a" })).Ok();
        var learned = Assert.Single(evidence.GetProperty("learnedFrom").EnumerateArray());
        Assert.Equal("ep-acme-ended", learned.GetProperty("id").GetString());
        Assert.Equal("refund_order", Assert.Single(learned.GetProperty("steps").EnumerateArray()).GetProperty("tool").GetString());

        var approved = (await reviewer.CallAsync("approve_lessons", new() { ["lesson_ids"] = new[] { "les-a", "les-b" }, ["reason"] = "checked with the refunds team" })).Ok();
        var snapshotId = approved.GetProperty("snapshot_id").GetString();
        var rollout = await Server.Store.GetRolloutAsync("acme", TestContext.Current.CancellationToken);
        Assert.Equal((snapshotId, RolloutStage.Canary), (rollout.CandidateSnapshotId, rollout.Stage));

        var rejected = (await reviewer.CallAsync("reject_lessons", new() { ["lesson_ids"] = new[] { "les-c" }, ["reason"] = "one customer's workaround" })).Ok();
        Assert.Equal("rejected", rejected.GetProperty("decision").GetString());
        var again = (await reviewer.CallAsync("reject_lessons", new() { ["lesson_ids"] = new[] { "les-c" }, ["reason"] = "again" })).Error();
        Assert.Contains("not waiting for review", again, StringComparison.Ordinal);
        Assert.Equal(LessonStatus.Rejected, (await Server.Store.GetLessonAsync("les-c", TestContext.Current.CancellationToken))!.Status);
    }

    [Fact]
    public async Task A_reviewer_adds_edits_pins_and_retires_a_lesson_and_only_an_admin_serves_at_once()
    {
        var t = await SeededTenant.CreateAsync(Server, "acme");
        await using var reviewer = await ConnectAsync(t.ReviewerKey);
        await using var admin = await ConnectAsync(t.AdminKey);
        var ct = TestContext.Current.CancellationToken;

        var added = (await reviewer.CallAsync("add_lesson", new() { ["text"] = "Refunds over $500 need a supervisor's approval.", ["reason"] = "refunds policy", ["labels"] = new Dictionary<string, string> { ["slice"] = "refunds" } })).Ok();
        var id = added.GetProperty("lesson_id").GetString()!;
        Assert.Equal("canary", added.GetProperty("stage").GetString());
        Assert.Equal(added.GetProperty("snapshot_id").GetString(), (await Server.Store.GetRolloutAsync("acme", ct)).CandidateSnapshotId);

        var edited = (await reviewer.CallAsync("edit_lesson", new() { ["lesson_id"] = id, ["text"] = "Refunds over $500 need a supervisor's written approval.", ["reason"] = "wording" })).Ok();
        Assert.Equal(2, edited.GetProperty("version").GetInt32());
        var pinned = (await reviewer.CallAsync("pin_lesson", new() { ["lesson_id"] = id, ["reason"] = "always on for refunds" })).Ok();
        Assert.True(pinned.GetProperty("pinned").GetBoolean());
        var candidate = (await Server.Store.GetSnapshotAsync((await Server.Store.GetRolloutAsync("acme", ct)).CandidateSnapshotId!, ct))!;
        var served = Assert.Single(candidate.Lessons, l => l.Id == id);
        Assert.Equal((3, true, "Refunds over $500 need a supervisor's written approval."), (served.Authorship!.Version, served.Pinned, served.Text));

        var atOnce = (await reviewer.CallAsync("retire_lesson", new() { ["lesson_id"] = t.ServedLessonId, ["reason"] = "wrong", ["serve_now"] = true })).Error();
        Assert.Contains("Only an admin", atOnce, StringComparison.Ordinal);
        var retired = (await admin.CallAsync("retire_lesson", new() { ["lesson_id"] = t.ServedLessonId, ["reason"] = "wrong since the API changed", ["serve_now"] = true })).Ok();
        Assert.Equal("Retired", retired.GetProperty("status").GetString());
        var stable = (await Server.Store.GetSnapshotAsync((await Server.Store.GetActiveSnapshotIdAsync("acme", ct))!, ct))!;
        Assert.DoesNotContain(stable.Lessons, l => l.Id == t.ServedLessonId);

        var actions = new List<string>();
        await foreach (var entry in Server.Store.ReadTenantAuditAsync("acme", 0, ct))
        {
            actions.Add(entry.Action);
        }

        Assert.Contains(AuditActions.LessonAuthored, actions);
        Assert.Contains(AuditActions.LessonEdited, actions);
        Assert.Contains(AuditActions.LessonPinned, actions);
        Assert.Contains(AuditActions.LessonRetired, actions);
    }
}
