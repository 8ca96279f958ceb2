using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Api;

public sealed class EpisodeApiTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_episode_started_stepped_retrieved_for_and_ended_is_stored_whole_and_attributed_to_the_key()
    {
        await using var server = await LoreTestServer.StartAsync();
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent, "checkout agent");
        var keyId = key.Split('_')[1];
        using var client = server.CreateClient(key);

        var started = await client.ApiPostAsync("/api/episodes", new { id = "ep-1", task = "refund order 1142", unit = "user-7", labels = new { slice = "refunds" } });
        Assert.Equal(HttpStatusCode.Created, started.Status);
        Assert.Equal("/api/episodes/ep-1", started.Headers.Location?.ToString());

        var stepped = await client.ApiPostAsync("/api/episodes/ep-1/steps", new
        {
            steps = new object[]
            {
                new { kind = "modelCall", model = "gpt-x", request = new[] { new { role = "user", text = "refund 1142" } }, response = new[] { new { role = "assistant", text = "looking it up" } }, usage = new { inputTokens = 12, outputTokens = 4 } },
                new { kind = "toolCall", tool = "lookup_order", arguments = new { order = 1142 }, result = "{\"total\":30}" },
            },
        });
        Assert.Equal(HttpStatusCode.OK, stepped.Status);
        Assert.Equal(2, (int)stepped.Json["steps"]!);

        var retrieved = await client.ApiPostAsync("/api/retrieve", new { task = "refund order 1142", unit = "user-7", episodeId = "ep-1" });
        Assert.Equal(HttpStatusCode.OK, retrieved.Status);

        var ended = await client.ApiPostAsync("/api/episodes/ep-1/end", new { outcome = new { score = 1.0, comment = "refunded" }, injectedLessonIds = new[] { "les-from-client" } });
        Assert.Equal(HttpStatusCode.OK, ended.Status);

        var stored = await server.Store.GetEpisodeAsync("ep-1", Ct);
        Assert.NotNull(stored);
        Assert.Equal(("acme", "user-7", "refund order 1142", "refunds"), (stored.Tenant, stored.UnitKey, stored.Task, stored.Slice));
        Assert.Equal($"api:key:{keyId}", stored.Origin);
        Assert.NotNull(stored.EndedAt);
        Assert.Equal([StepKind.ModelCall, StepKind.ToolCall], stored.Steps.Select(s => s.Kind));
        Assert.Equal([0, 1], stored.Steps.Select(s => s.Index));
        Assert.Equal("{\"order\":1142}", stored.Steps[1].ToolArguments);
        var outcome = Assert.Single(stored.Outcomes);
        Assert.Equal((1.0, OutcomeSource.Environment, $"key:{keyId}", "refunded"), (outcome.Score, outcome.Source, outcome.Actor, outcome.Comment));
        Assert.Contains("les-from-client", stored.InjectedLessonIds);
    }

    [Fact]
    public async Task Replay_says_what_a_snapshot_would_have_injected_at_each_recorded_model_call()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var client = server.CreateClient(t.AgentKey);
        var recorded = await client.ApiPostAsync("/api/episodes", new
        {
            id = "ep-replayed",
            task = "refund order 1142",
            unit = "user-7",
            ended = true,
            steps = new object[]
            {
                new { kind = "modelCall", request = new[] { new { role = "user", text = "please refund order 1142" } }, offeredTools = new[] { "lookup_order", "refund_order" } },
                new { kind = "toolCall", tool = "lookup_order", arguments = new { order = 1142 }, result = "{\"total\":30}" },
                new { kind = "modelCall", request = Array.Empty<object>() },
            },
        });
        Assert.Equal(HttpStatusCode.Created, recorded.Status);
        Assert.Equal(["lookup_order", "refund_order"], (await server.Store.GetEpisodeAsync("acme", "ep-replayed", Ct))!.Steps[0].OfferedTools);

        var stable = await client.ApiPostAsync("/api/episodes/ep-replayed/replay", null);
        var older = await client.ApiPostAsync("/api/episodes/ep-replayed/replay", new { snapshot = t.OlderSnapshotId });
        var missing = await client.ApiPostAsync("/api/episodes/ep-replayed/replay", new { snapshot = "snap-nope" });
        var noCandidate = await client.ApiPostAsync("/api/episodes/ep-replayed/replay", new { snapshot = "candidate" });

        Assert.Equal(HttpStatusCode.OK, stable.Status);
        Assert.Equal(t.StableSnapshotId, (string)stable.Json["snapshotId"]!);
        var calls = stable.Json["calls"]!.AsArray();
        Assert.Equal([0, 2], calls.Select(c => (int)c!["stepIndex"]!));
        Assert.All(calls, c => Assert.Equal(t.ServedLessonId, (string)c!["added"]![0]!));
        Assert.Equal("please refund order 1142", (string)calls[1]!["turn"]!);
        Assert.Equal("Look up the order before refunding it.", (string)stable.Json["lessons"]![t.ServedLessonId]!);
        Assert.True((bool)stable.Json["toolsUnknown"]!, "the second call did not say which tools it offered");
        Assert.Equal(HttpStatusCode.OK, older.Status);
        Assert.All(older.Json["calls"]!.AsArray(), c => Assert.Empty(c!["replayed"]!.AsArray()));
        Assert.Equal(HttpStatusCode.NotFound, missing.Status);
        Assert.Contains("snap-nope", missing.Text, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, noCandidate.Status);
        Assert.Contains("no candidate snapshot", noCandidate.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_whole_episode_is_recorded_in_one_call_and_later_feedback_is_added_with_the_key_as_actor()
    {
        await using var server = await LoreTestServer.StartAsync();
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var client = server.CreateClient(key);

        var recorded = await client.ApiPostAsync("/api/episodes", ApiClient.RefundEpisode(1, "user-1", recovered: true));
        Assert.Equal(HttpStatusCode.Created, recorded.Status);
        var id = (string)recorded.Json["id"]!;
        Assert.NotNull(recorded.Json["endedAt"]);

        var feedback = await client.ApiPostAsync($"/api/episodes/{id}/outcomes", new { score = 0.0, source = "user", comment = "the customer was charged twice" });

        Assert.Equal(HttpStatusCode.Created, feedback.Status);
        var stored = await server.Store.GetEpisodeAsync(id, Ct);
        Assert.Equal(3, stored!.Steps.Count);
        Assert.True(stored.Steps[0].ToolFailed);
        Assert.Equal([OutcomeSource.Environment, OutcomeSource.User], stored.Outcomes.Select(o => o.Source));
        Assert.All(stored.Outcomes, o => Assert.StartsWith("key:", o.Actor, StringComparison.Ordinal));
        var read = await client.ApiGetAsync($"/api/episodes/{id}");
        Assert.Equal(HttpStatusCode.OK, read.Status);
        Assert.Equal(3, read.Json["steps"]!.AsArray().Count);
    }

    [Fact]
    public async Task Episode_ids_are_unique_an_ended_episode_takes_no_steps_and_ends_once()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent));
        Assert.Equal(HttpStatusCode.Created, (await client.ApiPostAsync("/api/episodes", new { id = "ep-1", task = "t" })).Status);

        var again = await client.ApiPostAsync("/api/episodes", new { id = "ep-1", task = "t" });
        Assert.Equal(HttpStatusCode.Conflict, again.Status);
        Assert.Equal("application/problem+json", again.ContentType);
        Assert.Equal(HttpStatusCode.OK, (await client.ApiPostAsync("/api/episodes/ep-1/end")).Status);

        var lateStep = await client.ApiPostAsync("/api/episodes/ep-1/steps", new { steps = new[] { new { kind = "toolCall", tool = "x" } } });
        var secondEnd = await client.ApiPostAsync("/api/episodes/ep-1/end");

        Assert.Equal(HttpStatusCode.Conflict, lateStep.Status);
        Assert.Contains("has ended", (string)lateStep.Json["detail"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Conflict, secondEnd.Status);
        Assert.Empty((await server.Store.GetEpisodeAsync("ep-1", Ct))!.Steps);
    }

    [Fact]
    public async Task Episodes_are_listed_newest_first_without_their_steps()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent));
        foreach (var id in new[] { "ep-a", "ep-b", "ep-c" })
        {
            await client.ApiPostAsync("/api/episodes", new { id, task = "t", steps = new[] { new { kind = "toolCall", tool = "x" } } });
        }

        var listed = await client.ApiGetAsync("/api/episodes?limit=2");

        Assert.Equal(HttpStatusCode.OK, listed.Status);
        Assert.Equal(["ep-c", "ep-b"], listed.Json.AsArray().Select(e => (string)e!["id"]!));
        Assert.All(listed.Json.AsArray(), e => Assert.Equal(1, (int)e!["steps"]!));
    }
}
