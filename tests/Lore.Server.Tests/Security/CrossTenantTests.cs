using System.Net;
using System.Text.Json;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Security;

/// <summary>
/// A key of one tenant aimed at every id of another: always 404 (never 403, which would confirm the id exists), and
/// nothing of the other tenant changes. Lessons learned for one tenant are never retrieved for another.
/// </summary>
public sealed class CrossTenantTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_id_taking_endpoint_answers_404_for_another_tenants_ids_and_changes_nothing()
    {
        await using var server = await LoreTestServer.StartAsync();
        var victim = await SeededTenant.CreateAsync(server, "acme");
        var intruder = await SeededTenant.CreateAsync(server, "globex");
        var before = await StateAsync(server, victim);
        using var client = server.CreateClient(intruder.AdminKey);

        var attempts = new (string Method, string Path, object? Body)[]
        {
            ("GET", $"/api/episodes/{victim.EndedEpisodeId}", null),
            ("GET", $"/api/episodes/{victim.EndedEpisodeId}/blame", null),
            ("POST", $"/api/episodes/{victim.EndedEpisodeId}/replay", new { snapshot = intruder.StableSnapshotId }),
            ("POST", $"/api/episodes/{intruder.EndedEpisodeId}/replay", new { snapshot = victim.StableSnapshotId }),
            ("POST", $"/api/episodes/{victim.RunningEpisodeId}/steps", new { steps = new[] { new { kind = "toolCall", tool = "refund_order" } } }),
            ("POST", $"/api/episodes/{victim.RunningEpisodeId}/outcomes", new { score = 0.0 }),
            ("POST", $"/api/episodes/{victim.EndedEpisodeId}/outcomes", new { score = 0.0, source = "user" }),
            ("POST", $"/api/episodes/{victim.RunningEpisodeId}/end", new { outcome = new { score = 0.0 } }),
            ("POST", "/api/episodes/erase", new { episodeIds = new[] { victim.EndedEpisodeId }, reason = "erasure request" }),
            ("POST", "/api/retrieve", new { task = "refund order 1", episodeId = victim.RunningEpisodeId }),
            ("GET", $"/api/lessons/{victim.ServedLessonId}", null),
            ("GET", $"/api/lessons/{victim.ServedLessonId}/lineage", null),
            ("GET", $"/api/snapshots/{victim.StableSnapshotId}", null),
            ("GET", $"/api/snapshots/{victim.OlderSnapshotId}/diff/{intruder.StableSnapshotId}", null),
            ("GET", $"/api/snapshots/{intruder.StableSnapshotId}/diff/{victim.StableSnapshotId}", null),
            ("POST", "/api/rollout/shadow", new { snapshotId = victim.OlderSnapshotId }),
            ("POST", "/api/rollout/canary", new { share = 0.5, snapshotId = victim.OlderSnapshotId }),
            ("POST", "/api/rollout/rollback", new { reason = "take over", to = victim.OlderSnapshotId }),
            ("POST", $"/api/review/{victim.PendingLessonId}/approve", new { reason = "looks fine" }),
            ("POST", $"/api/review/{victim.PendingLessonId}/reject", new { reason = "looks bad" }),
            ("GET", $"/api/review/{victim.PendingLessonId}/evidence", null),
            ("POST", "/api/review/approve", new { ids = new[] { victim.PendingLessonId }, reason = "looks fine" }),
            ("POST", "/api/review/reject", new { ids = new[] { victim.PendingLessonId }, reason = "looks bad" }),
            ("POST", $"/api/keys/{victim.AdminKeyId}/trust", new { trustUnits = true, reason = "take over" }),
            ("POST", $"/api/keys/{victim.AdminKeyId}/revoke", new { reason = "take over" }),
        };

        var wrong = new List<string>();
        foreach (var (method, path, body) in attempts)
        {
            var json = body is null ? null : JsonSerializer.Serialize(body, LoreJson.Options);
            var response = await ApiClient.SendAsync(client, new HttpMethod(method), path, json);
            if (response.Status != HttpStatusCode.NotFound || response.ContentType != "application/problem+json")
            {
                wrong.Add($"{method} {path}: {(int)response.Status} {response.Text}");
            }
            else if (response.Text.Contains("'acme'", StringComparison.Ordinal) || response.Text.Contains("another tenant", StringComparison.OrdinalIgnoreCase))
            {
                wrong.Add($"{method} {path}: the 404 says whose the id is: {response.Text}");
            }
        }

        Assert.Empty(wrong);
        Assert.Equal(before, await StateAsync(server, victim));
    }

    [Fact]
    public async Task Listings_show_only_the_callers_tenant()
    {
        await using var server = await LoreTestServer.StartAsync();
        var victim = await SeededTenant.CreateAsync(server, "acme");
        var intruder = await SeededTenant.CreateAsync(server, "globex");
        using var client = server.CreateClient(intruder.AdminKey);

        var texts = new List<string>();
        foreach (var path in new[] { "/api/episodes", "/api/lessons?all=true", "/api/snapshots", "/api/review", "/api/audit", "/api/keys", "/api/rollout" })
        {
            var response = await client.ApiGetAsync(path);
            Assert.Equal(HttpStatusCode.OK, response.Status);
            texts.Add(response.Text);
        }

        Assert.All(texts, text => Assert.DoesNotContain("acme", text, StringComparison.Ordinal));
        Assert.All(texts, text => Assert.DoesNotContain(victim.AdminKeyId, text, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Lessons_learned_for_one_tenant_are_never_retrieved_for_another()
    {
        await using var server = await LoreTestServer.StartAsync();
        var acmeAdmin = await server.CreateKeyAsync("acme", ApiKeyRole.Admin);
        var globexAgent = await server.CreateKeyAsync("globex", ApiKeyRole.Agent);
        using var acme = server.CreateClient(acmeAdmin);
        using var globex = server.CreateClient(globexAgent);
        for (var i = 0; i < 24; i++)
        {
            var recorded = await acme.ApiPostAsync("/api/episodes", ApiClient.RefundEpisode(i, $"customer-{i % 6}", recovered: i % 3 != 0));
            Assert.Equal(HttpStatusCode.Created, recorded.Status);
        }

        var learned = await acme.ApiPostAsync("/api/learn");
        Assert.Equal(HttpStatusCode.OK, learned.Status);
        Assert.NotNull((string?)learned.Json["run"]!["snapshotId"]);

        var forAcme = await acme.ApiPostAsync("/api/retrieve", new { task = "refund order 4242", tools = new[] { "refund_order", "lookup_order" } });
        var forGlobex = await globex.ApiPostAsync("/api/retrieve", new { task = "refund order 4242", tools = new[] { "refund_order", "lookup_order" } });

        Assert.NotEmpty(forAcme.Json["lessons"]!.AsArray());
        Assert.Contains("<lore-lessons", (string)forAcme.Json["section"]!, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, forGlobex.Status);
        Assert.Empty(forGlobex.Json["lessons"]!.AsArray());
        Assert.Null((string?)forGlobex.Json["section"]);
        Assert.Null((string?)forGlobex.Json["snapshotId"]);
        Assert.Empty((await globex.ApiGetAsync("/api/lessons?all=true")).Json.AsArray());
    }

    /// <summary>Everything of the tenant a cross-tenant call could have changed, as one comparable string.</summary>
    private static async Task<string> StateAsync(LoreTestServer server, SeededTenant t)
    {
        var store = server.Store;
        var parts = new List<object?>
        {
            await store.GetEpisodeAsync(t.RunningEpisodeId, Ct),
            await store.GetEpisodeAsync(t.EndedEpisodeId, Ct),
            await store.GetRolloutAsync(t.Tenant, Ct),
            await store.GetLessonAsync(t.PendingLessonId, Ct),
            await store.ListLessonsAsync(new LessonQuery { Tenant = t.Tenant, IncludeRetired = true }, Ct),
            await store.ListSnapshotsAsync(t.Tenant, Ct),
            (await store.ListApiKeysAsync(t.Tenant, Ct)).Select(k => (k.Id, k.RevokedAt)),
        };
        var audit = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            if (entry.Tenant == t.Tenant)
            {
                audit.Add(entry);
            }
        }

        parts.Add(audit);
        return JsonSerializer.Serialize(parts, LoreJson.Options);
    }
}
