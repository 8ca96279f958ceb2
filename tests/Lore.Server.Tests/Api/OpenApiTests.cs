using System.Net;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Api;

public sealed class OpenApiTests
{
    [Fact]
    public async Task The_OpenAPI_document_lists_the_endpoints_with_summaries_and_bodies()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient();

        var document = await client.ApiGetAsync("/openapi/v1.json");

        Assert.Equal(HttpStatusCode.OK, document.Status);
        var paths = document.Json["paths"]!.AsObject();
        foreach (var path in new[]
        {
            "/api/episodes", "/api/episodes/{id}", "/api/episodes/{id}/steps", "/api/episodes/{id}/outcomes", "/api/episodes/{id}/end",
            "/api/retrieve", "/api/lessons", "/api/lessons/{id}", "/api/snapshots", "/api/snapshots/{id}", "/api/snapshots/{from}/diff/{to}",
            "/api/rollout", "/api/rollout/promote", "/api/rollout/rollback", "/api/rollout/freeze", "/api/learn", "/api/review",
            "/api/review/{id}/approve", "/api/audit", "/api/audit/verify", "/api/keys", "/api/keys/{id}/revoke", "/healthz",
        })
        {
            Assert.True(paths.ContainsKey(path), $"the document has no {path}");
        }

        var retrieve = paths["/api/retrieve"]!["post"]!;
        Assert.Contains("lessons", (string)retrieve["summary"]!, StringComparison.Ordinal);
        Assert.NotNull(retrieve["requestBody"]!["content"]!["application/json"]);
        Assert.Equal("Lore", (string)document.Json["info"]!["title"]!);
        Assert.Equal("bearer", (string)document.Json["components"]!["securitySchemes"]!["loreApiKey"]!["scheme"]!);
        var keys = paths["/api/keys"]!["get"]!;
        Assert.Contains("admin role", (string)keys["description"]!, StringComparison.Ordinal);
        Assert.NotNull(keys["security"]![0]!["loreApiKey"]);
        Assert.Null(paths["/healthz"]!["get"]!["security"]);
    }

    [Fact]
    public async Task The_OpenAPI_document_states_what_a_proxy_200_guarantees_in_each_mode()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient();

        var document = await client.ApiGetAsync("/openapi/v1.json");

        var proxy = document.Json["paths"]!["/v1/chat/completions"]!["post"]!;
        var description = (string)proxy["description"]!;
        Assert.Contains("X-Lore-Recorded: queued", description, StringComparison.Ordinal);
        Assert.Contains("X-Lore-Durable: true", description, StringComparison.Ordinal);
        Assert.Contains("503", description, StringComparison.Ordinal);
    }
}
