using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Api;

/// <summary>Bad bodies get a clear 4xx problem naming the field (by JSON path), and nothing is written.</summary>
public sealed class MalformedRequestTests(SharedLoreServer shared) : IClassFixture<SharedLoreServer>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string, string, string> BadEpisodes => new()
    {
        { "malformed JSON", """{"task": "refund", "unit": }""", "unit" },
        { "missing task", """{"unit": "u1"}""", "task" },
        { "blank task", """{"task": "   "}""", "task" },
        { "wrong type", """{"task": "refund", "ended": "yes"}""", "ended" },
        { "unknown field", """{"task": "refund", "tenant": "globex"}""", "tenant" },
        { "score out of range", """{"task": "refund", "outcomes": [{"score": 1.5}]}""", "outcomes[0].score" },
        { "score of the wrong type", """{"task": "refund", "outcomes": [{"score": "high"}]}""", "outcomes[0].score" },
        { "unknown step kind", """{"task": "refund", "steps": [{"kind": "toolCall", "tool": "a"}, {"kind": "thought"}]}""", "steps[1].kind" },
        { "tool call without a tool", """{"task": "refund", "steps": [{"kind": "toolCall"}]}""", "steps[0].tool" },
        { "arguments not an object", """{"task": "refund", "steps": [{"kind": "toolCall", "tool": "a", "arguments": [1, 2]}]}""", "steps[0].arguments" },
        { "message without a role", """{"task": "refund", "steps": [{"kind": "modelCall", "request": [{"text": "hi"}]}]}""", "steps[0].request[0].role" },
        { "unknown outcome source", """{"task": "refund", "outcomes": [{"score": 1, "source": "oracle"}]}""", "outcomes[0].source" },
        { "blank id", """{"id": " ", "task": "refund"}""", "id" },
        { "JSON null", "null", "$" },
        { "an array instead of an object", "[]", "$" },
    };

    [Theory]
    [MemberData(nameof(BadEpisodes))]
    public async Task A_bad_episode_body_is_refused_naming_the_field_and_nothing_is_written(string why, string json, string field)
    {
        var server = shared.Server;
        var tenant = "t-" + Guid.NewGuid().ToString("n");
        using var client = server.CreateClient(await server.CreateKeyAsync(tenant, ApiKeyRole.Agent));

        var response = await client.ApiPostRawAsync("/api/episodes", json);

        Assert.True(response.Status == HttpStatusCode.BadRequest, $"{why}: {(int)response.Status} {response.Text}");
        Assert.Equal("application/problem+json", response.ContentType);
        Assert.Contains(field, response.ErrorFields);
        Assert.Contains(field, (string)response.Json["detail"]!, StringComparison.Ordinal);
        Assert.Equal(0, await server.Store.CountEpisodesAsync(tenant, Ct));
    }

    [Fact]
    public async Task Every_bad_field_is_named_at_once()
    {
        using var client = shared.Server.CreateClient(await shared.Server.CreateKeyAsync("t-" + Guid.NewGuid().ToString("n"), ApiKeyRole.Agent));

        var response = await client.ApiPostRawAsync("/api/episodes", """{"outcomes": [{"score": -1, "source": "oracle"}], "steps": [{"kind": "toolCall"}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(["outcomes[0].score", "outcomes[0].source", "steps[0].tool", "task"], response.ErrorFields.Order(StringComparer.Ordinal));
    }

    [Theory]
    [InlineData("../../x")]
    [InlineData("..")]
    [InlineData("a/b")]
    [InlineData("has space")]
    [InlineData("-leading-dash")]
    public async Task An_episode_id_no_route_could_address_is_refused_with_the_grammar(string id)
    {
        using var client = shared.Server.CreateClient(await shared.Server.CreateKeyAsync("t-" + Guid.NewGuid().ToString("n"), ApiKeyRole.Agent));

        var response = await client.ApiPostAsync("/api/episodes", new { id, task = "refund order 1142" });

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(["id"], response.ErrorFields);
        Assert.Contains(EpisodeIds.Rule, response.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_episode_id_in_the_grammar_is_created_and_addressable()
    {
        using var client = shared.Server.CreateClient(await shared.Server.CreateKeyAsync("t-" + Guid.NewGuid().ToString("n"), ApiKeyRole.Agent));
        var id = "run:2026-12-05_" + Guid.NewGuid().ToString("n");

        Assert.Equal(HttpStatusCode.Created, (await client.ApiPostAsync("/api/episodes", new { id, task = "refund order 1142" })).Status);
        Assert.Equal(HttpStatusCode.OK, (await client.ApiGetAsync($"/api/episodes/{id}")).Status);
    }

    [Fact]
    public async Task A_syntax_error_reports_where_it_is()
    {
        using var client = shared.Server.CreateClient(await shared.Server.CreateKeyAsync("t-" + Guid.NewGuid().ToString("n"), ApiKeyRole.Agent));

        var response = await client.ApiPostRawAsync("/api/retrieve", "{\n  \"task\": \"refund\",\n  \"tools\": [\"a\" \"b\"]\n}");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Contains("line 3", (string)response.Json["detail"]!, StringComparison.Ordinal);
        Assert.Contains(response.ErrorFields, f => f.StartsWith("tools", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Bad_steps_appended_to_a_running_episode_write_none_of_them()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent));
        Assert.Equal(HttpStatusCode.Created, (await client.ApiPostAsync("/api/episodes", new { id = "ep-1", task = "refund" })).Status);

        var response = await client.ApiPostRawAsync("/api/episodes/ep-1/steps", """{"steps": [{"kind": "toolCall", "tool": "lookup"}, {"kind": "toolCall", "tool": "refund", "latencyMs": -3}]}""");

        Assert.Equal(HttpStatusCode.BadRequest, response.Status);
        Assert.Equal(["steps[1].latencyMs"], response.ErrorFields);
        Assert.Empty((await server.Store.GetEpisodeAsync("ep-1", Ct))!.Steps);
    }

    [Fact]
    public async Task A_body_that_is_not_json_gets_415_and_a_missing_body_400()
    {
        await using var server = await LoreTestServer.StartAsync();
        using var client = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Admin));

        var text = await client.ApiPostRawAsync("/api/episodes", "task=refund", "application/x-www-form-urlencoded");
        var missing = await client.ApiPostAsync("/api/rollout/freeze");
        var badQuery = await client.ApiGetAsync("/api/episodes?limit=lots");

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.Status);
        Assert.Equal(HttpStatusCode.BadRequest, missing.Status);
        Assert.Equal(["$"], missing.ErrorFields);
        Assert.Equal(HttpStatusCode.BadRequest, badQuery.Status);
        Assert.Equal(["limit"], badQuery.ErrorFields);
        Assert.False((await server.Store.GetRolloutAsync("acme", Ct)).Frozen);
    }

    [Fact]
    public async Task An_oversized_body_gets_413_with_or_without_a_content_length_and_nothing_is_written()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.MaxRequestBytes = 16 * 1024);
        using var client = server.CreateClient(await server.CreateKeyAsync("acme", ApiKeyRole.Agent));
        var json = $$"""{"task": "refund", "steps": [{"kind": "toolCall", "tool": "a", "result": "{{new string('x', 40_000)}}"}]}""";

        var declared = await client.ApiPostRawAsync("/api/episodes", json);

        using var chunked = new HttpRequestMessage(HttpMethod.Post, "/api/episodes") { Content = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(json))) };
        chunked.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        chunked.Headers.TransferEncodingChunked = true;
        using var chunkedResponse = await client.SendAsync(chunked, Ct);
        var chunkedText = await chunkedResponse.Content.ReadAsStringAsync(Ct);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, declared.Status);
        Assert.Equal("application/problem+json", declared.ContentType);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, chunkedResponse.StatusCode);
        Assert.Contains("16,384 bytes", chunkedText, StringComparison.Ordinal);
        Assert.Equal(0, await server.Store.CountEpisodesAsync("acme", Ct));

        var small = await client.ApiPostAsync("/api/episodes", new { task = "refund" });
        Assert.Equal(HttpStatusCode.Created, small.Status);
    }
}
