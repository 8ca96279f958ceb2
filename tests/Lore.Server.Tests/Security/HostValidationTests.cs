using System.Net;
using CsCheck;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Security;

/// <summary>DNS-rebinding protection: a server on loopback answers only requests that name a loopback host (or an allowed one).</summary>
public sealed class HostValidationTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("/mcp")]
    [InlineData("/api/episodes")]
    [InlineData("/v1/models")]
    [InlineData("/dashboard")]
    [InlineData("/healthz")]
    public async Task A_foreign_host_or_origin_is_refused_on_every_route_while_loopback_names_pass(string path)
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Admin);
        using var http = server.CreateClient(key);

        async Task<HttpStatusCode> SendAsync(string? host, string? origin)
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            if (host is not null)
            {
                request.Headers.Host = host;
            }

            if (origin is not null)
            {
                request.Headers.Add("Origin", origin);
            }

            using var response = await http.SendAsync(request, Ct);
            if (response.StatusCode == HttpStatusCode.Forbidden)
            {
                Assert.Contains("not", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
            }

            return response.StatusCode;
        }

        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync("evil.example.com", "http://evil.example.com"));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync("evil.example.com", null));
        Assert.Equal(HttpStatusCode.Forbidden, await SendAsync($"localhost:{server.BaseAddress.Port}", "http://evil.example.com"));
        Assert.NotEqual(HttpStatusCode.Forbidden, await SendAsync($"localhost:{server.BaseAddress.Port}", $"http://localhost:{server.BaseAddress.Port}"));
        Assert.NotEqual(HttpStatusCode.Forbidden, await SendAsync(null, null));
    }

    [Fact]
    public async Task An_allowed_host_passes_behind_a_proxy_and_star_turns_the_check_off()
    {
        await using var named = await LoreTestServer.StartAsync(o => o.AllowedHosts = ["lore.example.com"]);
        await using var open = await LoreTestServer.StartAsync(o => o.AllowedHosts = ["*"]);

        foreach (var (server, host, expected) in new[] { (named, "lore.example.com", HttpStatusCode.OK), (named, "evil.example.com", HttpStatusCode.Forbidden), (open, "evil.example.com", HttpStatusCode.OK) })
        {
            using var http = server.CreateClient();
            using var request = new HttpRequestMessage(HttpMethod.Get, "/healthz");
            request.Headers.Host = host;
            using var response = await http.SendAsync(request, Ct);
            Assert.Equal(expected, response.StatusCode);
        }
    }

    [Fact]
    public async Task An_allow_list_entry_that_is_not_a_host_name_is_refused_at_start()
    {
        var error = await Assert.ThrowsAsync<ArgumentException>(() => LoreTestServer.StartAsync(o => o.AllowedHosts = ["https://lore.example.com/"]));
        Assert.Contains("not a host name", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("/dashboard/lessons?q=1", "/dashboard/lessons?q=1")]
    [InlineData("/dashboard/../../x", "/dashboard")]
    [InlineData("/dashboard/%2e%2e/%2e%2e/x", "/dashboard")]
    [InlineData("/dashboard/./audit", "/dashboard/audit")]
    [InlineData("/dashboardx", "/dashboard")]
    [InlineData("//evil.example.com/dashboard", "/dashboard")]
    [InlineData("https://evil.example.com/dashboard", "/dashboard")]
    [InlineData("/dashboard/lessons/../audit?tab=1", "/dashboard/audit?tab=1")]
    public void The_sign_in_return_path_is_resolved_and_never_leaves_the_dashboard(string given, string expected)
        => Assert.Equal(expected, Server.Dashboard.DashboardForms.LocalReturnPath(given, "/dashboard"));

    [Fact]
    public void Any_return_path_resolves_to_the_dashboard_or_the_fallback()
        => CsCheck.Gen.String[CsCheck.Gen.OneOf(CsCheck.Gen.Const('/'), CsCheck.Gen.Const('.'), CsCheck.Gen.Const('%'), CsCheck.Gen.Const('2'), CsCheck.Gen.Const('e'), CsCheck.Gen.Char.AlphaNumeric), 0, 30]
            .Select(tail => "/dashboard" + tail)
            .Sample(path =>
            {
                var resolved = Server.Dashboard.DashboardForms.LocalReturnPath(path, "/fallback");
                return resolved == "/fallback"
                    || ((resolved == "/dashboard" || resolved.StartsWith("/dashboard/", StringComparison.Ordinal))
                        && !resolved.Split('/').Any(s => s is ".." or "." || Uri.UnescapeDataString(s) is ".." or "."));
            });
}
