using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Security;

/// <summary>
/// Key records are cached for <see cref="LoreServerOptions.KeyCacheDuration"/> so a busy agent does not read the store
/// on every call; these pin what that costs and what it must never cost.
/// </summary>
public sealed class ApiKeyCacheTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_key_revoked_through_the_server_is_refused_on_its_very_next_call()
    {
        var clock = new ManualClock(T0);
        await using var server = await LoreTestServer.StartAsync(o => o.TimeProvider = clock);
        var agentKey = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var adminKey = await server.CreateKeyAsync("acme", ApiKeyRole.Admin);
        using var agent = server.CreateClient(agentKey);
        using var admin = server.CreateClient(adminKey);
        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status); // now cached

        var revoked = await admin.ApiPostAsync($"/api/keys/{agentKey.Split('_')[1]}/revoke", new { reason = "laptop lost" });

        Assert.Equal(HttpStatusCode.OK, revoked.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.ApiGetAsync("/api/episodes")).Status);
    }

    [Fact]
    public async Task A_key_revoked_elsewhere_is_refused_once_the_cache_duration_has_passed()
    {
        var clock = new ManualClock(T0);
        await using var server = await LoreTestServer.StartAsync(o =>
        {
            o.TimeProvider = clock;
            o.KeyCacheDuration = TimeSpan.FromSeconds(2);
        });
        var agentKey = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var agent = server.CreateClient(agentKey);
        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status);

        // As the CLI or another server would: straight in the shared store.
        Assert.True(await server.Store.RevokeApiKeyAsync(agentKey.Split('_')[1], clock.GetUtcNow(), TestContext.Current.CancellationToken));
        clock.Advance(TimeSpan.FromSeconds(1));
        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status); // the documented window

        clock.Advance(TimeSpan.FromSeconds(1.5));
        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.ApiGetAsync("/api/episodes")).Status);
    }

    [Fact]
    public async Task A_cached_and_verified_key_id_with_another_secret_is_refused_and_the_right_secret_still_passes()
    {
        await using var server = await LoreTestServer.StartAsync();
        var agentKey = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var agent = server.CreateClient(agentKey);
        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status); // record cached, secret verified

        // Same key id, secrets that differ in the last character, are shorter, or longer.
        foreach (var forged in new[] { agentKey[..^1] + (agentKey[^1] == 'x' ? "y" : "x"), agentKey[..^3], agentKey + "a" })
        {
            using var forger = server.CreateClient(forged);
            Assert.Equal(HttpStatusCode.Unauthorized, (await forger.ApiGetAsync("/api/episodes")).Status);
        }

        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status);
    }

    [Fact]
    public async Task With_no_cache_duration_a_revocation_anywhere_takes_effect_at_once()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.KeyCacheDuration = TimeSpan.Zero);
        var agentKey = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var agent = server.CreateClient(agentKey);
        Assert.Equal(HttpStatusCode.OK, (await agent.ApiGetAsync("/api/episodes")).Status);

        Assert.True(await server.Store.RevokeApiKeyAsync(agentKey.Split('_')[1], DateTimeOffset.UtcNow, TestContext.Current.CancellationToken));

        Assert.Equal(HttpStatusCode.Unauthorized, (await agent.ApiGetAsync("/api/episodes")).Status);
    }
}
