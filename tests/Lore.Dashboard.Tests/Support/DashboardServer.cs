using System.Net.Http.Headers;
using Lore.Server;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Lore.Simulation;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Dashboard.Tests.Support;

/// <summary>
/// A real <c>lore serve</c> on a free loopback port over its own copy of the drift scenario's store (adapted from
/// tests/Lore.Server.Tests/Support/LoreTestServer.cs): each test changes only its copy. Tenants run the drift
/// scenario's control plane, so a review approval enters the rollout the way it did in the run.
/// </summary>
public sealed class DashboardServer : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private DashboardServer(TempDirectory directory, SqliteLoreStore store, WebApplication app)
    {
        _directory = directory;
        Store = store;
        App = app;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.First().TrimEnd('/') + "/");
    }

    public SqliteLoreStore Store { get; }

    public WebApplication App { get; }

    /// <summary>For example <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    public string Url(string path) => new Uri(BaseAddress, path.TrimStart('/')).ToString();

    public static async Task<DashboardServer> StartAsync(DriftStore drift)
    {
        var directory = new TempDirectory();
        var path = drift.CopyTo(directory.Path);
        var store = await SqliteLoreStore.OpenAsync(path, TestContext.Current.CancellationToken);
        var options = new LoreServerOptions
        {
            Store = store,
            Urls = "http://127.0.0.1:0",
            ConfigureRuntime = DriftScenario.ConfigureWithReview,
        };
        var app = LoreServer.Build(options);
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new DashboardServer(directory, store, app);
    }

    /// <summary>Stores a new key and returns the string a client presents.</summary>
    public async Task<string> CreateKeyAsync(ApiKeyRole role, string tenant = Tenants.Default)
    {
        var (key, presented) = ApiKeyAuthentication.Issue(tenant, role, $"dashboard test {role}", "test", DateTimeOffset.UtcNow);
        await Store.SaveApiKeyAsync(key, TestContext.Current.CancellationToken);
        return presented;
    }

    /// <summary>The key id of a presented key: the audit log names its actor <c>key:{id}</c>.</summary>
    public static string Actor(string presented)
        => ApiKeyAuthentication.TryParse(presented, out var id, out _) ? $"key:{id}" : throw new ArgumentException("not a Lore key", nameof(presented));

    /// <summary>The runtime the server serves the tenant with (the one dashboard actions change).</summary>
    public Task<LoreRuntime> RuntimeAsync(string tenant = Tenants.Default)
        => App.Services.GetRequiredService<TenantRuntimes>().GetAsync(tenant, TestContext.Current.CancellationToken);

    /// <summary>An HttpClient on the server's address that does not follow redirects, sending <paramref name="apiKey"/> as a bearer token when given.</summary>
    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = false }) { BaseAddress = BaseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async Task<List<AuditEntry>> AuditAsync()
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in Store.ReadAuditAsync(0, TestContext.Current.CancellationToken))
        {
            entries.Add(entry);
        }

        return entries;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await Store.DisposeAsync();
        _directory.Dispose();
    }
}
