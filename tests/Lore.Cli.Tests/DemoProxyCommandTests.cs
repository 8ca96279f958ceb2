using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using Lore.Server;
using Lore.Server.Security;
using Lore.Simulation.Upstream;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Cli.Tests;

/// <summary><c>lore demo --proxy</c> against a real <c>lore serve --upstream simulated</c> on loopback.</summary>
public sealed partial class DemoProxyCommandTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Demo_through_the_proxy_records_outcomes_learns_and_later_calls_carry_the_lessons()
    {
        await using var server = await ServerAsync(configure: null);
        var key = await server.KeyAsync(ApiKeyRole.Admin);

        var result = await CliRunner.RunAsync("demo", "--proxy", server.BaseAddress.AbsoluteUri, "--key", key, "--episodes", "120", "--learn-every", "60", "--seed", "11");

        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        Assert.Contains("Simulated:", result.Out, StringComparison.Ordinal);
        var episodes = await EpisodesAsync(server.Store, result.Out, 120);
        Assert.All(episodes, e => Assert.Equal(OutcomeSource.Environment, Assert.Single(e.Outcomes).Source));
        Assert.All(episodes, e => Assert.NotNull(e.EndedAt));
        var run = Assert.Single(await server.Store.ListLearningRunsAsync("default", 10, Ct));
        Assert.NotNull(run.SnapshotId);
        Assert.All(episodes.Take(60), e => Assert.Empty(e.InjectedLessonIds));
        Assert.All(episodes.Skip(60), e => Assert.Equal(run.SnapshotId, e.SnapshotId));
        Assert.Contains(episodes.Skip(60), e => e.InjectedLessonIds.Count > 0);
        Assert.Contains($"learned after episode 60", result.Out, StringComparison.Ordinal);
        Assert.Contains(run.SnapshotId, result.Out, StringComparison.Ordinal);
        var before = episodes.Take(60).Count(e => e.Succeeded == true);
        var after = episodes.Skip(60).Count(e => e.Succeeded == true);
        Assert.True(after > before, $"successes before learning {before}/60, after {after}/60");
    }

    [Fact]
    public async Task Demo_promotes_a_snapshot_the_servers_policy_put_in_canary_and_says_so()
    {
        await using var server = await ServerAsync(o =>
        {
            o.Rollout.EntryStage = RolloutStage.Canary;
            o.Rollout.CanaryShare = 0.1;
        });
        var key = await server.KeyAsync(ApiKeyRole.Admin);

        var result = await CliRunner.RunAsync("demo", "--proxy", server.BaseAddress.AbsoluteUri, "--key", key, "--episodes", "80", "--learn-every", "60", "--seed", "11", "--streaming");

        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        var run = Assert.Single(await server.Store.ListLearningRunsAsync("default", 10, Ct));
        Assert.Equal(run.SnapshotId, await server.Store.GetActiveSnapshotIdAsync("default", Ct));
        Assert.True(result.Out.Contains("entered as canary", StringComparison.Ordinal), result.Out);
        Assert.Contains("promoted it", result.Out, StringComparison.Ordinal);
        var promoted = new List<AuditEntry>();
        await foreach (var entry in server.Store.ReadAuditAsync(0, Ct))
        {
            if (entry.Action == AuditActions.SnapshotPromoted)
            {
                promoted.Add(entry);
            }
        }

        Assert.Contains("lore demo --proxy", Assert.Single(promoted).Reason, StringComparison.Ordinal);
        var episodes = await EpisodesAsync(server.Store, result.Out, 80);
        Assert.All(episodes.Skip(60), e => Assert.Equal(run.SnapshotId, e.SnapshotId));
    }

    [Fact]
    public async Task Demo_with_an_agent_key_records_outcomes_and_says_up_front_that_it_cannot_learn()
    {
        await using var server = await ServerAsync(configure: null);
        var key = await server.KeyAsync(ApiKeyRole.Agent);

        var result = await CliRunner.RunAsync("demo", "--proxy", server.BaseAddress.AbsoluteUri, "--key", key, "--episodes", "10", "--learn-every", "5");

        Assert.True(result.ExitCode == 0, result.Error + result.Out);
        Assert.Contains("not an admin key", result.Out, StringComparison.Ordinal);
        Assert.Empty(await server.Store.ListLearningRunsAsync("default", 10, Ct));
        Assert.All(await EpisodesAsync(server.Store, result.Out, 10), e => Assert.Single(e.Outcomes));
    }

    [Fact]
    public async Task Demo_against_an_unreachable_server_fails_with_one_line_naming_the_address()
    {
        var port = FreePort();

        var result = await CliRunner.RunAsync("demo", "--proxy", $"http://127.0.0.1:{port}", "--key", "lore_abc_def", "--episodes", "5");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("lore: error: cannot reach Lore at http://127.0.0.1:" + port, line, StringComparison.Ordinal);
        Assert.Contains("lore serve", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Demo_with_a_wrong_key_fails_with_401_before_running_anything()
    {
        await using var server = await ServerAsync(configure: null);

        var result = await CliRunner.RunAsync("demo", "--proxy", server.BaseAddress.AbsoluteUri, "--key", "lore_0123456789ab_notthesecret", "--episodes", "5");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("refused the key (401 Unauthorized)", result.Error, StringComparison.Ordinal);
        Assert.Equal(0, await server.Store.CountEpisodesAsync("default", Ct));
    }

    [Fact]
    public async Task Demo_against_a_server_without_an_upstream_tells_how_to_start_one()
    {
        await using var server = await ServerAsync(configure: null, simulated: false);
        var key = await server.KeyAsync(ApiKeyRole.Admin);

        var result = await CliRunner.RunAsync("demo", "--proxy", server.BaseAddress.AbsoluteUri, "--key", key, "--episodes", "5");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--upstream simulated", result.Error, StringComparison.Ordinal);
    }

    private static async Task<List<Episode>> EpisodesAsync(SqliteLoreStore store, string output, int count)
    {
        var prefix = EpisodePrefix().Match(output);
        Assert.True(prefix.Success, output);
        var episodes = new List<Episode>();
        for (var i = 1; i <= count; i++)
        {
            var episode = await store.GetEpisodeAsync($"{prefix.Groups[1].Value}{i:D5}", Ct);
            Assert.NotNull(episode);
            episodes.Add(episode);
        }

        return episodes;
    }

    [GeneratedRegex(@"Episodes are stored as (demo-[0-9a-f]{8}-)NNNNN")]
    private static partial Regex EpisodePrefix();

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static async Task<RunningServer> ServerAsync(Action<LoreOptions>? configure, bool simulated = true)
    {
        var directory = new TempDirectory();
        var store = await SqliteLoreStore.OpenAsync(directory.File("lore.db"), Ct);
        var app = LoreServer.Build(new LoreServerOptions
        {
            Store = store,
            Urls = "http://127.0.0.1:0",
            UpstreamBaseUrl = simulated ? new Uri(SimulatedUpstreamEndpoints.Prefix + "/", UriKind.Relative) : null,
            ConfigureRuntime = configure,
        });
        app.MapSimulatedUpstream();
        await app.StartAsync(Ct);
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new RunningServer(directory, store, app, new Uri(address.TrimEnd('/') + "/"));
    }

    private sealed class RunningServer(TempDirectory directory, SqliteLoreStore store, WebApplication app, Uri baseAddress) : IAsyncDisposable
    {
        public SqliteLoreStore Store => store;

        public Uri BaseAddress => baseAddress;

        public async Task<string> KeyAsync(ApiKeyRole role)
        {
            var (key, presented) = ApiKeyAuthentication.Issue("default", role, "demo test", "test", DateTimeOffset.UtcNow);
            await store.SaveApiKeyAsync(key, Ct);
            return presented;
        }

        public async ValueTask DisposeAsync()
        {
            await app.StopAsync(CancellationToken.None);
            await app.DisposeAsync();
            await store.DisposeAsync();
            directory.Dispose();
        }
    }
}
