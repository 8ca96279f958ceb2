using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Api;

/// <summary>The control plane over HTTP: every change acts at once, is served by this server, and is audited with the key.</summary>
public sealed class ControlApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_mutating_control_call_is_audited_with_the_key_as_actor()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        var reviewerId = t.ReviewerKey.Split('_')[1];
        using var admin = server.CreateClient(t.AdminKey);
        using var reviewer = server.CreateClient(t.ReviewerKey);
        var after = await LastSequenceAsync(server);

        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/shadow", new { snapshotId = t.OlderSnapshotId, reason = "try the old one" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/canary", new { share = 0.2 })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/rollback", new { reason = "not better" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/freeze", new { reason = "incident 7" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/unfreeze", new { reason = "incident 7 closed" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/learn")).Status);
        var created = await admin.ApiPostAsync("/api/keys", new { name = "batch agent", role = "agent" });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync($"/api/keys/{(string)created.Json["key"]!["id"]!}/revoke", new { reason = "batch done" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/episodes/erase", new { episodeIds = new[] { t.EndedEpisodeId }, reason = "erasure request 12" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await reviewer.ApiPostAsync($"/api/review/{t.PendingLessonId}/reject", new { reason = "one customer's workaround" })).Status);

        var entries = new List<AuditEntry>();
        await foreach (var entry in server.Store.ReadAuditAsync(after, Ct))
        {
            entries.Add(entry);
        }

        Assert.All(entries, e => Assert.Equal("acme", e.Tenant));
        var byAction = entries.ToLookup(e => e.Action, e => e.Actor);
        foreach (var action in new[]
        {
            AuditActions.SnapshotShadow, AuditActions.SnapshotCanary, AuditActions.SnapshotRolledBack, AuditActions.Frozen, AuditActions.Unfrozen,
            AuditActions.LearningRequested, AuditActions.ApiKeyCreated, AuditActions.ApiKeyRevoked, AuditActions.EpisodesDeleted,
        })
        {
            Assert.Equal([$"key:{t.AdminKeyId}"], byAction[action].Distinct());
        }

        Assert.Equal([$"key:{reviewerId}"], byAction[AuditActions.ReviewRejected]);
        Assert.All(entries, e => Assert.DoesNotContain((string)created.Json["secret"]!, e.DetailsJson, StringComparison.Ordinal));

        var verified = await reviewer.ApiGetAsync("/api/audit/verify");
        Assert.True((bool)verified.Json["intact"]!);
        var listed = await reviewer.ApiGetAsync($"/api/audit?action={AuditActions.Frozen}");
        Assert.Equal("incident 7", (string)Assert.Single(listed.Json.AsArray())!["reason"]!);
    }

    [Fact]
    public async Task A_rollout_change_is_served_by_the_server_at_once()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var admin = server.CreateClient(t.AdminKey);
        using var agent = server.CreateClient(t.AgentKey);
        var task = new { task = "refund order 1142", unit = "user-1" };
        Assert.Equal(t.ServedLessonId, (string)(await agent.ApiPostAsync("/api/retrieve", task)).Json["lessons"]![0]!["id"]!);

        var rolledBack = await admin.ApiPostAsync("/api/rollout/rollback", new { reason = "bad lesson", to = t.OlderSnapshotId });
        var status = await agent.ApiGetAsync("/api/rollout");
        var retrieved = await agent.ApiPostAsync("/api/retrieve", task);

        Assert.Equal(HttpStatusCode.OK, rolledBack.Status);
        Assert.Equal(t.OlderSnapshotId, (string)status.Json["state"]!["stableSnapshotId"]!);
        Assert.Equal(t.OlderSnapshotId, (string)retrieved.Json["snapshotId"]!);
        Assert.Empty(retrieved.Json["lessons"]!.AsArray());
    }

    [Fact]
    public async Task A_canary_assigns_arms_by_unit_and_an_api_episode_records_its_arm()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var admin = server.CreateClient(t.AdminKey);
        using var agent = server.CreateClient(t.AgentKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/canary", new { share = 0.5, snapshotId = t.OlderSnapshotId })).Status);

        var arms = new Dictionary<string, string>();
        for (var i = 0; i < 20; i++)
        {
            var started = await agent.ApiPostAsync("/api/episodes", new { id = $"ep-{i}", task = "refund", unit = $"user-{i}" });
            var retrieved = await agent.ApiPostAsync("/api/retrieve", new { task = "refund order", episodeId = $"ep-{i}" });
            Assert.Equal((string)started.Json["arm"]!, (string)retrieved.Json["arm"]!);
            Assert.Equal((string)started.Json["snapshotId"]!, (string)retrieved.Json["snapshotId"]!);
            arms[$"user-{i}"] = (string)started.Json["arm"]!;
            var again = await agent.ApiPostAsync("/api/retrieve", new { task = "refund order", unit = $"user-{i}" });
            Assert.Equal(arms[$"user-{i}"], (string)again.Json["arm"]!);
        }

        Assert.Contains(RolloutArms.Candidate, arms.Values);
        Assert.Contains(RolloutArms.Baseline, arms.Values);
    }

    [Fact]
    public async Task Refused_changes_are_409_problems_that_say_why()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var admin = server.CreateClient(t.AdminKey);
        Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/freeze", new { reason = "incident" })).Status);

        var promote = await admin.ApiPostAsync("/api/rollout/promote");
        var shadow = await admin.ApiPostAsync("/api/rollout/shadow", new { snapshotId = t.OlderSnapshotId });
        var reviewActive = await admin.ApiPostAsync($"/api/review/{t.ServedLessonId}/approve", new { reason = "fine" });

        Assert.Equal(HttpStatusCode.Conflict, promote.Status);
        Assert.Equal(HttpStatusCode.Conflict, shadow.Status);
        Assert.Contains("frozen", (string)shadow.Json["detail"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, reviewActive.Status);
        Assert.Contains("already admitted", (string)reviewActive.Json["detail"]!, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_approved_lesson_is_served_and_keys_are_listed_without_secrets()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var admin = server.CreateClient(t.AdminKey);

        var approved = await admin.ApiPostAsync($"/api/review/{t.PendingLessonId}/approve", new { reason = "checked with the refunds team" });
        var served = await admin.ApiGetAsync("/api/lessons");
        var keys = await admin.ApiGetAsync("/api/keys");

        Assert.Equal(HttpStatusCode.OK, approved.Status);
        Assert.Contains(t.PendingLessonId, served.Json.AsArray().Select(l => (string)l!["lesson"]!["id"]!));
        Assert.Equal(3, keys.Json.AsArray().Count);
        Assert.DoesNotContain("secretHash", keys.Text, StringComparison.Ordinal);
        Assert.DoesNotContain(t.AdminKey.Split('_', 3)[2], keys.Text, StringComparison.Ordinal);
    }

    private static async Task<long> LastSequenceAsync(LoreTestServer server)
    {
        long last = 0;
        await foreach (var entry in server.Store.ReadAuditAsync(0, Ct))
        {
            last = entry.Sequence;
        }

        return last;
    }
}
