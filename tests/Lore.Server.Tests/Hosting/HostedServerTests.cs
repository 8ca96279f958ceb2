using System.Net;
using System.Net.Http.Headers;
using System.Security.Claims;
using Lore.Server.Security;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Server.Tests.Hosting;

/// <summary>Lore's server inside an ASP.NET Core app of the user's own: <c>AddLoreServer</c> + <c>MapLore</c>.</summary>
public sealed class HostedServerTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task MapLore_serves_the_api_next_to_the_apps_own_endpoints_with_the_store_from_the_container()
    {
        using var directory = new TempDirectory();
        await using var store = await SqliteLoreStore.OpenAsync(directory.File("lore.db"), Ct);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<ILoreStore>(store);
        builder.Services.AddLoreServer();
        var app = builder.Build();
        app.MapGet("/hello", () => "hello from the app");
        app.MapLore();
        await app.StartAsync(Ct);
        try
        {
            using var client = Client(app);
            Assert.Equal("hello from the app", await client.GetStringAsync("hello", Ct));

            using var anonymous = await client.GetAsync("api/episodes", Ct);
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);

            var (key, presented) = ApiKeyAuthentication.Issue(Tenants.Default, ApiKeyRole.Admin, "hosted", "test", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(key, Ct);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", presented);
            using var listed = await client.GetAsync("api/episodes", Ct);
            Assert.Equal(HttpStatusCode.OK, listed.StatusCode);
            using var openApi = await client.GetAsync("openapi/v1.json", Ct);
            Assert.Equal(HttpStatusCode.OK, openApi.StatusCode);

            // The app reaches the same per-tenant runtimes the endpoints use.
            var runtimes = app.Services.GetRequiredService<ILoreRuntimeProvider>();
            var acme = await runtimes.GetRuntimeAsync("acme", Ct);
            Assert.Equal("acme", acme.Tenant);
            Assert.Same(acme, await runtimes.GetRuntimeAsync("acme", Ct));
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task Lores_rate_limit_covers_lores_routes_and_leaves_the_apps_own_routes_alone()
    {
        using var directory = new TempDirectory();
        await using var store = await SqliteLoreStore.OpenAsync(directory.File("lore.db"), Ct);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddLoreServer(o =>
        {
            o.Store = store;
            o.RequestsPerMinutePerKey = 1;
        });
        builder.Services.AddRateLimiter(_ => { }); // the app's own limiter, without limits of its own
        var app = builder.Build();
        app.MapGet("/hello", () => "hello");
        app.UseRateLimiter(); // runs on every route: Lore's buckets must not count the app's requests, nor twice
        app.MapLore();
        await app.StartAsync(Ct);
        try
        {
            using var client = Client(app);
            for (var i = 0; i < 5; i++)
            {
                using var own = await client.GetAsync("hello", Ct);
                Assert.Equal(HttpStatusCode.OK, own.StatusCode);
            }

            var (key, presented) = ApiKeyAuthentication.Issue(Tenants.Default, ApiKeyRole.Admin, "hosted", "test", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(key, Ct);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", presented);
            using var first = await client.GetAsync("api/episodes", Ct);
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
            using var second = await client.GetAsync("api/episodes", Ct);
            Assert.Equal(HttpStatusCode.TooManyRequests, second.StatusCode);
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_hosted_app_without_a_store_fails_at_start_and_says_how_to_give_one()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddLoreServer();
        await using var app = builder.Build();
        app.MapLore();
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => app.StartAsync(Ct));
        Assert.Contains("ILoreStore", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AddLoreServer_names_every_invalid_option_at_once()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<ArgumentException>(() => services.AddLoreServer(o =>
        {
            o.RequestsPerMinutePerKey = 0;
            o.MaxRequestBytes = 10;
            o.AllowedHosts = ["https://lore.example.com"];
        }));
        Assert.Contains("RequestsPerMinutePerKey", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxRequestBytes", error.Message, StringComparison.Ordinal);
        Assert.Contains("https://lore.example.com", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MapLore_without_AddLoreServer_says_which_call_is_missing()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var app = builder.Build();
        var error = Assert.Throws<InvalidOperationException>(() => app.MapLore());
        Assert.Contains("AddLoreServer", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Adds an identity to the principal in place, as ASP.NET Core's own documentation shows a transformation.</summary>
    private sealed class AddsIdentityInPlace : IClaimsTransformation
    {
        public Task<ClaimsPrincipal> TransformAsync(ClaimsPrincipal principal)
        {
            principal.AddIdentity(new ClaimsIdentity([new Claim("app:seen", "yes")]));
            return Task.FromResult(principal);
        }
    }

    [Fact]
    public async Task An_apps_claims_transformation_sees_a_fresh_principal_on_every_request_with_the_same_key()
    {
        using var directory = new TempDirectory();
        await using var store = await SqliteLoreStore.OpenAsync(directory.File("lore.db"), Ct);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddSingleton<ILoreStore>(store);
        builder.Services.AddSingleton<IClaimsTransformation, AddsIdentityInPlace>();
        builder.Services.AddLoreServer();
        var app = builder.Build();
        app.MapLore();
        // After MapLore: Lore's routes authenticate on their own, so the app's endpoint asks for its own result.
        app.MapGet("/identities", async (HttpContext context) =>
            (await context.AuthenticateAsync(ApiKeyAuthentication.SchemeName)).Principal?.Identities.Count() ?? -1);
        await app.StartAsync(Ct);
        try
        {
            var (key, presented) = ApiKeyAuthentication.Issue(Tenants.Default, ApiKeyRole.Admin, "hosted", "test", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(key, Ct);
            using var client = Client(app);
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", presented);
            for (var i = 0; i < 3; i++)
            {
                using var listed = await client.GetAsync("api/episodes", Ct);
                Assert.Equal(HttpStatusCode.OK, listed.StatusCode);

                // The key's identity and the one the transformation added: never the ones added on earlier requests.
                Assert.Equal("2", await client.GetStringAsync("identities", Ct));
            }
        }
        finally
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
        }
    }

    private static HttpClient Client(WebApplication app)
    {
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new HttpClient { BaseAddress = new Uri(address.TrimEnd('/') + "/") };
    }
}
