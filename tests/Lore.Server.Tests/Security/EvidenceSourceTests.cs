using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lore.Server.Hosting;
using Lore.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using ModelContextProtocol.Client;
using Xunit;
using static Lore.Server.Tests.Mcp.McpTestData;

namespace Lore.Server.Tests.Security;

/// <summary>
/// Sources you can trust, through the real server: whatever unit names a client sends, learning counts evidence by
/// <see cref="Episode.EvidenceSource"/>, which the server sets from the API key. An unverified key is one source
/// whatever units it invents (REST, proxy, MCP, OTLP alike); a key an admin trusts to assert units counts each unit.
/// </summary>
public sealed class EvidenceSourceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static string KeyId(string presented) => presented.Split('_')[1];

    private static async Task<List<Episode>> EpisodesAsync(LoreTestServer server, string tenant)
    {
        var runtime = await server.App.Services.GetRequiredService<TenantRuntimes>().GetAsync(tenant, Ct);
        await runtime.FlushAsync(Ct);
        var episodes = new List<Episode>();
        await foreach (var episode in server.Store.ReadEpisodesAsync(new EpisodeQuery { Tenant = tenant }, Ct))
        {
            episodes.Add(episode);
        }

        return episodes;
    }

    [Fact]
    public async Task One_key_inventing_eight_unit_names_over_rest_counts_as_one_source()
    {
        await using var server = await LoreTestServer.StartAsync();
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var client = server.CreateClient(key);

        for (var i = 0; i < 8; i++)
        {
            Assert.Equal(HttpStatusCode.Created, (await client.ApiPostAsync("/api/episodes", ApiClient.RefundEpisode(i, $"invented-user-{i}", recovered: true))).Status);
        }

        var episodes = await EpisodesAsync(server, "acme");
        Assert.Equal(8, episodes.Select(e => e.UnitKey).Distinct().Count()); // rollout still sees the units
        Assert.Equal([$"key:{KeyId(key)}"], episodes.Select(e => e.EvidenceSource).Distinct());
    }

    [Fact]
    public async Task A_key_an_admin_trusts_counts_each_unit_it_names_and_the_change_is_audited()
    {
        await using var server = await LoreTestServer.StartAsync();
        var admin = await server.CreateKeyAsync("acme", ApiKeyRole.Admin);
        using var adminClient = server.CreateClient(admin);
        var created = await adminClient.ApiPostAsync("/api/keys", new { name = "support backend", role = "agent", trustUnits = true });
        Assert.Equal(HttpStatusCode.Created, created.Status);
        Assert.True((bool)created.Json["key"]!["trustUnits"]!);
        var backendId = (string)created.Json["key"]!["id"]!;
        using var backend = server.CreateClient((string)created.Json["secret"]!);

        for (var i = 0; i < 8; i++)
        {
            await backend.ApiPostAsync("/api/episodes", ApiClient.RefundEpisode(i, $"customer-{i}", recovered: true));
        }

        var trusted = await EpisodesAsync(server, "acme");
        Assert.Equal(8, trusted.Select(e => e.EvidenceSource).Distinct().Count());
        Assert.Equal($"key:{backendId}/unit:customer-3", trusted[3].Source);

        // Trust withdrawn: from now on the key is one source again, whatever units it names.
        var withdrawn = await adminClient.ApiPostAsync($"/api/keys/{backendId}/trust", new { trustUnits = false, reason = "backend no longer authenticates users" });
        Assert.Equal(HttpStatusCode.OK, withdrawn.Status);
        Assert.False((bool)withdrawn.Json["trustUnits"]!);
        for (var i = 8; i < 12; i++)
        {
            await backend.ApiPostAsync("/api/episodes", ApiClient.RefundEpisode(i, $"customer-{i}", recovered: true));
        }

        var after = (await EpisodesAsync(server, "acme")).Skip(8).ToList();
        Assert.Equal([$"key:{backendId}"], after.Select(e => e.EvidenceSource).Distinct());

        var audit = await adminClient.ApiGetAsync($"/api/audit?action={AuditActions.ApiKeyTrustChanged}");
        var entry = Assert.Single(audit.Json.AsArray());
        Assert.Equal(backendId, (string)entry!["subject"]!);
        Assert.Equal("backend no longer authenticates users", (string)entry["reason"]!);
        Assert.False((await server.Store.GetApiKeyAsync(backendId, Ct))!.TrustUnits);
    }

    [Fact]
    public async Task One_key_inventing_units_through_the_proxy_counts_as_one_source()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);

        for (var i = 0; i < 8; i++)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"refund my order"}]}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Lore-Unit", $"invented-{i}");
            request.Headers.Add("X-Lore-End", "true");
            using var response = await http.SendAsync(request, Ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var episodes = await EpisodesAsync(server, "acme");
        Assert.Equal(8, episodes.Count);
        Assert.Equal(8, episodes.Select(e => e.UnitKey).Distinct().Count());
        Assert.Equal([$"key:{KeyId(key)}"], episodes.Select(e => e.EvidenceSource).Distinct());
    }

    [Fact]
    public async Task Mcp_trajectories_without_a_unit_share_one_source_and_a_trusted_keys_units_count_separately()
    {
        await using var server = await LoreTestServer.StartAsync();
        var plain = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        await using (var client = await ConnectAsync(server, plain))
        {
            for (var i = 0; i < 3; i++)
            {
                (await client.CallAsync("record_trajectory", new() { ["task"] = $"refund order {i}", ["messages"] = RefundConversation(), ["outcome"] = true })).Ok();
            }

            (await client.CallAsync("record_trajectory", new() { ["task"] = "refund order 9", ["messages"] = RefundConversation(), ["unit"] = "invented" })).Ok();
        }

        var episodes = await EpisodesAsync(server, "acme");
        Assert.Equal(4, episodes.Count);
        Assert.Equal([$"key:{KeyId(plain)}"], episodes.Select(e => e.EvidenceSource).Distinct());

        var admin = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Admin));
        var created = await admin.ApiPostAsync("/api/keys", new { name = "trusted mcp", role = "agent", trustUnits = true });
        var trustedId = (string)created.Json["key"]!["id"]!;
        await using (var client = await ConnectAsync(server, (string)created.Json["secret"]!))
        {
            (await client.CallAsync("record_trajectory", new() { ["task"] = "refund order 10", ["messages"] = RefundConversation(), ["unit"] = "alice" })).Ok();
            (await client.CallAsync("record_trajectory", new() { ["task"] = "refund order 11", ["messages"] = RefundConversation(), ["unit"] = "bob" })).Ok();
            (await client.CallAsync("record_trajectory", new() { ["task"] = "refund order 12", ["messages"] = RefundConversation() })).Ok();
            (await client.CallAsync("record_trajectory", new() { ["task"] = "refund order 13", ["messages"] = RefundConversation() })).Ok();
        }

        var sources = (await EpisodesAsync(server, "acme")).Skip(4).Select(e => e.EvidenceSource).ToList();
        Assert.Equal([$"key:{trustedId}/unit:alice", $"key:{trustedId}/unit:bob", $"key:{trustedId}", $"key:{trustedId}"], sources);
    }

    [Fact]
    public async Task Otlp_traces_naming_many_users_under_one_key_count_as_one_source()
    {
        await using var server = await LoreTestServer.StartAsync();
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var spans = Enumerable.Range(0, 4).Select(i => new Server.Otlp.OtlpSpan
        {
            TraceId = $"{i:x2}f7651916cd43dd8448eb211c80319c",
            SpanId = "b7ad6b7169203331",
            Name = "chat m",
            StartTimeUnixNano = 1_000,
            EndTimeUnixNano = 2_000,
            Attributes =
            [
                new("gen_ai.operation.name", "chat"),
                new("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"hello"}]}]"""),
                new("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"hi"}]}]"""),
                new("user.id", $"invented-{i}"),
            ],
        }).ToList();
        using var http = server.CreateClient(key);
        var body = new ByteArrayContent(OtlpWire.ToProtobuf(spans));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        using var response = await http.PostAsync("v1/traces", body, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);

        // Traces are written once they settle; write every pending one now.
        await server.App.Services.GetRequiredService<Lore.Server.Otlp.OtlpTraceReceiver>().SweepAsync(all: true);
        var episodes = await EpisodesAsync(server, "acme");
        Assert.Equal(4, episodes.Count);
        Assert.Equal(4, episodes.Select(e => e.UnitKey).Distinct().Count());
        Assert.Equal([$"key:{KeyId(key)}"], episodes.Select(e => e.EvidenceSource).Distinct());
    }

    private static Task<McpClient> ConnectAsync(LoreTestServer server, string key)
        => McpClient.CreateAsync(
            new HttpClientTransport(new HttpClientTransportOptions
            {
                Endpoint = new Uri(server.BaseAddress, "mcp"),
                TransportMode = HttpTransportMode.StreamableHttp,
                AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {key}" },
            }),
            cancellationToken: Ct);
}
