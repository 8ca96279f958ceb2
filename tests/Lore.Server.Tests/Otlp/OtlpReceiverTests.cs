using System.Diagnostics;
using System.IO.Compression;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Lore.Server.Otlp;
using Lore.Server.Tests.Support;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Xunit;

namespace Lore.Server.Tests.Otlp;

/// <summary>The OTLP/HTTP receiver fed by the OpenTelemetry .NET SDK's exporter and by OTLP/JSON posts.</summary>
public sealed class OtlpReceiverTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task GenAI_spans_exported_by_the_OpenTelemetry_SDK_become_one_episode_with_steps_in_time_order()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var source = new ActivitySource("agent-under-test-" + Guid.NewGuid().ToString("n"));
        using var tracer = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("refund-bot"))
            .AddOtlpExporter(o =>
            {
                o.Endpoint = new Uri(server.BaseAddress, "v1/traces");
                o.Protocol = OtlpExportProtocol.HttpProtobuf;
                o.Headers = "Authorization=Bearer " + key;

                // The SDK gives up on an export after 10 s by default and still reports the flush as done; on a loaded
                // machine the receiver may answer later than that (its write lands after the test has looked). A
                // generous timeout makes a completed flush mean the receiver answered, so the episode is stored.
                o.TimeoutMilliseconds = (int)TimeSpan.FromMinutes(5).TotalMilliseconds;
            })
            .Build();

        string traceId;
        using (var agent = source.StartActivity("invoke_agent refund-bot", ActivityKind.Internal)!)
        {
            traceId = agent.TraceId.ToHexString();
            agent.SetTag("gen_ai.operation.name", "invoke_agent");
            agent.SetTag("gen_ai.agent.name", "refund-bot");
            agent.SetTag("lore.unit", "customer-7");
            agent.SetTag("lore.label.slice", "refunds");
            using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!)
            {
                chat.SetTag("gen_ai.operation.name", "chat");
                chat.SetTag("gen_ai.request.model", "gpt-4o");
                chat.SetTag("gen_ai.usage.input_tokens", 120L);
                chat.SetTag("gen_ai.usage.output_tokens", 20L);
                chat.SetTag("gen_ai.system_instructions", """[{"type":"text","content":"You are a support agent."}]""");
                chat.SetTag("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"Please refund order 1142, it arrived damaged."}]}]""");
                chat.SetTag("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"issue_refund","arguments":{"order_id":"1142"}}],"finish_reason":"tool_call"}]""");
            }

            using (var tool = source.StartActivity("execute_tool issue_refund", ActivityKind.Internal)!)
            {
                tool.SetTag("gen_ai.operation.name", "execute_tool");
                tool.SetTag("gen_ai.tool.name", "issue_refund");
                tool.SetTag("gen_ai.tool.call.id", "call_1");
                tool.SetTag("gen_ai.tool.call.arguments", """{"order_id":"1142"}""");
                tool.SetTag("error.type", "PreconditionFailed");
                tool.SetStatus(ActivityStatusCode.Error, "order 1142 must be looked up first");
            }

            using (var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!)
            {
                chat.SetTag("gen_ai.operation.name", "chat");
                chat.SetTag("gen_ai.request.model", "gpt-4o");
                chat.SetTag("gen_ai.input.messages", """
                    [{"role":"user","parts":[{"type":"text","content":"Please refund order 1142, it arrived damaged."}]},
                     {"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"issue_refund","arguments":{"order_id":"1142"}}]},
                     {"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"Error: order 1142 must be looked up first"}]}]
                    """);
                chat.SetTag("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"tool_call","id":"call_2","name":"lookup_order","arguments":{"order_id":"1142"}}],"finish_reason":"tool_call"}]""");
            }

            using (var tool = source.StartActivity("execute_tool lookup_order", ActivityKind.Internal)!)
            {
                tool.SetTag("gen_ai.operation.name", "execute_tool");
                tool.SetTag("gen_ai.tool.name", "lookup_order");
                tool.SetTag("gen_ai.tool.call.id", "call_2");
                tool.SetTag("gen_ai.tool.call.arguments", """{"order_id":"1142"}""");
                tool.SetTag("gen_ai.tool.call.result", """{"status":"delivered"}""");
            }

            agent.SetTag("lore.outcome.score", 0.25);
            agent.SetTag("lore.outcome.comment", "refunded only after a reminder");
        }

        Assert.True(tracer.ForceFlush((int)TimeSpan.FromMinutes(5).TotalMilliseconds));

        // The exporter may give up waiting on a loaded machine while the server still writes: wait for the episode itself.
        var episode = await WaitForEpisodeAsync(server, "otlp-" + traceId, e => e.EndedAt is not null);
        Assert.NotNull(episode);
        Assert.Equal("acme", episode.Tenant);
        Assert.Equal("otlp", episode.Origin);
        Assert.Equal("customer-7", episode.UnitKey);
        Assert.Equal("Please refund order 1142, it arrived damaged.", episode.Task);
        Assert.Equal("refunds", episode.Labels["slice"]);
        Assert.Equal("refund-bot", episode.Labels["service"]);
        Assert.NotNull(episode.EndedAt);
        Assert.Equal(
            ["model", "tool:issue_refund:failed", "model", "tool:lookup_order:ok"],
            episode.Steps.Select(s => s.Kind == StepKind.ModelCall ? "model" : $"tool:{s.ToolName}:{(s.ToolFailed ? "failed" : "ok")}"));
        Assert.Equal(Enumerable.Range(0, 4), episode.Steps.Select(s => s.Index));
        var first = episode.Steps[0];
        Assert.Equal("gpt-4o", first.Model);
        Assert.Equal(new TokenUsage(120, 20), first.Usage);
        Assert.Equal(["system", "user"], first.Request.Select(m => m.Role));
        Assert.Equal("issue_refund", Assert.Single(Assert.Single(first.Response).ToolCalls).Name);
        Assert.Contains("must be looked up first", episode.Steps[1].ToolResult, StringComparison.Ordinal);
        Assert.Equal("""{"order_id":"1142"}""", episode.Steps[1].ToolArguments);
        Assert.Equal(["tool"], episode.Steps[2].Request.Select(m => m.Role));
        var outcome = Assert.Single(episode.Outcomes);
        Assert.Equal(0.25, outcome.Score);
        Assert.Equal("refunded only after a reminder", outcome.Comment);
    }

    [Fact]
    public async Task A_run_exported_span_by_span_becomes_one_episode_with_exactly_its_steps_task_unit_labels_and_the_plain_roots_outcome()
    {
        // The default settle delay: the episode is written once the root has arrived and the trace is quiet.
        await using var server = await LoreTestServer.StartAsync(o => o.OtlpSettleDelay = TimeSpan.FromMilliseconds(300));
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var source = new ActivitySource("agent-under-test-" + Guid.NewGuid().ToString("n"));
        var exporter = new OtlpTraceExporter(new OtlpExporterOptions
        {
            Endpoint = new Uri(server.BaseAddress, "v1/traces"),
            Protocol = OtlpExportProtocol.HttpProtobuf,
            Headers = "Authorization=Bearer " + key,
            TimeoutMilliseconds = 60_000,
        });
        using var tracer = Sdk.CreateTracerProviderBuilder()
            .AddSource(source.Name)
            .SetResourceBuilder(ResourceBuilder.CreateEmpty().AddService("refund-bot"))
            .AddProcessor(new SimpleActivityExportProcessor(exporter)) // one export per span, as it ends
            .Build();

        string traceId;
        const string User = """{"role":"user","parts":[{"type":"text","content":"Refund order 1142."}]}""";
        const string Call1 = """{"role":"assistant","parts":[{"type":"tool_call","id":"call_1","name":"lookup_order","arguments":{"order_id":"1142"}}]}""";
        const string Result1 = """{"role":"tool","parts":[{"type":"tool_call_response","id":"call_1","response":"delivered"}]}""";
        const string Call2 = """{"role":"assistant","parts":[{"type":"tool_call","id":"call_2","name":"issue_refund","arguments":{"order_id":"1142"}}]}""";
        const string Result2 = """{"role":"tool","parts":[{"type":"tool_call_response","id":"call_2","response":"refunded"}]}""";
        using (var root = source.StartActivity("handle ticket", ActivityKind.Server)!)
        {
            // A plain root span: no GenAI attributes, only Lore's and the outcome, and it is exported last, alone.
            traceId = root.TraceId.ToHexString();
            root.SetTag("lore.task", "refund a damaged order");
            root.SetTag("lore.unit", "customer-7");
            root.SetTag("lore.label.slice", "refunds");
            Chat(source, $"[{User}]", $"[{Call1}]");
            Tool(source, "lookup_order", "delivered");
            Chat(source, $"[{User},{Call1},{Result1}]", $"[{Call2}]");
            Tool(source, "issue_refund", "refunded");
            Chat(source, $"[{User},{Call1},{Result1},{Call2},{Result2}]", """[{"role":"assistant","parts":[{"type":"text","content":"Done."}]}]""");
            root.SetTag("lore.outcome.score", 1.0);
        }

        var episode = await WaitForEpisodeAsync(server, "otlp-" + traceId, e => e.EndedAt is not null);
        Assert.Equal(
            ["model", "tool:lookup_order", "model", "tool:issue_refund", "model"],
            episode.Steps.Select(s => s.Kind == StepKind.ModelCall ? "model" : $"tool:{s.ToolName}"));
        Assert.Equal(Enumerable.Range(0, 5), episode.Steps.Select(s => s.Index));
        Assert.Equal("refund a damaged order", episode.Task);
        Assert.Equal("customer-7", episode.UnitKey);
        Assert.Equal("refunds", episode.Labels["slice"]);
        Assert.Equal("refund-bot", episode.Labels["service"]);
        Assert.True(episode.Succeeded);
    }

    [Fact]
    public async Task A_root_outcome_arriving_after_its_trace_was_written_still_judges_and_ends_the_episode()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        const string Trace = "4af7651916cd43dd8448eb211c80319c";
        var child = ChatSpan(Trace, "e7ad6b7169203332") with { ParentSpanId = "f7ad6b7169203332" };
        (await PostProtobufAsync(server, key, [child])).Dispose();
        await server.App.Services.GetRequiredService<OtlpTraceReceiver>().SweepAsync(all: true); // written open, as it stands
        Assert.Null((await server.Store.GetEpisodeAsync("otlp-" + Trace, Ct))!.EndedAt);

        var plainRoot = new Server.Otlp.OtlpSpan
        {
            TraceId = Trace,
            SpanId = "f7ad6b7169203332",
            Name = "handle ticket",
            StartTimeUnixNano = 1,
            EndTimeUnixNano = 9_000,
            Attributes = [new("lore.outcome.score", 0.0)],
        };
        (await PostProtobufAsync(server, key, [plainRoot])).Dispose();

        var episode = (await server.Store.GetEpisodeAsync("otlp-" + Trace, Ct))!;
        Assert.NotNull(episode.EndedAt);
        Assert.False(episode.Succeeded);
        Assert.Single(episode.Steps);
    }

    private static void Chat(ActivitySource source, string input, string output)
    {
        using var chat = source.StartActivity("chat gpt-4o", ActivityKind.Client)!;
        chat.SetTag("gen_ai.operation.name", "chat");
        chat.SetTag("gen_ai.request.model", "gpt-4o");
        chat.SetTag("gen_ai.input.messages", input);
        chat.SetTag("gen_ai.output.messages", output);
    }

    private static void Tool(ActivitySource source, string name, string result)
    {
        // No gen_ai.tool.call.id on purpose: many instrumentations leave it out, and the step must not be recorded twice.
        using var tool = source.StartActivity("execute_tool " + name, ActivityKind.Internal)!;
        tool.SetTag("gen_ai.operation.name", "execute_tool");
        tool.SetTag("gen_ai.tool.name", name);
        tool.SetTag("gen_ai.tool.call.arguments", """{"order_id":"1142"}""");
        tool.SetTag("gen_ai.tool.call.result", result);
    }

    private static async Task<Episode> WaitForEpisodeAsync(LoreTestServer server, string id, Func<Episode, bool> ready)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(60);
        while (true)
        {
            if (await server.Store.GetEpisodeAsync(id, Ct) is { } episode && ready(episode))
            {
                return episode;
            }

            Assert.True(DateTime.UtcNow < deadline, $"episode {id} was not written within 60 s");
            await Task.Delay(50, Ct);
        }
    }

    [Fact]
    public async Task OpenInference_spans_posted_as_gzipped_OTLP_JSON_become_an_episode_failed_by_its_root_status()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var json = """
            {"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"booking-agent"}}]},
             "scopeSpans":[{"scope":{"name":"openinference"},"spans":[
              {"traceId":"5B8EFFF798038103D269B633813FC60C","spanId":"eee19b7ec3c1b174","name":"agent","kind":1,
               "startTimeUnixNano":"1700000000000000000","endTimeUnixNano":"1700000009000000000",
               "attributes":[{"key":"openinference.span.kind","value":{"stringValue":"AGENT"}},
                             {"key":"input.value","value":{"stringValue":"Book the cheapest flight BOS to SFO on 2026-03-01"}},
                             {"key":"session.id","value":{"stringValue":"session-9"}}],
               "status":{"code":2,"message":"booked the wrong flight"}},
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b175","parentSpanId":"eee19b7ec3c1b174","name":"ChatCompletion",
               "startTimeUnixNano":"1700000001000000000","endTimeUnixNano":"1700000002000000000",
               "attributes":[{"key":"openinference.span.kind","value":{"stringValue":"LLM"}},
                             {"key":"llm.model_name","value":{"stringValue":"claude-x"}},
                             {"key":"llm.token_count.prompt","value":{"intValue":"50"}},
                             {"key":"llm.input_messages.0.message.role","value":{"stringValue":"user"}},
                             {"key":"llm.input_messages.0.message.content","value":{"stringValue":"Book the cheapest flight BOS to SFO on 2026-03-01"}},
                             {"key":"llm.output_messages.0.message.role","value":{"stringValue":"assistant"}},
                             {"key":"llm.output_messages.0.message.tool_calls.0.tool_call.id","value":{"stringValue":"t1"}},
                             {"key":"llm.output_messages.0.message.tool_calls.0.tool_call.function.name","value":{"stringValue":"book_flight"}},
                             {"key":"llm.output_messages.0.message.tool_calls.0.tool_call.function.arguments","value":{"stringValue":"{\"flight\":\"UA100\"}"}}]},
              {"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b176","parentSpanId":"eee19b7ec3c1b174","name":"book_flight",
               "startTimeUnixNano":"1700000003000000000","endTimeUnixNano":"1700000004000000000",
               "attributes":[{"key":"openinference.span.kind","value":{"stringValue":"TOOL"}},
                             {"key":"tool.name","value":{"stringValue":"book_flight"}},
                             {"key":"input.value","value":{"stringValue":"{\"flight\":\"UA100\"}"}},
                             {"key":"output.value","value":{"stringValue":"Booked UA100"}}]}
             ]}]}]}
            """;
        using var http = server.CreateClient(key);
        using var body = new ByteArrayContent(Gzip(json));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        body.Headers.ContentEncoding.Add("gzip");

        using var response = await http.PostAsync("v1/traces", body, Ct);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("{}", await response.Content.ReadAsStringAsync(Ct));
        var episode = await server.Store.GetEpisodeAsync("otlp-5b8efff798038103d269b633813fc60c", Ct);
        Assert.NotNull(episode);
        Assert.Equal("Book the cheapest flight BOS to SFO on 2026-03-01", episode.Task);
        Assert.Equal("session-9", episode.UnitKey);
        Assert.Equal("booking-agent", episode.Labels["service"]);
        Assert.Equal(["model", "tool:book_flight"], episode.Steps.Select(s => s.Kind == StepKind.ModelCall ? "model" : $"tool:{s.ToolName}"));
        Assert.Equal("claude-x", episode.Steps[0].Model);
        Assert.Equal("book_flight", Assert.Single(Assert.Single(episode.Steps[0].Response).ToolCalls).Name);
        Assert.Equal("Booked UA100", episode.Steps[1].ToolResult);
        Assert.False(episode.Succeeded);
        Assert.Equal("booked the wrong flight", Assert.Single(episode.Outcomes).Comment);
        Assert.Equal(new DateTimeOffset(2023, 11, 14, 22, 13, 29, TimeSpan.Zero), episode.EndedAt);
    }

    [Fact]
    public async Task A_trace_with_an_invalid_outcome_is_rejected_as_a_partial_success_while_the_rest_is_recorded()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var good = ChatSpan("0af7651916cd43dd8448eb211c80319c", "b7ad6b7169203331", ("lore.outcome.score", 1.0));
        var bad = ChatSpan("1af7651916cd43dd8448eb211c80319c", "c7ad6b7169203331", ("lore.outcome.score", 3.0));
        var noise = new Server.Otlp.OtlpSpan { TraceId = "2af7651916cd43dd8448eb211c80319c", SpanId = "d7ad6b7169203331", Name = "GET /health" };

        using var response = await PostProtobufAsync(server, key, [good, bad, noise]);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var (rejected, message) = ReadPartialSuccess(await response.Content.ReadAsByteArrayAsync(Ct));
        Assert.Equal(1, rejected);
        Assert.Contains("lore.outcome.score must be a number in [0, 1]", message, StringComparison.Ordinal);
        Assert.Contains("1 span(s) in traces with no GenAI", message, StringComparison.Ordinal);
        Assert.True((await server.Store.GetEpisodeAsync("otlp-0af7651916cd43dd8448eb211c80319c", Ct))!.Succeeded);
        Assert.Null(await server.Store.GetEpisodeAsync("otlp-1af7651916cd43dd8448eb211c80319c", Ct));
        Assert.Equal(1, await server.Store.CountEpisodesAsync("acme", Ct));
    }

    [Fact]
    public async Task Spans_before_the_root_wait_for_it_and_a_retried_or_late_export_is_not_recorded_twice()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        var other = await server.CreateKeyAsync("other", ApiKeyRole.Agent);
        const string Trace = "3af7651916cd43dd8448eb211c80319c";
        var child = ChatSpan(Trace, "e7ad6b7169203331") with { ParentSpanId = "f7ad6b7169203331" };
        var root = ChatSpan(Trace, "f7ad6b7169203331", ("lore.outcome.score", 1.0)) with { StartTimeUnixNano = 1, EndTimeUnixNano = 9_000 };

        (await PostProtobufAsync(server, key, [child])).Dispose();
        (await PostProtobufAsync(server, key, [child])).Dispose();
        Assert.Null(await server.Store.GetEpisodeAsync("acme", "otlp-" + Trace, Ct));

        // Episode ids are unique per tenant: another tenant's spans of the same trace id are that tenant's own trace.
        using var separate = await PostProtobufAsync(server, other, [ChatSpan(Trace, "a7ad6b7169203331")]);
        Assert.Equal(0, ReadPartialSuccess(await separate.Content.ReadAsByteArrayAsync(Ct)).Rejected);
        (await PostProtobufAsync(server, key, [root])).Dispose();

        var ended = (await server.Store.GetEpisodeAsync("acme", "otlp-" + Trace, Ct))!;
        Assert.Equal("acme", ended.Tenant);
        Assert.NotNull(ended.EndedAt);
        Assert.Equal([0, 1], ended.Steps.Select(s => s.Index));
        Assert.True(ended.Succeeded);

        (await PostProtobufAsync(server, key, [child])).Dispose();
        var late = ChatSpan(Trace, "17ad6b7169203331") with { ParentSpanId = "f7ad6b7169203331", StartTimeUnixNano = 5_000, EndTimeUnixNano = 6_000 };
        (await PostProtobufAsync(server, key, [late])).Dispose();
        await server.App.Services.GetRequiredService<OtlpTraceReceiver>().SweepAsync(all: true);

        var extended = (await server.Store.GetEpisodeAsync("acme", "otlp-" + Trace, Ct))!;
        Assert.Equal([0, 1, 2], extended.Steps.Select(s => s.Index));
        Assert.Single(extended.Outcomes);
    }

    [Fact]
    public async Task A_malformed_protobuf_body_is_a_400_problem_and_nothing_is_written()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);
        using var body = new ByteArrayContent([0x0A, 0xFF, 0x01, 0x0A, 0x02]);
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");

        using var response = await http.PostAsync("v1/traces", body, Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains("ExportTraceServiceRequest", await response.Content.ReadAsStringAsync(Ct), StringComparison.Ordinal);
        Assert.Equal(0, await server.Store.CountEpisodesAsync("acme", Ct));
    }

    [Theory]
    [InlineData("""{"resourceSpans":{}}""", "resourceSpans")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"not-hex","spanId":"eee19b7ec3c1b174"}]}]}]}""", "resourceSpans[0].scopeSpans[0].spans[0].traceId")]
    [InlineData("""{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174","startTimeUnixNano":"soon"}]}]}]}""", "resourceSpans[0].scopeSpans[0].spans[0].startTimeUnixNano")]
    public async Task Malformed_OTLP_JSON_is_a_400_problem_naming_the_field(string json, string field)
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);
        using var http = server.CreateClient(key);

        using var response = await http.PostAsync("v1/traces", new StringContent(json, Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync(Ct));
        Assert.Equal(field, problem.RootElement.GetProperty("field").GetString());
    }

    [Fact]
    public async Task Other_content_types_and_missing_keys_are_refused()
    {
        await using var server = await LoreTestServer.StartAsync(WriteOnRoot);
        var key = await server.CreateKeyAsync("acme", ApiKeyRole.Agent);

        using var text = await server.CreateClient(key).PostAsync("v1/traces", new StringContent("spans", Encoding.UTF8, "text/plain"), Ct);
        using var anonymous = await server.CreateClient().PostAsync("v1/traces", new StringContent("{}", Encoding.UTF8, "application/json"), Ct);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, text.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
    }

    /// <summary>Writes a trace's episode with the export that brings its root (no settle delay), so tests read it at once.</summary>
    private static void WriteOnRoot(LoreServerOptions options) => options.OtlpSettleDelay = TimeSpan.Zero;

    private static Server.Otlp.OtlpSpan ChatSpan(string traceId, string spanId, params (string Key, object Value)[] extra) => new()
    {
        TraceId = traceId,
        SpanId = spanId,
        Name = "chat m",
        StartTimeUnixNano = 1_000,
        EndTimeUnixNano = 2_000,
        Attributes =
        [
            new("gen_ai.operation.name", "chat"),
            new("gen_ai.input.messages", """[{"role":"user","parts":[{"type":"text","content":"hello"}]}]"""),
            new("gen_ai.output.messages", """[{"role":"assistant","parts":[{"type":"text","content":"hi"}]}]"""),
            .. extra.Select(e => new Server.Otlp.OtlpAttribute(e.Key, e.Value)),
        ],
    };

    private static async Task<HttpResponseMessage> PostProtobufAsync(LoreTestServer server, string key, IReadOnlyList<Server.Otlp.OtlpSpan> spans)
    {
        using var http = server.CreateClient(key);
        var body = new ByteArrayContent(OtlpWire.ToProtobuf(spans));
        body.Headers.ContentType = new MediaTypeHeaderValue("application/x-protobuf");
        var response = await http.PostAsync("v1/traces", body, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return response;
    }

    /// <summary>Reads an ExportTraceServiceResponse with Google.Protobuf's reader: partial_success = 1 { rejected_spans = 1; error_message = 2 }.</summary>
    private static (long Rejected, string Message) ReadPartialSuccess(byte[] bytes)
    {
        long rejected = 0;
        var message = "";
        var outer = new Google.Protobuf.CodedInputStream(bytes);
        uint tag;
        while ((tag = outer.ReadTag()) != 0)
        {
            var inner = new Google.Protobuf.CodedInputStream(outer.ReadBytes().ToByteArray());
            while ((tag = inner.ReadTag()) != 0)
            {
                if (tag >> 3 == 1)
                {
                    rejected = inner.ReadInt64();
                }
                else
                {
                    message = inner.ReadString();
                }
            }
        }

        return (rejected, message);
    }

    private static byte[] Gzip(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }
}
