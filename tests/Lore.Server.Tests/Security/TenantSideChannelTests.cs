using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Security;

/// <summary>
/// Tenants without side channels, through the real server: an episode id another tenant uses is free (never 409 where
/// a GET answers 404), and each tenant's audit log is numbered and verified on its own, so neither its sequence nor
/// its verification reveals how much other tenants did.
/// </summary>
public sealed class TenantSideChannelTests
{
    [Fact]
    public async Task Another_tenants_episode_id_is_free_and_each_tenant_reads_its_own_episode()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var acme = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent));
        using var globex = server.CreateClient(await server.CreateKeyAsync("globex", ApiKeyRole.Agent));

        var first = await acme.ApiPostAsync("/api/episodes", new { id = "ep-same", task = "refund order 1", unit = "alice", ended = true, outcomes = new[] { new { score = 1.0 } } });
        Assert.Equal(HttpStatusCode.Created, first.Status);
        Assert.Equal(HttpStatusCode.NotFound, (await globex.ApiGetAsync("/api/episodes/ep-same")).Status);

        var second = await globex.ApiPostAsync("/api/episodes", new { id = "ep-same", task = "book a flight", unit = "bob" });
        Assert.Equal(HttpStatusCode.Created, second.Status);

        Assert.Equal("refund order 1", (string)(await acme.ApiGetAsync("/api/episodes/ep-same")).Json["task"]!);
        Assert.Equal("book a flight", (string)(await globex.ApiGetAsync("/api/episodes/ep-same")).Json["task"]!);

        // Steps, outcomes and the end reach the caller's own episode only.
        Assert.Equal(HttpStatusCode.OK, (await globex.ApiPostAsync("/api/episodes/ep-same/steps", new { steps = new[] { new { kind = "toolCall", tool = "search_flights" } } })).Status);
        Assert.Equal(HttpStatusCode.OK, (await globex.ApiPostAsync("/api/episodes/ep-same/end", new { outcome = new { score = 0.0 } })).Status);
        Assert.DoesNotContain((await server.Store.GetEpisodeAsync("acme", "ep-same", TestContext.Current.CancellationToken))!.Steps, s => s.ToolName == "search_flights");
        Assert.Equal(1.0, (await server.Store.GetEpisodeAsync("acme", "ep-same", TestContext.Current.CancellationToken))!.Score);

        // Within its own tenant an id is still taken once.
        Assert.Equal(HttpStatusCode.Conflict, (await acme.ApiPostAsync("/api/episodes", new { id = "ep-same", task = "again" })).Status);
        Assert.Equal(HttpStatusCode.Conflict, (await globex.ApiPostAsync("/api/episodes", new { id = "ep-same", task = "again" })).Status);
    }

    [Fact]
    public async Task Each_tenants_audit_log_is_numbered_and_verified_without_gaps_that_reveal_other_tenants()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var acme = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Admin));
        using var globex = server.CreateClient(await server.CreateKeyAsync("globex", ApiKeyRole.Admin));

        // Interleaved changes: globex is busy between acme's.
        await acme.ApiPostAsync("/api/rollout/freeze", new { reason = "incident 1" });
        for (var i = 0; i < 5; i++)
        {
            await globex.ApiPostAsync("/api/keys", new { name = $"agent {i}", role = "agent" });
        }

        await acme.ApiPostAsync("/api/rollout/unfreeze", new { reason = "incident 1 closed" });
        await globex.ApiPostAsync("/api/rollout/freeze", new { reason = "incident 2" });
        await acme.ApiPostAsync("/api/keys", new { name = "one more", role = "agent" });

        var listed = (await acme.ApiGetAsync("/api/audit")).Json.AsArray();
        Assert.Equal([1L, 2L, 3L], listed.Select(e => (long)e!["sequence"]!));
        Assert.Equal([AuditActions.Frozen, AuditActions.Unfrozen, AuditActions.ApiKeyCreated], listed.Select(e => (string)e!["action"]!));
        Assert.All(listed, e => Assert.Equal("acme", (string)e!["tenant"]!));

        var verified = await acme.ApiGetAsync("/api/audit/verify");
        Assert.True((bool)verified.Json["intact"]!);
        Assert.Equal(3L, (long)verified.Json["records"]!);
        var head = (string)verified.Json["head"]!;
        Assert.StartsWith("3:", head, StringComparison.Ordinal);
        Assert.Equal($"3:{(string)listed[2]!["hash"]!}", head);

        // The head pins the tenant's own chain for later checks.
        Assert.True((bool)(await acme.ApiGetAsync($"/api/audit/verify?expectHead={head}")).Json["intact"]!);
        Assert.Equal(6L, (long)(await globex.ApiGetAsync("/api/audit/verify")).Json["records"]!);
        Assert.Equal(9L, (long)(await AuditVerifier.VerifyAsync(server.Store, cancellationToken: TestContext.Current.CancellationToken)).Records);
    }
}
