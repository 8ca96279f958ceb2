using System.Net.Http.Headers;
using Lore.Server;
using Lore.Server.Security;
using Lore.Simulation.Upstream;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Server.Tests.Support;

/// <summary>
/// A real <c>lore serve</c> on a free loopback port over a fresh SQLite store: tests talk to it with real clients
/// (HttpClient, the OpenAI SDK, the MCP client, the OTLP exporter), never through an in-memory shortcut.
/// </summary>
internal sealed class LoreTestServer : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private LoreTestServer(TempDirectory directory, SqliteLoreStore store, WebApplication app, LoreServerOptions options)
    {
        _directory = directory;
        Store = store;
        App = app;
        Options = options;
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(addresses.First().TrimEnd('/') + "/");
    }

    public SqliteLoreStore Store { get; }

    public WebApplication App { get; }

    public LoreServerOptions Options { get; }

    /// <summary>For example <c>http://127.0.0.1:41234/</c>.</summary>
    public Uri BaseAddress { get; }

    /// <summary>The proxy's upstream as <c>lore serve --upstream simulated</c> sets it: the simulated agent mapped on this server.</summary>
    public static Uri SimulatedUpstream { get; } = new(SimulatedUpstreamEndpoints.Prefix + "/", UriKind.Relative);

    public static Task<LoreTestServer> StartAsync(Action<LoreServerOptions>? configure = null) => StartAsync(configure, seed: null);

    /// <summary>As <see cref="StartAsync(Action{LoreServerOptions}?)"/>, after <paramref name="seed"/> wrote what a previous process left in the store.</summary>
    public static async Task<LoreTestServer> StartAsync(Action<LoreServerOptions>? configure, Func<SqliteLoreStore, Task>? seed)
    {
        var directory = new TempDirectory();
        var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory.Path, "lore.db"), TestContext.Current.CancellationToken);
        if (seed is not null)
        {
            await seed(store);
        }

        var options = new LoreServerOptions { Store = store, Urls = "http://127.0.0.1:0" };
        configure?.Invoke(options);
        var app = LoreServer.Build(options);
        app.MapSimulatedUpstream();
        await app.StartAsync(TestContext.Current.CancellationToken);
        return new LoreTestServer(directory, store, app, options);
    }

    /// <summary>
    /// The tenant's episodes once <paramref name="ready"/> holds for them: capture that a call only queued (the proxy's
    /// default acknowledgement) is written after the answer went out, so tests wait for it with a generous deadline.
    /// </summary>
    public async Task<List<Episode>> WaitForEpisodesAsync(string tenant, Func<List<Episode>, bool> ready)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (true)
        {
            var episodes = await Store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, TestContext.Current.CancellationToken).ToListAsync(TestContext.Current.CancellationToken);
            if (ready(episodes))
            {
                return episodes;
            }

            Assert.True(DateTime.UtcNow < deadline, $"tenant {tenant}'s episodes did not reach the expected state within 2 minutes ({episodes.Count} stored)");
            await Task.Delay(50, TestContext.Current.CancellationToken);
        }
    }

    /// <summary>Stores a new key and returns the string a client presents.</summary>
    public async Task<string> CreateKeyAsync(string tenant, ApiKeyRole role, string name = "test", bool trustUnits = false)
    {
        var (key, presented) = ApiKeyAuthentication.Issue(tenant, role, name, "test", DateTimeOffset.UtcNow);
        await Store.SaveApiKeyAsync(key with { TrustUnits = trustUnits }, TestContext.Current.CancellationToken);
        return presented;
    }

    /// <summary>An HttpClient on the server's address, sending <paramref name="apiKey"/> as a bearer token when given.</summary>
    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(CancellationToken.None);
        await App.DisposeAsync();
        await Store.DisposeAsync();
        _directory.Dispose();
    }
}
