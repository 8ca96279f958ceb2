using System.Net;
using Lore.Server.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Server.Tests.Security;

/// <summary>Every REST endpoint against every role: allowed, 403, or (without a key) 401, always as problem+json.</summary>
public sealed class AuthorizationMatrixTests
{
    /// <summary>One endpoint: its route pattern, a concrete call, and the least role that may make it.</summary>
    private sealed record Endpoint(string Method, string Pattern, string Path, object? Body, ApiKeyRole? Least);

    private static List<Endpoint> Endpoints(SeededTenant t) =>
    [
        new("POST", "/api/episodes/", "/api/episodes", new { task = "refund order 9" }, ApiKeyRole.Agent),
        new("GET", "/api/episodes/", "/api/episodes", null, ApiKeyRole.Agent),
        new("GET", "/api/episodes/{id}", $"/api/episodes/{t.EndedEpisodeId}", null, ApiKeyRole.Agent),
        new("GET", "/api/episodes/{id}/blame", $"/api/episodes/{t.EndedEpisodeId}/blame", null, ApiKeyRole.Agent),
        new("POST", "/api/episodes/{id}/replay", $"/api/episodes/{t.EndedEpisodeId}/replay", new { snapshot = t.OlderSnapshotId }, ApiKeyRole.Agent),
        new("POST", "/api/episodes/{id}/steps", $"/api/episodes/{t.RunningEpisodeId}/steps", new { steps = new[] { new { kind = "toolCall", tool = "lookup_order" } } }, ApiKeyRole.Agent),
        new("POST", "/api/episodes/{id}/outcomes", $"/api/episodes/{t.EndedEpisodeId}/outcomes", new { score = 1.0 }, ApiKeyRole.Agent),
        new("POST", "/api/episodes/{id}/end", "/api/episodes/ep-unknown/end", new { }, ApiKeyRole.Agent),
        new("POST", "/api/episodes/erase", "/api/episodes/erase", new { unit = "nobody", reason = "erasure request" }, ApiKeyRole.Admin),
        new("POST", "/api/retrieve", "/api/retrieve", new { task = "refund order 9" }, ApiKeyRole.Agent),
        new("GET", "/api/lessons/", "/api/lessons", null, ApiKeyRole.Agent),
        new("GET", "/api/lessons/{id}", $"/api/lessons/{t.ServedLessonId}", null, ApiKeyRole.Agent),
        new("GET", "/api/lessons/{id}/lineage", $"/api/lessons/{t.ServedLessonId}/lineage", null, ApiKeyRole.Agent),
        new("POST", "/api/lessons/", "/api/lessons", new { text = "Refunds over $500 need a supervisor's approval.", reason = "policy" }, ApiKeyRole.Reviewer),
        new("POST", "/api/lessons/{id}/edit", "/api/lessons/les-unknown/edit", new { text = "Look up the order first.", reason = "wording" }, ApiKeyRole.Reviewer),
        new("POST", "/api/lessons/{id}/retire", "/api/lessons/les-unknown/retire", new { reason = "wrong" }, ApiKeyRole.Reviewer),
        new("POST", "/api/lessons/{id}/pin", "/api/lessons/les-unknown/pin", new { reason = "always on" }, ApiKeyRole.Reviewer),
        new("POST", "/api/lessons/{id}/unpin", "/api/lessons/les-unknown/unpin", new { reason = "not always" }, ApiKeyRole.Reviewer),
        new("POST", "/api/snapshots/{id}/export", $"/api/snapshots/{t.StableSnapshotId}/export", null, ApiKeyRole.Admin),
        new("POST", "/api/snapshots/import", "/api/snapshots/import", new { bundle = new { format = "nope" }, reason = "promote", allowUnsigned = true }, ApiKeyRole.Admin),
        new("GET", "/api/snapshots/", "/api/snapshots", null, ApiKeyRole.Agent),
        new("GET", "/api/snapshots/{id}", $"/api/snapshots/{t.StableSnapshotId}", null, ApiKeyRole.Agent),
        new("GET", "/api/snapshots/{from}/diff/{to}", $"/api/snapshots/{t.OlderSnapshotId}/diff/stable", null, ApiKeyRole.Agent),
        new("GET", "/api/rollout/", "/api/rollout", null, ApiKeyRole.Agent),
        new("POST", "/api/rollout/shadow", "/api/rollout/shadow", new { snapshotId = t.OlderSnapshotId }, ApiKeyRole.Admin),
        new("POST", "/api/rollout/canary", "/api/rollout/canary", new { share = 0.1 }, ApiKeyRole.Admin),
        new("POST", "/api/rollout/promote", "/api/rollout/promote", null, ApiKeyRole.Admin),
        new("POST", "/api/rollout/rollback", "/api/rollout/rollback", new { reason = "regression" }, ApiKeyRole.Admin),
        new("POST", "/api/rollout/freeze", "/api/rollout/freeze", new { reason = "incident" }, ApiKeyRole.Admin),
        new("POST", "/api/rollout/unfreeze", "/api/rollout/unfreeze", new { reason = "incident closed" }, ApiKeyRole.Admin),
        new("POST", "/api/learn", "/api/learn", null, ApiKeyRole.Admin),
        new("GET", "/api/review/", "/api/review", null, ApiKeyRole.Reviewer),
        new("POST", "/api/review/{id}/approve", "/api/review/les-unknown/approve", new { reason = "checked" }, ApiKeyRole.Reviewer),
        new("POST", "/api/review/{id}/reject", "/api/review/les-unknown/reject", new { reason = "one customer's workaround" }, ApiKeyRole.Reviewer),
        new("GET", "/api/review/{id}/evidence", $"/api/review/{t.PendingLessonId}/evidence", null, ApiKeyRole.Reviewer),
        new("POST", "/api/review/approve", "/api/review/approve", new { ids = new[] { "les-unknown" }, reason = "checked" }, ApiKeyRole.Reviewer),
        new("POST", "/api/review/reject", "/api/review/reject", new { ids = new[] { "les-unknown" }, reason = "workaround" }, ApiKeyRole.Reviewer),
        new("GET", "/api/audit/", "/api/audit", null, ApiKeyRole.Reviewer),
        new("GET", "/api/audit/verify", "/api/audit/verify", null, ApiKeyRole.Reviewer),
        new("GET", "/api/keys/", "/api/keys", null, ApiKeyRole.Admin),
        new("POST", "/api/keys/", "/api/keys", new { name = "another agent", role = "agent" }, ApiKeyRole.Admin),
        new("POST", "/api/keys/{id}/trust", "/api/keys/k-unknown/trust", new { trustUnits = true, reason = "authenticates its users" }, ApiKeyRole.Admin),
        new("POST", "/api/keys/{id}/revoke", "/api/keys/k-unknown/revoke", new { reason = "lost" }, ApiKeyRole.Admin),
        new("GET", "/healthz", "/healthz", null, null),
        new("GET", "/openapi/{documentName}.json", "/openapi/v1.json", null, null),
    ];

    [Fact]
    public async Task Every_endpoint_admits_exactly_the_roles_it_should_and_refuses_the_rest_as_problem_json()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        var keys = new (string Name, ApiKeyRole? Role, string? Key)[] { ("anonymous", null, null), ("agent", ApiKeyRole.Agent, t.AgentKey), ("reviewer", ApiKeyRole.Reviewer, t.ReviewerKey), ("admin", ApiKeyRole.Admin, t.AdminKey) };
        var wrong = new List<string>();

        foreach (var endpoint in Endpoints(t))
        {
            foreach (var (name, role, key) in keys)
            {
                using var client = server.CreateClient(key);
                var json = endpoint.Body is null ? null : System.Text.Json.JsonSerializer.Serialize(endpoint.Body, LoreJson.Options);
                var response = await ApiClient.SendAsync(client, new HttpMethod(endpoint.Method), endpoint.Path, json);
                var expected = endpoint.Least is not { } least ? "allowed" : role is null ? "401" : role.Value >= least ? "allowed" : "403";
                var actual = response.Status switch { HttpStatusCode.Unauthorized => "401", HttpStatusCode.Forbidden => "403", _ => "allowed" };
                if (expected != actual)
                {
                    wrong.Add($"{endpoint.Method} {endpoint.Path} as {name}: expected {expected}, got {(int)response.Status} {response.Text}");
                }
                else if (actual != "allowed" && (response.ContentType != "application/problem+json" || response.Body?["detail"] is null))
                {
                    wrong.Add($"{endpoint.Method} {endpoint.Path} as {name}: {actual} without a problem+json detail ({response.ContentType}: {response.Text})");
                }
                else if (actual == "allowed" && (int)response.Status >= 500)
                {
                    wrong.Add($"{endpoint.Method} {endpoint.Path} as {name}: server error {(int)response.Status} {response.Text}");
                }
            }
        }

        Assert.Empty(wrong);
    }

    [Fact]
    public async Task The_matrix_covers_every_api_endpoint_the_server_maps()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        var covered = Endpoints(t).Select(e => $"{e.Method} {e.Pattern.TrimEnd('/')}").ToHashSet(StringComparer.Ordinal);

        var mapped = server.App.Services.GetServices<EndpointDataSource>()
            .SelectMany(s => s.Endpoints)
            .OfType<RouteEndpoint>()
            .Where(e => e.RoutePattern.RawText?.StartsWith("/api", StringComparison.Ordinal) == true)
            .SelectMany(e => (e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods ?? ["*"]).Select(m => $"{m} {e.RoutePattern.RawText!.TrimEnd('/')}"))
            .ToHashSet(StringComparer.Ordinal);

        Assert.Empty(mapped.Except(covered));
    }

    [Fact]
    public async Task A_wrong_secret_a_malformed_key_and_a_revoked_key_are_refused_with_401()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var admin = server.CreateClient(t.AdminKey);
        var revoked = await admin.ApiPostAsync($"/api/keys/{t.AgentKey.Split('_')[1]}/revoke", new { reason = "laptop lost" });
        Assert.Equal(HttpStatusCode.OK, revoked.Status);

        foreach (var presented in new[] { t.AgentKey, t.ReviewerKey[..^2] + "xx", "not-a-lore-key", "lore_" })
        {
            using var client = server.CreateClient(presented);
            var response = await client.ApiGetAsync("/api/episodes");
            Assert.Equal(HttpStatusCode.Unauthorized, response.Status);
            Assert.Equal("application/problem+json", response.ContentType);
            if (presented.Length > 20)
            {
                Assert.DoesNotContain(presented, response.Text, StringComparison.Ordinal);
            }
        }

        using var reviewer = server.CreateClient(t.ReviewerKey);
        Assert.Equal(HttpStatusCode.OK, (await reviewer.ApiGetAsync("/api/episodes")).Status);
    }

    [Fact]
    public async Task The_X_Api_Key_header_authenticates_like_the_bearer_token()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        using var client = server.CreateClient();
        client.DefaultRequestHeaders.Add("X-Api-Key", t.ReviewerKey);

        Assert.Equal(HttpStatusCode.OK, (await client.ApiGetAsync("/api/review")).Status);
        Assert.Equal(HttpStatusCode.Forbidden, (await client.ApiGetAsync("/api/keys")).Status);
    }
}
