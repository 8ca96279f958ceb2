using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Net;
using System.Text;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Proxy;

/// <summary>
/// What a host's OpenTelemetry pipeline sees of proxied calls: the same Lore facts as <c>UseLore()</c> records (one
/// GenAI chat span carrying <c>lore.*</c> attributes, and the metrics), with the tenant tag bounded by
/// <see cref="LoreServerOptions.TelemetryTenants"/>. Listeners are process-wide, so each test finds its own calls by
/// their episode ids and its own tenants.
/// </summary>
public sealed class ProxyTelemetryTests : IDisposable
{
    private const string Request = """
        {"model":"gpt-x","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Please refund order 1142 for a customer"}],
         "tools":[{"type":"function","function":{"name":"lookup_order","parameters":{"type":"object"}}}]}
        """;

    private readonly ConcurrentQueue<Activity> _activities = new();
    private readonly ConcurrentQueue<(string Instrument, string? Tenant)> _measurements = new();
    private readonly ActivityListener _activityListener;
    private readonly MeterListener _meterListener;
    private readonly string _run = Guid.NewGuid().ToString("n")[..8];

    public ProxyTelemetryTests()
    {
        // Every source: the server's own request spans and the forwarder's outgoing HTTP span are in the same trace,
        // and none of them may be a second GenAI chat span.
        _activityListener = new ActivityListener
        {
            ShouldListenTo = _ => true,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _activities.Enqueue,
        };
        ActivitySource.AddActivityListener(_activityListener);
        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == LoreTelemetry.Name)
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<int>((i, _, tags, _) => Record(i, tags));
        _meterListener.SetMeasurementEventCallback<long>((i, _, tags, _) => Record(i, tags));
        _meterListener.SetMeasurementEventCallback<double>((i, _, tags, _) => Record(i, tags));
        _meterListener.Start();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Named => "tel-named-" + _run;

    private string Unlisted => "tel-unlisted-" + _run;

    public void Dispose()
    {
        _activityListener.Dispose();
        _meterListener.Dispose();
    }

    [Fact]
    public async Task A_proxied_call_has_one_genai_chat_span_with_lores_facts_and_its_metrics()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o =>
        {
            o.UpstreamBaseUrl = upstream.BaseAddress;
            o.TelemetryTenants = [Named];
        });
        await McpLikeData.ServeAsync(server.Store, Named);
        var episode = "ep-tel-" + _run;

        await CallAsync(server, Named, episode);

        var span = await SpanOfAsync(episode);
        Assert.Equal("chat gpt-x", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal(LoreTelemetry.Name, span.Source.Name);
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("openai", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("gpt-x", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal(Named, span.GetTagItem("lore.tenant"));
        Assert.Equal(new[] { McpLikeData.LessonId }, span.GetTagItem("lore.lesson.ids"));
        Assert.Equal(1, span.GetTagItem("lore.lessons.injected"));
        Assert.NotNull(span.GetTagItem("lore.snapshot.id"));

        // One GenAI chat span in the call's trace: the forwarder's HTTP span is its child, not another chat span.
        var trace = _activities.Where(a => a.TraceId == span.TraceId).ToList();
        Assert.Single(trace, a => Equals(a.GetTagItem("gen_ai.operation.name"), "chat"));
        Assert.Contains(trace, a => a.ParentSpanId == span.SpanId);

        Assert.Contains((LoreTelemetry.Name + ":lore.lessons.injected", Named), _measurements.Select(m => (LoreTelemetry.Name + ":" + m.Instrument, m.Tenant)));
        Assert.Contains(_measurements, m => m.Instrument == "gen_ai.client.operation.duration");
    }

    [Fact]
    public async Task A_tenant_the_options_do_not_list_is_tagged_other_and_its_name_appears_in_no_metric()
    {
        await using var upstream = await ScriptedUpstream.EchoSystemMessagesAsync();
        await using var server = await LoreTestServer.StartAsync(o =>
        {
            o.UpstreamBaseUrl = upstream.BaseAddress;
            o.TelemetryTenants = [Named];
        });
        await McpLikeData.ServeAsync(server.Store, Unlisted);
        var episode = "ep-tel-other-" + _run;

        await CallAsync(server, Unlisted, episode);

        Assert.Equal("other", (await SpanOfAsync(episode)).GetTagItem("lore.tenant"));
        Assert.DoesNotContain(_measurements, m => m.Tenant == Unlisted);
    }

    [Fact]
    public void Telemetry_tenants_with_an_empty_name_are_refused_at_start()
    {
        // No store either: every invalid option is named in the one error.
        var options = new LoreServerOptions { TelemetryTenants = ["acme", " "] };

        var error = Assert.Throws<ArgumentException>(() => LoreServer.Build(options));

        Assert.Contains("TelemetryTenants", error.Message, StringComparison.Ordinal);
    }

    private static async Task CallAsync(LoreTestServer server, string tenant, string episode)
    {
        var key = await server.CreateKeyAsync(tenant, ApiKeyRole.Agent);
        using var http = server.CreateClient(key);
        using var content = new StringContent(Request, Encoding.UTF8, "application/json");
        using var message = new HttpRequestMessage(HttpMethod.Post, "v1/chat/completions") { Content = content };
        message.Headers.Add("X-Lore-Episode", episode);
        using var response = await http.SendAsync(message, Ct);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    /// <summary>
    /// The Lore span of the call in <paramref name="episode"/>, once it has ended and its metrics are recorded: the proxy
    /// ends it after the answer went out, so a loaded machine may still be running that work when the caller has the answer.
    /// </summary>
    private async Task<Activity> SpanOfAsync(string episode)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(2);
        while (!(_activities.Any(a => a.Source.Name == LoreTelemetry.Name && Equals(a.GetTagItem("lore.episode.id"), episode))
            && _measurements.Any(m => m.Instrument == "gen_ai.client.operation.duration")))
        {
            Assert.True(DateTime.UtcNow < deadline, $"the chat span of {episode} and its metrics did not arrive within 2 minutes");
            await Task.Delay(20, Ct);
        }

        return Assert.Single(_activities, a => a.Source.Name == LoreTelemetry.Name && Equals(a.GetTagItem("lore.episode.id"), episode));
    }

    private void Record(Instrument instrument, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        string? tenant = null;
        foreach (var tag in tags)
        {
            if (tag.Key == "lore.tenant")
            {
                tenant = tag.Value as string;
            }
        }

        _measurements.Enqueue((instrument.Name, tenant));
    }
}
