using Lore.Simulation.OpenAi;
using System.ClientModel;
using System.Collections.Immutable;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Lore.Server.Hosting;
using Lore.Server.Proxy;
using Lore.Server.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenAI;
using OpenAI.Chat;
using Xunit;

namespace Lore.Server.Tests.Proxy;

/// <summary>The OpenAI-compatible proxy, driven by the official OpenAI SDK, in front of the simulated workplace's agent or a scripted upstream.</summary>
public sealed class ProxyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_buffered_tool_loop_through_the_sdk_is_one_episode_with_every_model_and_tool_call()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var agent = new WorkplaceOverOpenAi(server.BaseAddress, key);

        var run = await agent.RunAsync(3, "ep-buffered-1", streaming: false, Ct);

        Assert.All(run.Calls, c => Assert.Equal("ep-buffered-1", c["X-Lore-Episode"]));
        Assert.All(run.Calls, c => Assert.Equal("none", c["X-Lore-Snapshot"]));
        await EndAsync(server, "acme", "ep-buffered-1", run);
        var episode = await server.Store.GetEpisodeAsync("ep-buffered-1", Ct);
        Assert.NotNull(episode);
        Assert.Equal("acme", episode.Tenant);
        Assert.Equal(run.Task.Text, episode.Task);
        Assert.Equal(run.Task.CustomerId, episode.UnitKey);
        Assert.Equal(run.Task.Slice, episode.Labels["slice"]);
        Assert.Equal(run.Calls.Count, episode.Steps.Count(s => s.Kind == StepKind.ModelCall));
        var toolSteps = episode.Steps.Where(s => s.Kind == StepKind.ToolCall).ToList();
        Assert.NotEmpty(toolSteps);
        Assert.Equal(run.Calls.Count - 1, toolSteps.Count);
        Assert.All(episode.Steps.Where(s => s.Kind == StepKind.ModelCall), s => Assert.Equal("lore-simulated-agent", s.Model));
        Assert.Equal(run.Verdict.Success, episode.Succeeded);
        Assert.NotNull(episode.EndedAt);
    }

    [Fact]
    public async Task A_streamed_tool_loop_relays_every_chunk_and_captures_the_same_steps_as_a_buffered_one()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var agent = new WorkplaceOverOpenAi(server.BaseAddress, key);

        var buffered = await agent.RunAsync(5, "ep-a", streaming: false, Ct);
        var streamed = await agent.RunAsync(5, "ep-b", streaming: true, Ct);

        Assert.Equal(buffered.FinalText, streamed.FinalText);
        Assert.Equal(buffered.Verdict, streamed.Verdict);
        await EndAsync(server, "acme", "ep-a", buffered);
        await EndAsync(server, "acme", "ep-b", streamed);
        var a = (await server.Store.GetEpisodeAsync("ep-a", Ct))!;
        var b = (await server.Store.GetEpisodeAsync("ep-b", Ct))!;
        Assert.Equal(Describe(a), Describe(b));
        Assert.Equal(
            a.Steps.Where(s => s.Kind == StepKind.ToolCall).Select(s => (s.ToolName, s.ToolArguments, s.ToolResult, s.ToolFailed)),
            b.Steps.Where(s => s.Kind == StepKind.ToolCall).Select(s => (s.ToolName, s.ToolArguments, s.ToolResult, s.ToolFailed)));
    }

    [Fact]
    public async Task After_learning_and_promotion_later_requests_carry_the_lessons_and_succeed_more_often()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);

        // The support backend authenticates its customers, so an admin trusts its key to name them: each customer is
        // a source of evidence (an untrusted key would be one source, and one source never makes a lesson).
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent, trustUnits: true);
        var agent = new WorkplaceOverOpenAi(server.BaseAddress, key, seed: 11);
        const int Tickets = 80;

        var before = new List<TicketRun>();
        for (var i = 0; i < Tickets; i++)
        {
            var run = await agent.RunAsync(i, $"ep-before-{i}", streaming: i % 2 == 0, Ct);
            await EndAsync(server, "acme", $"ep-before-{i}", run);
            before.Add(run);
        }

        var runtime = await server.App.Services.GetRequiredService<TenantRuntimes>().GetAsync("acme", Ct);
        var learned = await runtime.LearnAsync("test", cancellationToken: Ct);
        Assert.NotNull(learned.SnapshotId);
        await runtime.ActivateSnapshotAsync(learned.SnapshotId, Ct);

        var after = new List<TicketRun>();
        for (var i = Tickets; i < 2 * Tickets; i++)
        {
            var run = await agent.RunAsync(i, $"ep-after-{i}", streaming: i % 2 == 0, Ct);
            await EndAsync(server, "acme", $"ep-after-{i}", run);
            after.Add(run);
        }

        Assert.All(after.SelectMany(r => r.Calls), c => Assert.Equal(learned.SnapshotId, c["X-Lore-Snapshot"]));
        Assert.Contains(after.SelectMany(r => r.Calls), c => c["X-Lore-Lessons"].Length > 0);
        var rateBefore = before.Count(r => r.Verdict.Success) / (double)Tickets;
        var rateAfter = after.Count(r => r.Verdict.Success) / (double)Tickets;
        Assert.True(rateAfter > rateBefore + 0.15, $"success before learning {rateBefore:P0}, after {rateAfter:P0}");

        var injected = await server.Store.GetEpisodeAsync(after.Select((r, i) => (r, i)).First(x => x.r.Calls.Any(c => c["X-Lore-Lessons"].Length > 0)).i is var first ? $"ep-after-{Tickets + first}" : "", Ct);
        Assert.NotNull(injected);
        Assert.NotEmpty(injected.InjectedLessonIds);
        Assert.Equal(learned.SnapshotId, injected.SnapshotId);
    }

    [Fact]
    public async Task The_body_goes_upstream_unchanged_but_for_one_lessons_message_and_the_upstream_key()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o =>
        {
            o.UpstreamBaseUrl = upstream.BaseAddress;
            o.UpstreamApiKey = "sk-upstream-secret";
        });
        await McpLikeData.ServeAsync(server.Store, "acme");
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);
        var request = """
            {"model":"gpt-x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Please refund order 1142 for a customer"}],
             "tools":[{"type":"function","function":{"name":"lookup_order","parameters":{"type":"object"}}}],"tool_choice":"auto",
             "response_format":{"type":"text"},"temperature":0.2,"x_vendor_extension":{"keep":[1,2,3]},"user":"u-1"}
            """;

        using var response = await http.PostAsync("v1/chat/completions", new StringContent(request, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(McpLikeData.LessonId, response.Headers.GetValues("X-Lore-Lessons").Single());
        var sent = Assert.Single(upstream.Received);
        Assert.Equal("Bearer sk-upstream-secret", Assert.Single(upstream.Authorizations));
        var expected = JsonNode.Parse(request)!.AsObject();
        var messages = (JsonArray)sent["messages"]!;
        Assert.Equal(3, messages.Count);
        Assert.Equal("system", (string?)messages[1]!["role"]);
        Assert.StartsWith("<lore-lessons snapshot=", (string?)messages[1]!["content"], StringComparison.Ordinal);
        Assert.Contains(McpLikeData.LessonText, (string?)messages[1]!["content"], StringComparison.Ordinal);
        messages.RemoveAt(1);
        Assert.True(JsonNode.DeepEquals(expected, sent), sent.ToJsonString());
    }

    [Fact]
    public async Task An_episode_of_one_tenant_never_gets_another_tenants_lessons()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        await McpLikeData.ServeAsync(server.Store, "tenant-a");
        var keyA = await server.CreateKeyAsync("tenant-a", ApiKeyRole.Agent);
        var keyB = await server.CreateKeyAsync("tenant-b", ApiKeyRole.Admin);

        var a = await AskAsync(server, keyA, "Please refund order 1142 for a customer");
        var b = await AskAsync(server, keyB, "Please refund order 1142 for a customer");

        Assert.Contains(McpLikeData.LessonText, a.Text, StringComparison.Ordinal);
        Assert.DoesNotContain("lore-lessons", b.Text, StringComparison.Ordinal);
        Assert.Equal("", b.Lessons);
        Assert.Equal("none", b.Snapshot);
        var bodies = upstream.Received.ToArray();
        Assert.DoesNotContain(McpLikeData.LessonText, bodies[1].ToJsonString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Upstream_errors_reach_the_sdk_with_their_status_and_body()
    {
        await using var upstream = await ScriptedUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers["Retry-After"] = "7";
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":{"message":"Rate limit reached for requests","type":"requests","code":"rate_limit_exceeded"}}""");
        });
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var client = SdkClient(server, key);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: Ct));

        Assert.Equal(429, error.Status);
        Assert.Contains("Rate limit reached for requests", error.Message, StringComparison.Ordinal);
        Assert.Equal("7", error.GetRawResponse()!.Headers.TryGetValue("Retry-After", out var retry) ? retry : null);
    }

    [Fact]
    public async Task An_unreachable_upstream_is_a_502_in_openais_error_shape_and_is_recorded_as_a_failed_call()
    {
        var closedPort = FreePort();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = new Uri($"http://127.0.0.1:{closedPort}/v1/"));
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => SdkClient(server, key).CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: Ct));

        Assert.Equal(502, error.Status);
        var raw = error.GetRawResponse()!;
        var shape = OpenAiErrorOf(raw.Content.ToString());
        Assert.Equal("server_error", shape.Type);
        Assert.Equal("upstream_unreachable", shape.Code);
        Assert.Contains("could not be reached", shape.Message, StringComparison.Ordinal);
        Assert.Contains("could not be reached", error.Message, StringComparison.Ordinal); // the SDK shows Lore's message, not "(no body)"
        // A queued acknowledgement records the failed call after the answer went out: wait for it.
        var episode = Assert.Single(await server.WaitForEpisodesAsync("acme", e => e.Count > 0 && e[0].Steps.Count > 0));
        var step = Assert.Single(episode.Steps);
        Assert.Empty(step.Response);
        Assert.StartsWith("upstream unreachable", step.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("{not json", "$")]
    [InlineData("[1,2]", "$")]
    [InlineData("""{"model":"m"}""", "messages")]
    [InlineData("""{"model":"m","messages":[]}""", "messages")]
    [InlineData("""{"model":"m","messages":[{"content":"hi"}]}""", "messages[0].role")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":42}]}""", "messages[0].content")]
    [InlineData("""{"model":"m","messages":[{"role":"user","content":"hi"}],"stream":"yes"}""", "stream")]
    public async Task A_malformed_body_is_a_400_in_openais_error_shape_naming_the_param_and_nothing_is_written(string body, string field)
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);

        using var response = await http.PostAsync("v1/chat/completions", new StringContent(body, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        var error = OpenAiErrorOf(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(field, error.Param);
        Assert.Equal("invalid_request_error", error.Type);
        Assert.Empty(upstream.Received);
        Assert.Equal(0, await server.Store.CountEpisodesAsync("acme", Ct));
    }

    [Fact]
    public async Task Lores_own_401_409_and_429_reach_the_sdk_in_openais_error_shape_with_their_message()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => { o.UpstreamBaseUrl = upstream.BaseAddress; o.RequestsPerMinutePerKey = 3; });
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);

        var unauthorized = await Assert.ThrowsAsync<ClientResultException>(() => SdkClient(server, "lore_knope_wrongsecret").CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: Ct));
        Assert.Equal(401, unauthorized.Status);
        Assert.Equal("authentication_error", OpenAiErrorOf(unauthorized.GetRawResponse()!.Content.ToString()).Type);
        Assert.Contains("API key was refused", unauthorized.Message, StringComparison.Ordinal);

        var options = new ChatCompletionOptions { EndUserId = null };
        var client = SdkClient(server, key, out var headers);
        headers.Send["X-Lore-Episode"] = "ep-409";
        headers.Send["X-Lore-End"] = "true";
        await client.CompleteChatAsync([new UserChatMessage("hello")], options, Ct);
        // A queued acknowledgement promises the episode's end after the answer (YARP relays the answer first): wait
        // for the end to be stored, as a caller reusing the id after the documented contract would.
        await server.WaitForEpisodesAsync("acme", e => e.Any(x => x.Id == "ep-409" && x.EndedAt is not null));
        var conflict = await Assert.ThrowsAsync<ClientResultException>(() => client.CompleteChatAsync([new UserChatMessage("hello")], options, Ct));
        Assert.Equal(409, conflict.Status);
        Assert.Equal("X-Lore-Episode", OpenAiErrorOf(conflict.GetRawResponse()!.Content.ToString()).Param);
        Assert.Contains("ep-409", conflict.Message, StringComparison.Ordinal);

        // The bucket holds 3 requests: the ones above used 2 of them; a fresh episode per call until the bucket runs dry.
        ClientResultException? limited = null;
        for (var i = 0; i < 5 && limited is null; i++)
        {
            headers.Send["X-Lore-Episode"] = $"ep-429-{i}";
            limited = await Record.ExceptionAsync(() => client.CompleteChatAsync([new UserChatMessage("hello")], options, Ct)) as ClientResultException;
        }

        Assert.NotNull(limited);
        Assert.Equal(429, limited.Status);
        var shape = OpenAiErrorOf(limited.GetRawResponse()!.Content.ToString());
        Assert.Equal(("rate_limit_error", "rate_limit_exceeded"), (shape.Type, shape.Code));
    }

    [Fact]
    public async Task Custom_tool_calls_are_accepted_in_history_and_recorded_from_buffered_and_streamed_answers()
    {
        const string CustomCall = """{"id":"call_c1","type":"custom","custom":{"name":"run_sql","input":"SELECT 1"}}""";
        await using var upstream = await ScriptedUpstream.StartAsync(async (context, request) =>
        {
            if (request["stream"]?.GetValue<bool>() == true)
            {
                context.Response.ContentType = "text/event-stream";
                await context.Response.WriteAsync("""data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"role":"assistant","tool_calls":[{"index":0,"id":"call_c2","type":"custom","custom":{"name":"run_sql","input":"SELECT "}}]}}]}""" + "\n\n");
                await context.Response.WriteAsync("""data: {"id":"c","object":"chat.completion.chunk","model":"m","choices":[{"index":0,"delta":{"tool_calls":[{"index":0,"custom":{"input":"2"}}]},"finish_reason":"tool_calls"}]}""" + "\n\n");
                await context.Response.WriteAsync("data: [DONE]\n\n");
                return;
            }

            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"id":"c","object":"chat.completion","model":"m","choices":[{"index":0,"message":{"role":"assistant","content":null,"tool_calls":[""" + CustomCall + """]},"finish_reason":"tool_calls"}],"usage":{"prompt_tokens":10,"completion_tokens":5,"total_tokens":15,"prompt_tokens_details":{"cached_tokens":4},"completion_tokens_details":{"reasoning_tokens":2}}}""");
        });
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);
        const string Tools = """[{"type":"custom","custom":{"name":"run_sql","description":"runs SQL"}}]""";

        async Task<HttpResponseMessage> PostAsync(string messages, bool stream, string episode)
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
            {
                Content = new StringContent($$"""{"model":"m","stream":{{(stream ? "true" : "false")}},"tools":{{Tools}},"messages":{{messages}}}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Add("X-Lore-Episode", episode);
            request.Headers.Add("X-Lore-End", "true");
            return await http.SendAsync(request, Ct);
        }

        using (var first = await PostAsync("""[{"role":"user","content":"count"}]""", stream: false, "ep-custom-1"))
        {
            Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        }

        using (var second = await PostAsync($$"""[{"role":"user","content":"count"},{"role":"assistant","tool_calls":[{{CustomCall}}]},{"role":"tool","tool_call_id":"call_c1","content":"1"}]""", stream: true, "ep-custom-2"))
        {
            Assert.Equal(HttpStatusCode.OK, second.StatusCode);
            await second.Content.ReadAsStringAsync(Ct);
        }

        // Both calls' steps are written after their answers went out (a queued acknowledgement): wait for them.
        await server.WaitForEpisodesAsync("acme", e => e.Count(x => x.Steps.Count > 0) == 2 && e.Single(x => x.Id == "ep-custom-2").Steps.Any(s => s.Kind == StepKind.ToolCall));
        var buffered = (await server.Store.GetEpisodeAsync("ep-custom-1", Ct))!;
        var call = Assert.Single(Assert.Single(buffered.Steps).Response.SelectMany(m => m.ToolCalls));
        Assert.Equal(("run_sql", "call_c1"), (call.Name, call.CallId));
        Assert.Contains("SELECT 1", call.ArgumentsJson, StringComparison.Ordinal);
        Assert.Equal(new TokenUsage(10, 5) { CachedInputTokens = 4, ReasoningTokens = 2 }, buffered.Steps[0].Usage);

        var streamed = (await server.Store.GetEpisodeAsync("ep-custom-2", Ct))!;
        var tool = Assert.Single(streamed.Steps, s => s.Kind == StepKind.ToolCall);
        Assert.Equal(("run_sql", "1"), (tool.ToolName, tool.ToolResult));
        var streamedCall = Assert.Single(streamed.Steps.Single(s => s.Kind == StepKind.ModelCall).Response.SelectMany(m => m.ToolCalls));
        Assert.Equal("run_sql", streamedCall.Name);
        Assert.Contains("SELECT 2", streamedCall.ArgumentsJson, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_upstream_error_is_relayed_as_it_is_and_recorded_as_a_failed_call_not_an_empty_answer()
    {
        await using var upstream = await ScriptedUpstream.StartAsync(async (context, _) =>
        {
            context.Response.StatusCode = StatusCodes.Status500InternalServerError;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync("""{"error":{"message":"The server is overloaded","type":"server_error","param":null,"code":null}}""");
        });
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => SdkClient(server, key).CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: Ct));

        Assert.Equal(500, error.Status);
        Assert.Contains("The server is overloaded", error.Message, StringComparison.Ordinal);
        var episodes = await server.WaitForEpisodesAsync("acme", e => e.Count > 0 && e[0].Steps.Count > 0);
        var step = Assert.Single(Assert.Single(episodes).Steps);
        Assert.Equal("upstream answered 500: The server is overloaded", step.Error);
        Assert.Empty(step.Response);
    }

    [Fact]
    public async Task A_durable_call_is_in_the_store_when_its_answer_arrives_and_a_default_call_says_it_was_only_queued()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var client = SdkClient(server, key, out var headers);

        headers.Send["X-Lore-Episode"] = "ep-durable";
        headers.Send["X-Lore-Durable"] = "true";
        await client.CompleteChatAsync([new UserChatMessage("Where is my order 1142?")], cancellationToken: Ct);

        Assert.Equal("stored", headers.Responses[^1]["X-Lore-Recorded"]);
        var stored = await server.Store.GetEpisodeAsync("ep-durable", Ct); // no flush: durable means already there
        Assert.NotNull(stored);
        Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);

        headers.Send.Remove("X-Lore-Durable");
        headers.Send["X-Lore-Episode"] = "ep-default";
        await client.CompleteChatAsync([new UserChatMessage("Where is my order 1142?")], cancellationToken: Ct);
        Assert.Equal("queued", headers.Responses[^1]["X-Lore-Recorded"]);
    }

    [Fact]
    public async Task A_durable_call_is_stored_and_answered_when_another_tenant_holds_the_same_episode_id()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var keyA = await server.CreateKeyAsync("tenant-a", ApiKeyRole.Agent);
        var keyB = await server.CreateKeyAsync("tenant-b", ApiKeyRole.Agent);
        var clientA = SdkClient(server, keyA, out var headersA);
        var clientB = SdkClient(server, keyB, out var headersB);

        // Episode ids are unique per tenant: tenant-a's stored "ep-same" must neither fail tenant-b's durable call nor be
        // named to it.
        headersA.Send["X-Lore-Episode"] = "ep-same";
        headersA.Send["X-Lore-Durable"] = "true";
        await clientA.CompleteChatAsync([new UserChatMessage("Where is my order 1142?")], cancellationToken: Ct);
        headersB.Send["X-Lore-Episode"] = "ep-same";
        headersB.Send["X-Lore-Durable"] = "true";
        await clientB.CompleteChatAsync([new UserChatMessage("Where is my order 1142?")], cancellationToken: Ct);
        await clientB.CompleteChatAsync([new UserChatMessage("And order 1143?")], cancellationToken: Ct);

        Assert.Equal("stored", headersA.Responses[^1]["X-Lore-Recorded"]);
        Assert.All(headersB.Responses, r => Assert.Equal("stored", r["X-Lore-Recorded"]));
        var a = (await server.Store.GetEpisodeAsync("tenant-a", "ep-same", Ct))!;
        var b = (await server.Store.GetEpisodeAsync("tenant-b", "ep-same", Ct))!;
        Assert.Single(a.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Equal(2, b.Steps.Count(s => s.Kind == StepKind.ModelCall));
    }

    [Fact]
    public async Task A_bad_episode_header_is_refused_before_anything_is_forwarded()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);
        using var request = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions")
        {
            Content = new StringContent("""{"model":"m","messages":[{"role":"user","content":"hi"}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Lore-Episode", "no spaces allowed");

        using var response = await http.SendAsync(request, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Contains("X-Lore-Episode", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Empty(upstream.Received);
    }

    [Fact]
    public async Task Calls_are_refused_without_a_valid_key()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);

        var error = await Assert.ThrowsAsync<ClientResultException>(() => SdkClient(server, "lore_kdeadbeef_wrong").CompleteChatAsync([new UserChatMessage("hello")], cancellationToken: Ct));

        Assert.Equal(401, error.Status);
        Assert.Equal(0, await server.Store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Calls_from_the_same_user_join_one_episode_until_its_outcome_ends_it()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var client = SdkClient(server, key, out var headers);
#pragma warning disable OPENAI001 // EndUserId is the documented way to send 'user'
        var options = new ChatCompletionOptions { EndUserId = "user-42" };
#pragma warning restore OPENAI001

        await client.CompleteChatAsync([new UserChatMessage("first question")], options, Ct);
        await client.CompleteChatAsync([new UserChatMessage("first question"), new AssistantChatMessage("ok"), new UserChatMessage("second question")], options, Ct);
        var episodeId = headers.Responses[0]["X-Lore-Episode"];
        Assert.Equal(episodeId, headers.Responses[1]["X-Lore-Episode"]);

        var runtime = await server.App.Services.GetRequiredService<TenantRuntimes>().GetAsync("acme", Ct);
        await runtime.RecordOutcomeAsync(episodeId, Outcome.Success(OutcomeSource.User), Ct);
        await client.CompleteChatAsync([new UserChatMessage("a new conversation")], options, Ct);

        Assert.NotEqual(episodeId, headers.Responses[2]["X-Lore-Episode"]);
        await runtime.FlushAsync(Ct);
        var episode = (await server.Store.GetEpisodeAsync(episodeId, Ct))!;
        Assert.NotNull(episode.EndedAt);
        Assert.Equal("user-42", episode.UnitKey);
        Assert.Equal("first question", episode.Task);
        Assert.Equal(2, episode.Steps.Count(s => s.Kind == StepKind.ModelCall));
        Assert.Equal(["second question"], episode.Steps[1].Request.Where(m => m.Role == "user").Select(m => m.Text));
        Assert.True(episode.Succeeded);
    }

    [Fact]
    public async Task An_explicit_episode_id_cannot_be_reused_once_its_outcome_ended_it_and_another_tenant_has_its_own()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var keyA = await server.CreateKeyAsync("tenant-a", ApiKeyRole.Agent);
        var keyB = await server.CreateKeyAsync("tenant-b", ApiKeyRole.Agent);

        Assert.Equal(HttpStatusCode.OK, (await AskAsync(server, keyA, "hello", "ep-shared")).Status);

        // Episode ids are unique per tenant: tenant-b's "ep-shared" is its own episode, and its 200 reveals nothing of tenant-a's.
        Assert.Equal(HttpStatusCode.OK, (await AskAsync(server, keyB, "hello", "ep-shared")).Status);
        var runtime = await server.App.Services.GetRequiredService<TenantRuntimes>().GetAsync("tenant-a", Ct);
        await runtime.RecordOutcomeAsync("ep-shared", Outcome.Failure(), Ct);
        Assert.Equal(HttpStatusCode.Conflict, (await AskAsync(server, keyA, "hello again", "ep-shared")).Status);

        await runtime.FlushAsync(Ct);
        var episode = (await server.Store.GetEpisodeAsync("tenant-a", "ep-shared", Ct))!;
        Assert.Equal("tenant-a", episode.Tenant);
        Assert.Single(episode.Steps);
        Assert.False(episode.Succeeded);
        await server.WaitForEpisodesAsync("tenant-b", e => e.Any(x => x.Id == "ep-shared" && x.Steps.Count > 0));
        var other = (await server.Store.GetEpisodeAsync("tenant-b", "ep-shared", Ct))!;
        Assert.Single(other.Steps);
        Assert.Empty(other.Outcomes);
    }

    [Fact]
    public async Task Episodes_idle_past_the_timeout_are_ended_without_an_outcome_and_X_Lore_End_ends_one_at_once()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = upstream.BaseAddress);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var registry = server.App.Services.GetRequiredService<ProxyEpisodes>();

        await AskAsync(server, key, "left open", "ep-idle");
        await AskAsync(server, key, "finished", "ep-ended", end: true);
        // The proxy ends an X-Lore-End episode after its answer went out: wait for that, not for an amount of time.
        await EventuallyAsync(() => Task.FromResult(registry.Count == 1), "ep-ended to leave the proxy's open episodes");
        registry.IdleTimeout = TimeSpan.Zero;
        Assert.Equal(1, await registry.SweepAsync());

        await server.WaitForEpisodesAsync("acme", e => e.Count(x => x.Id is "ep-idle" or "ep-ended" && x.EndedAt is not null) == 2);
        Assert.Equal(0, registry.Count);
    }

    [Fact]
    public async Task Models_are_listed_from_the_upstream_and_the_simulation_says_it_is_one()
    {
        await using var server = await LoreTestServer.StartAsync(o => o.UpstreamBaseUrl = LoreTestServer.SimulatedUpstream);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);

        using var response = await http.GetAsync("v1/models", Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("true", response.Headers.GetValues("X-Lore-Simulated").Single());
        Assert.Contains("lore-simulated-agent", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
    }

    private static async Task EndAsync(LoreTestServer server, string tenant, string episodeId, TicketRun run)
    {
        // What the REST API's outcome endpoint does: the tenant's runtime records it, and the proxied episode ends on it.
        var runtime = await server.App.Services.GetRequiredService<TenantRuntimes>().GetAsync(tenant, Ct);
        await runtime.RecordOutcomeAsync(episodeId, run.Verdict.ToOutcome(), Ct);
        await runtime.FlushAsync(Ct);
    }

    private static string Describe(Episode e)
        => string.Join("|", e.Steps.Select(s => s.Kind == StepKind.ToolCall ? $"tool:{s.ToolName}" : $"model:{s.Response.Count}:{string.Join(",", s.Response.SelectMany(m => m.ToolCalls).Select(c => c.Name))}"));

    private static ChatClient SdkClient(LoreTestServer server, string key) => SdkClient(server, key, out _);

    private static ChatClient SdkClient(LoreTestServer server, string key, out LoreHeadersPolicy headers)
    {
        headers = new LoreHeadersPolicy();
        var options = new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };
        options.AddPolicy(headers, System.ClientModel.Primitives.PipelinePosition.PerCall);
        return new ChatClient("gpt-4o-mini", new ApiKeyCredential(key), options);
    }

    private static async Task<(HttpStatusCode Status, string Text, string Lessons, string Snapshot)> AskAsync(LoreTestServer server, string key, string question, string? episode = null, bool end = false)
    {
        var headers = new LoreHeadersPolicy();
        var options = new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "v1"), RetryPolicy = new System.ClientModel.Primitives.ClientRetryPolicy(0) };
        options.AddPolicy(headers, System.ClientModel.Primitives.PipelinePosition.PerCall);
        if (episode is not null)
        {
            headers.Send["X-Lore-Episode"] = episode;
        }

        if (end)
        {
            headers.Send["X-Lore-End"] = "true";
        }

        try
        {
            ChatCompletion completion = await new ChatClient("gpt-4o-mini", new ApiKeyCredential(key), options).CompleteChatAsync([new UserChatMessage(question)], cancellationToken: Ct);
            var seen = headers.Responses[^1];
            return (HttpStatusCode.OK, completion.Content[0].Text, seen["X-Lore-Lessons"], seen["X-Lore-Snapshot"]);
        }
        catch (ClientResultException e)
        {
            return ((HttpStatusCode)e.Status, e.Message, "", "");
        }
    }

    private static (string Message, string Type, string? Param, string? Code) OpenAiErrorOf(string body)
    {
        var error = JsonNode.Parse(body)!["error"]!.AsObject();
        Assert.Equal(["message", "type", "param", "code"], error.Select(p => p.Key));
        return ((string)error["message"]!, (string)error["type"]!, (string?)error["param"], (string?)error["code"]);
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Waits, with a generous deadline, for what the proxy does after an answer went out.</summary>
    private static async Task EventuallyAsync(Func<Task<bool>> condition, string what)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"waited 2 minutes for {what}");
            await Task.Delay(20, Ct);
        }
    }
}

/// <summary>One served lesson about refunds for the injection tests.</summary>
internal static class McpLikeData
{
    public const string LessonId = "les-proxy-refund";
    public const string LessonText = "Look up the order with lookup_order before issuing any refund.";

    public static async Task ServeAsync(ILoreStore store, string tenant)
    {
        var lesson = new Lesson
        {
            Id = LessonId,
            Kind = LessonKind.ToolGuide,
            Text = LessonText,
            Trigger = LessonTrigger.OnDescription("refund an order for a customer"),
            Scope = new LessonScope { Tenant = tenant, Labels = ImmutableSortedDictionary<string, string>.Empty },
            Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
            Extractor = new ExtractorInfo("test", "1"),
            Confidence = 0.9,
            CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
        };
        var snapshot = Snapshot.Create(null, tenant, [lesson], new RetrievalSettings(), "test", "a lesson for the proxy tests", DateTimeOffset.UtcNow);
        await store.SaveLessonsAsync([lesson], TestContext.Current.CancellationToken);
        await store.SaveSnapshotAsync(snapshot, TestContext.Current.CancellationToken);
        await store.SetActiveSnapshotAsync(tenant, snapshot.Id, TestContext.Current.CancellationToken);
    }
}
