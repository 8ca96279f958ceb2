using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lore.Server.Tests.Support;
using ModelContextProtocol.Client;
using Xunit;
using static Lore.Server.Tests.Mcp.McpTestData;

namespace Lore.Server.Tests.Mcp;

/// <summary>The MCP server over streamable HTTP at <c>/mcp</c> of a real <c>lore serve</c>, reached with API keys.</summary>
public sealed class McpHttpTests : McpToolsContract
{
    private LoreTestServer? _server;

    private LoreTestServer Server => _server ?? throw new InvalidOperationException("not started");

    protected override ILoreStore Store => Server.Store;

    public override async ValueTask InitializeAsync() => _server = await LoreTestServer.StartAsync();

    public override async ValueTask DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }
    }

    protected override async Task<McpClient> ConnectAsync(string tenant)
        => await ConnectWithKeyAsync(await Server.CreateKeyAsync(tenant, ApiKeyRole.Agent));

    private Task<McpClient> ConnectWithKeyAsync(string? key) => ConnectHttpAsync(Server.BaseAddress, key);

    [Fact]
    public async Task A_callers_mistakes_are_not_logged_as_server_errors()
    {
        var logs = new CapturedLogs();
        await using var server = await LoreTestServer.StartAsync(o => o.ConfigureLogging = logs.AddTo);
        var options = new HttpClientTransportOptions
        {
            Endpoint = new Uri(server.BaseAddress, "mcp"),
            TransportMode = HttpTransportMode.StreamableHttp,
            AdditionalHeaders = new Dictionary<string, string> { ["Authorization"] = $"Bearer {await server.CreateKeyAsync("acme", ApiKeyRole.Agent)}" },
        };
        await using var client = await McpClient.CreateAsync(new HttpClientTransport(options), cancellationToken: Ct);

        (await client.CallAsync("get_guidelines", new())).Error();
        (await client.CallAsync("record_outcome", new() { ["episode_id"] = "ep-nowhere", ["success"] = true })).Error();
        (await client.CallAsync("list_lessons", new() { ["limit"] = 5000 })).Error();

        Assert.DoesNotContain(logs.Lines, l => l.StartsWith("Error", StringComparison.Ordinal) || l.StartsWith("Critical", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Connecting_without_a_valid_api_key_is_refused_before_any_tool_runs()
    {
        var noKey = await Assert.ThrowsAnyAsync<HttpRequestException>(() => ConnectWithKeyAsync(null));
        Assert.Equal(HttpStatusCode.Unauthorized, noKey.StatusCode);
        var forged = await Assert.ThrowsAnyAsync<HttpRequestException>(() => ConnectWithKeyAsync("lore_k000000000000_not-the-secret"));
        Assert.Equal(HttpStatusCode.Unauthorized, forged.StatusCode);

        // A tool call sent without a key is refused by authentication, and nothing is recorded.
        using var http = Server.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp")
        {
            Content = new StringContent(
                """{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"name": "record_trajectory", "arguments": {"task": "x", "messages": []}}}""",
                Encoding.UTF8,
                "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        using var response = await http.SendAsync(request, Ct);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal(0, await Store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Every_request_acts_for_its_own_key_so_no_session_can_be_borrowed_by_another_tenant()
    {
        await ServeAsync(Store, TenantA, RefundLesson(TenantA));
        await using var a = await ConnectAsync(TenantA);

        // Stateless: the server mints no session that a request with another key could present.
        Assert.Null(a.SessionId);

        // A raw request of tenant B's key, even naming whatever session it likes, is answered for tenant B.
        var keyB = await Server.CreateKeyAsync(TenantB, ApiKeyRole.Agent);
        using var http = Server.CreateClient(keyB);
        using var request = new HttpRequestMessage(HttpMethod.Post, "mcp")
        {
            Content = new StringContent(
                """{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "list_lessons", "arguments": {}}}""",
                Encoding.UTF8,
                "application/json"),
        };
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        request.Headers.Add("MCP-Protocol-Version", "2025-06-18");
        using var response = await http.SendAsync(request, Ct);
        var body = await response.Content.ReadAsStringAsync(Ct);
        Assert.True(response.IsSuccessStatusCode, $"{(int)response.StatusCode}: {body}");
        Assert.Contains("\"total\":0", body.Replace(" ", "", StringComparison.Ordinal));
        Assert.DoesNotContain("les-refund-lookup", body);

        var seenByA = (await a.CallAsync("list_lessons", new())).Ok();
        Assert.Equal(1, seenByA.GetProperty("total").GetInt32());
    }
}
