using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Security;

public sealed class RateLimitAndLoggingTests
{
    [Fact]
    public async Task A_key_over_its_rate_gets_429_with_Retry_After_while_other_keys_go_on()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.RequestsPerMinutePerKey = 3);
        using var busy = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent, "busy"));
        using var quiet = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent, "quiet"));

        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++)
        {
            statuses.Add((await busy.ApiGetAsync("/api/snapshots")).Status);
        }

        var refused = await busy.ApiGetAsync("/api/snapshots");
        var other = await quiet.ApiGetAsync("/api/snapshots");

        Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.OK, HttpStatusCode.TooManyRequests], statuses);
        Assert.Equal(HttpStatusCode.TooManyRequests, refused.Status);
        Assert.Equal("application/problem+json", refused.ContentType);
        Assert.True(refused.Headers.RetryAfter?.Delta is { TotalSeconds: >= 1 }, $"Retry-After: {refused.Headers.RetryAfter}");
        Assert.Equal(HttpStatusCode.OK, other.Status);
    }

    [Fact]
    public async Task Health_answers_anonymously_without_revealing_anything_and_is_not_rate_limited()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.RequestsPerMinutePerKey = 1);
        await SeededTenant.CreateAsync(server, "acme");
        using var client = server.CreateClient();

        for (var i = 0; i < 3; i++)
        {
            var health = await client.ApiGetAsync("/healthz");
            Assert.Equal(HttpStatusCode.OK, health.Status);
            Assert.Equal("""{"status":"ok"}""", health.Text);
        }
    }

    [Fact]
    public async Task Keys_and_secrets_never_reach_the_log_and_callers_appear_by_key_id()
    {
        var logs = new CapturedLogs();
        await using var server = await LoreTestServer.StartAsync(o => o.ConfigureLogging = logs.AddTo);
        var t = await SeededTenant.CreateAsync(server, "acme");
        var secrets = new List<string> { t.AgentKey, t.AdminKey, t.AgentKey.Split('_', 3)[2], t.AdminKey.Split('_', 3)[2] };

        using (var admin = server.CreateClient(t.AdminKey))
        {
            var created = await admin.ApiPostAsync("/api/keys", new { name = "new agent", role = "agent" });
            Assert.Equal(HttpStatusCode.Created, created.Status);
            secrets.Add((string)created.Json["secret"]!);
            Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/rollout/freeze", new { reason = "incident" })).Status);
            Assert.Equal(HttpStatusCode.OK, (await admin.ApiPostAsync("/api/learn")).Status);
        }

        using (var agent = server.CreateClient())
        {
            agent.DefaultRequestHeaders.Add("X-Api-Key", t.AgentKey);
            await agent.ApiPostAsync("/api/episodes", new { task = "refund order 5" });
        }

        var wrongSecret = t.ReviewerKey[..^4] + "abcd";
        secrets.Add(wrongSecret);
        using (var wrong = server.CreateClient(wrongSecret))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await wrong.ApiGetAsync("/api/review")).Status);
        }

        using (var cookie = server.CreateClient())
        {
            cookie.DefaultRequestHeaders.Add("Cookie", $"lore_key={t.ReviewerKey}");
            Assert.Equal(HttpStatusCode.OK, (await cookie.ApiGetAsync("/api/review")).Status);
            secrets.Add(t.ReviewerKey);
        }

        await server.App.StopAsync(TestContext.Current.CancellationToken);
        var lines = logs.Lines;
        Assert.NotEmpty(lines);
        Assert.All(secrets, secret => Assert.DoesNotContain(lines, line => line.Contains(secret, StringComparison.Ordinal)));
        Assert.DoesNotContain(lines, line => line.Contains("Bearer lore_", StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains($"key:{t.AdminKeyId}", StringComparison.Ordinal));
    }
}
