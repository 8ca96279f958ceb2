using System.Net;
using System.Text;
using Lore.Server.Tests.Support;
using Lore.Sqlite;
using Xunit;

namespace Lore.Server.Tests.Api;

/// <summary>Episodes a crashed server left open: recovered at start, judged later, and never silently resumed.</summary>
public sealed class EpisodeRecoveryTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>What a server killed mid-episode leaves: one episode idle for two hours, one another host stepped a minute ago.</summary>
    private static async Task LeftOpenByACrashAsync(SqliteLoreStore store)
    {
        var now = DateTimeOffset.UtcNow;
        Episode Open(string id, DateTimeOffset at) => new() { Id = id, Tenant = "acme", UnitKey = "user-7", Task = "refund order 1142", StartedAt = at, Origin = "capture" };
        await store.AppendAsync(
        [
            new EpisodeStarted(Open("ep-crashed", now.AddHours(-2))),
            new StepRecorded("ep-crashed", Step.Tool(0, "refund_order", "{}", "Error: order 1142 must be looked up first", at: now.AddHours(-2))) { Tenant = "acme" },
            new EpisodeStarted(Open("ep-live", now.AddMinutes(-1))),
        ], Ct);
    }

    [Fact]
    public async Task An_episode_left_open_by_a_crash_is_ended_as_abandoned_at_start_audited_once_and_its_outcome_is_accepted()
    {
        await using var server = await LoreTestServer.StartAsync(null, LeftOpenByACrashAsync);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var client = server.CreateClient(key);

        var crashed = await client.ApiGetAsync("/api/episodes/ep-crashed");
        var live = await client.ApiGetAsync("/api/episodes/ep-live");
        Assert.Equal("abandoned", (string?)crashed.Json["endReason"]);
        Assert.NotNull(crashed.Json["endedAt"]);
        Assert.Null(live.Json["endedAt"]);

        var outcome = await client.ApiPostAsync("/api/episodes/ep-crashed/outcomes", new { score = 0.0, comment = "refund failed" });
        Assert.Equal(HttpStatusCode.Created, outcome.Status);
        Assert.NotNull(outcome.Json["endedAt"]);
        var stored = (await server.Store.GetEpisodeAsync("acme", "ep-crashed", Ct))!;
        Assert.Equal((0.0, EpisodeEndReasons.Abandoned), (stored.Score, stored.EndReason));

        var audit = new List<AuditEntry>();
        await foreach (var entry in server.Store.ReadAuditAsync(0, Ct))
        {
            audit.Add(entry);
        }

        var recovered = Assert.Single(audit, e => e.Action == AuditActions.EpisodesAbandoned);
        Assert.Equal(("acme", "1 episodes"), (recovered.Tenant, recovered.Subject));
    }

    [Fact]
    public async Task A_call_that_names_an_abandoned_episode_gets_a_409_that_says_it_was_abandoned_and_what_to_do()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream, LeftOpenByACrashAsync);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var client = server.CreateClient(key);

        var restart = await client.ApiPostAsync("/api/episodes", new { id = "ep-crashed", task = "refund order 1142" });
        var steps = await client.ApiPostAsync("/api/episodes/ep-crashed/steps", new { steps = new[] { new { kind = "toolCall", tool = "lookup_order", arguments = new { order = 1142 }, result = "{}" } } });
        var end = await client.ApiPostAsync("/api/episodes/ep-crashed/end", new { });
        using var proxied = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"refund order 1142"}]}""", Encoding.UTF8, "application/json"),
        };
        proxied.Headers.Add("X-Lore-Episode", "ep-crashed");
        using var proxy = await client.SendAsync(proxied, Ct);
        var proxyText = (string?)System.Text.Json.Nodes.JsonNode.Parse(await proxy.Content.ReadAsStringAsync(Ct))?["error"]?["message"] ?? "";

        foreach (var (status, text) in new[] { (restart.Status, restart.Text), (steps.Status, steps.Text), (end.Status, end.Text), (proxy.StatusCode, proxyText) })
        {
            Assert.Equal(HttpStatusCode.Conflict, status);
            Assert.Contains("'ep-crashed' was abandoned", text, StringComparison.Ordinal);
            Assert.Contains("/api/episodes/ep-crashed/outcomes", text, StringComparison.Ordinal);
            Assert.Contains("new episode id", text, StringComparison.Ordinal);
        }

        Assert.Single((await server.Store.GetEpisodeAsync("acme", "ep-crashed", Ct))!.Steps);
    }
}
