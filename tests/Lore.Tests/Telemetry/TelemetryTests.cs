using System.Collections.Concurrent;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Telemetry;

/// <summary>
/// What a host's OpenTelemetry pipeline receives from the "Lore" source and meter. Listeners are process-wide and other
/// tests run in parallel, so every assertion picks its own records by a unique tenant, episode id or rule name.
/// </summary>
public sealed class TelemetryTests : IDisposable
{
    private readonly ConcurrentQueue<Activity> _activities = new();
    private readonly ConcurrentQueue<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = new();
    private readonly ActivityListener _activityListener;
    private readonly MeterListener _meterListener;
    private readonly string _tenant = "telemetry-" + Guid.NewGuid().ToString("n")[..8];

    /// <summary>The source of this test's own <c>UseOpenTelemetry()</c> client, the GenAI spans Lore must not double.</summary>
    private string GenAiSource => "genai-" + _tenant;

    public TelemetryTests()
    {
        _activityListener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == "Lore" || source.Name == GenAiSource,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = _activities.Enqueue,
        };
        ActivitySource.AddActivityListener(_activityListener);

        _meterListener = new MeterListener
        {
            InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == "Lore")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            },
        };
        _meterListener.SetMeasurementEventCallback<long>((i, v, tags, _) => Record(i, v, tags));
        _meterListener.SetMeasurementEventCallback<int>((i, v, tags, _) => Record(i, v, tags));
        _meterListener.SetMeasurementEventCallback<double>((i, v, tags, _) => Record(i, v, tags));
        _meterListener.Start();
    }

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose()
    {
        _activityListener.Dispose();
        _meterListener.Dispose();
    }

    private void Record(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        var copy = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var tag in tags)
        {
            copy[tag.Key] = tag.Value;
        }

        _measurements.Enqueue((instrument.Name, value, copy));
    }

    private List<(double Value, Dictionary<string, object?> Tags)> Measured(string instrument, Func<Dictionary<string, object?>, bool> match)
        => [.. _measurements.Where(m => m.Instrument == instrument && match(m.Tags)).Select(m => (m.Value, m.Tags))];

    private Task<RuntimeHost> HostAsync()
        => RuntimeHost.OpenAsync(
            [TestLessons.Snapshot(TestLessons.SupportDesk().Select(l => l with { Scope = l.Scope with { Tenant = _tenant } }), tenant: _tenant)],
            o => o.Tenant = _tenant);

    [Fact]
    public async Task With_UseOpenTelemetry_inside_Lore_its_facts_go_on_a_lore_span_and_no_genai_span_or_metric_is_doubled()
    {
        await using var host = await HostAsync();
        var model = "gpt-inner-" + _tenant;
        var client = new ChatClientBuilder(new ModelEndpoint()).UseLore(host.Runtime).UseOpenTelemetry(sourceName: GenAiSource).Build();
        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode("refund an order for a customer"))
        {
            episodeId = episode.Id;
            await client.GetResponseAsync("Please refund order 1142 for a customer", new ChatOptions { ModelId = model }, Ct);
        }

        var lore = Assert.Single(_activities, a => a.Source.Name == "Lore" && Equals(a.GetTagItem("lore.episode.id"), episodeId));
        Assert.Equal("lore.chat", lore.DisplayName);
        Assert.Equal(ActivityKind.Internal, lore.Kind);
        Assert.Null(lore.GetTagItem("gen_ai.operation.name"));
        Assert.Contains("les-refund-lookup", Assert.IsType<string[]>(lore.GetTagItem("lore.lesson.ids")));
        var genAi = Assert.Single(_activities, a => a.Source.Name == GenAiSource && a.ParentSpanId == lore.SpanId);
        Assert.Equal("chat", genAi.GetTagItem("gen_ai.operation.name"));
        Assert.Empty(Measured("gen_ai.client.token.usage", t => Equals(t.GetValueOrDefault("gen_ai.request.model"), model)));
        Assert.Empty(Measured("gen_ai.client.operation.duration", t => Equals(t.GetValueOrDefault("gen_ai.request.model"), model)));
    }

    [Fact]
    public async Task With_UseOpenTelemetry_outside_Lore_its_facts_go_on_that_chat_span()
    {
        await using var host = await HostAsync();
        var model = "gpt-outer-" + _tenant;
        var client = new ChatClientBuilder(new ModelEndpoint()).UseOpenTelemetry(sourceName: GenAiSource).UseLore(host.Runtime).Build();
        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode("refund an order for a customer"))
        {
            episodeId = episode.Id;
            await client.GetResponseAsync("Please refund order 1142 for a customer", new ChatOptions { ModelId = model }, Ct);
        }

        var genAi = Assert.Single(_activities, a => a.Source.Name == GenAiSource && Equals(a.GetTagItem("lore.episode.id"), episodeId));
        Assert.Equal("chat", genAi.GetTagItem("gen_ai.operation.name"));
        Assert.Contains("les-refund-lookup", Assert.IsType<string[]>(genAi.GetTagItem("lore.lesson.ids")));
        Assert.DoesNotContain(_activities, a => a.Source.Name == "Lore" && Equals(a.GetTagItem("lore.episode.id"), episodeId));
        Assert.Empty(Measured("gen_ai.client.token.usage", t => Equals(t.GetValueOrDefault("gen_ai.request.model"), model)));
    }

    [Fact]
    public async Task A_runtime_with_a_telemetry_tenant_tags_its_spans_and_metrics_with_it_instead_of_its_tenant()
    {
        var tag = "tag-" + _tenant;
        await using var host = await RuntimeHost.OpenAsync(
            [TestLessons.Snapshot(TestLessons.SupportDesk().Select(l => l with { Scope = l.Scope with { Tenant = _tenant } }), tenant: _tenant)],
            o =>
            {
                o.Tenant = _tenant;
                o.TelemetryTenant = tag;
            });
        var client = new ChatClientBuilder(new ModelEndpoint()).UseLore(host.Runtime).Build();
        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode("refund an order for a customer"))
        {
            episodeId = episode.Id;
            await client.GetResponseAsync("Please refund order 1142 for a customer", new ChatOptions { ModelId = "gpt-test" }, Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.Equal(tag, Assert.Single(_activities, a => Equals(a.GetTagItem("lore.episode.id"), episodeId)).GetTagItem("lore.tenant"));
        Assert.Single(Measured("lore.lessons.injected", t => Equals(t["lore.tenant"], tag)));
        Assert.Single(Measured("lore.episodes.completed", t => Equals(t["lore.tenant"], tag)));
        Assert.DoesNotContain(_measurements, m => m.Tags.Values.Contains(_tenant));
    }

    [Fact]
    public async Task A_model_call_in_an_episode_is_a_genai_client_span_with_lore_attributes()
    {
        await using var host = await HostAsync();
        var client = new ChatClientBuilder(new ModelEndpoint()).UseLore(host.Runtime).Build();
        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode("refund an order for a customer"))
        {
            episodeId = episode.Id;
            await client.GetResponseAsync("Please refund order 1142 for a customer", new ChatOptions { ModelId = "gpt-test" }, Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        var span = Assert.Single(_activities, a => Equals(a.GetTagItem("lore.episode.id"), episodeId));
        Assert.Equal("chat gpt-test", span.DisplayName);
        Assert.Equal(ActivityKind.Client, span.Kind);
        Assert.Equal("chat", span.GetTagItem("gen_ai.operation.name"));
        Assert.Equal("test-provider", span.GetTagItem("gen_ai.provider.name"));
        Assert.Equal("gpt-test", span.GetTagItem("gen_ai.request.model"));
        Assert.Equal("gpt-test-2026-01", span.GetTagItem("gen_ai.response.model"));
        Assert.Equal(120L, span.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Equal(7L, span.GetTagItem("gen_ai.usage.output_tokens"));
        Assert.Equal("models.example.test", span.GetTagItem("server.address"));
        Assert.Equal(host.Runtime.CurrentSnapshot!.Id, span.GetTagItem("lore.snapshot.id"));
        Assert.Equal("none", span.GetTagItem("lore.arm"));
        var lessonIds = Assert.IsType<string[]>(span.GetTagItem("lore.lesson.ids"));
        Assert.Contains("les-refund-lookup", lessonIds);
        Assert.Equal(lessonIds.Length, span.GetTagItem("lore.lessons.injected"));
        Assert.True((int)span.GetTagItem("lore.tokens.added")! > 0);
        Assert.Equal(ActivityStatusCode.Unset, span.Status);

        var injected = Assert.Single(Measured("lore.lessons.injected", t => Equals(t["lore.tenant"], _tenant)));
        Assert.Equal(lessonIds.Length, injected.Value);
        var tokens = Measured("gen_ai.client.token.usage", t => Equals(t.GetValueOrDefault("gen_ai.response.model"), "gpt-test-2026-01"));
        Assert.Contains(tokens, m => m.Value == 120 && Equals(m.Tags["gen_ai.token.type"], "input") && Equals(m.Tags["gen_ai.request.model"], "gpt-test"));
        Assert.Contains(tokens, m => m.Value == 7 && Equals(m.Tags["gen_ai.token.type"], "output"));
    }

    [Fact]
    public async Task Spans_carry_the_rollout_arm_and_in_shadow_what_the_candidate_would_have_injected()
    {
        await using var host = await HostAsync();
        var stable = host.Runtime.CurrentSnapshot!;
        var extra = TestLessons.Lesson("les-refund-card", "Refunds go back to the original card of the order.", LessonTrigger.OnDescription("refund an order for a customer"), tenant: _tenant);
        var candidate = TestLessons.Snapshot([.. stable.Lessons, extra], tenant: _tenant, parent: stable.Id);
        await host.Store.SaveSnapshotAsync(candidate, Ct);
        var client = new ChatClientBuilder(new ModelEndpoint()).UseLore(host.Runtime).Build();

        async Task<Activity> CallAsync()
        {
            await using var episode = host.Runtime.BeginEpisode("refund an order for a customer", unitKey: "unit-7");
            await client.GetResponseAsync("Please refund order 1142 for a customer", cancellationToken: Ct);
            var id = episode.Id;
            await episode.CompleteAsync(Outcome.Success(), Ct);
            return Assert.Single(_activities, a => Equals(a.GetTagItem("lore.episode.id"), id));
        }

        await host.Runtime.Rollout.ShadowAsync(candidate.Id, "test", cancellationToken: Ct);
        var shadow = await CallAsync();
        Assert.Equal("baseline", shadow.GetTagItem("lore.arm"));
        Assert.Equal(stable.Id, shadow.GetTagItem("lore.snapshot.id"));
        Assert.Contains("les-refund-card", Assert.IsType<string[]>(shadow.GetTagItem("lore.shadow.lesson.ids")));
        Assert.DoesNotContain("les-refund-card", Assert.IsType<string[]>(shadow.GetTagItem("lore.lesson.ids")));

        await host.Runtime.Rollout.CanaryAsync(1.0, "test", cancellationToken: Ct);
        var canary = await CallAsync();
        Assert.Equal("candidate", canary.GetTagItem("lore.arm"));
        Assert.Equal(candidate.Id, canary.GetTagItem("lore.snapshot.id"));
        Assert.Contains("les-refund-card", Assert.IsType<string[]>(canary.GetTagItem("lore.lesson.ids")));
        Assert.Null(canary.GetTagItem("lore.shadow.lesson.ids"));
        Assert.Equal(1, Measured("lore.episodes.completed", t => Equals(t["lore.tenant"], _tenant) && Equals(t["lore.arm"], "candidate")).Sum(m => m.Value));
    }

    [Fact]
    public async Task A_streamed_call_is_one_span_that_ends_with_the_stream_and_a_failed_call_records_its_error()
    {
        await using var host = await HostAsync();
        var endpoint = new ModelEndpoint();
        var client = new ChatClientBuilder(endpoint).UseLore(host.Runtime).Build();
        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode("change the shipping address"))
        {
            episodeId = episode.Id;
            await foreach (var _ in client.GetStreamingResponseAsync("Change my shipping address", cancellationToken: Ct))
            {
            }

            endpoint.Fail = true;
            await Assert.ThrowsAsync<TimeoutException>(() => client.GetResponseAsync("Change it again", cancellationToken: Ct));
        }

        var spans = _activities.Where(a => Equals(a.GetTagItem("lore.episode.id"), episodeId)).ToList();
        Assert.Equal(2, spans.Count);
        var streamed = spans.Single(s => s.Status == ActivityStatusCode.Unset);
        Assert.Equal("chat model-default", streamed.DisplayName);
        Assert.Equal("model-default", streamed.GetTagItem("gen_ai.request.model"));
        Assert.Equal(7L, streamed.GetTagItem("gen_ai.usage.output_tokens"));
        var failed = spans.Single(s => s.Status == ActivityStatusCode.Error);
        Assert.Equal(typeof(TimeoutException).FullName, failed.GetTagItem("error.type"));
        Assert.Null(failed.GetTagItem("gen_ai.usage.input_tokens"));
        Assert.Contains(Measured("gen_ai.client.operation.duration", t => Equals(t.GetValueOrDefault("error.type"), typeof(TimeoutException).FullName)), m => m.Value >= 0);
    }

    [Fact]
    public async Task Ended_episodes_are_counted_by_tenant_arm_and_slice_with_their_successes()
    {
        await using var host = await HostAsync();
        await using (var episode = host.Runtime.BeginEpisode("refund", new Dictionary<string, string> { ["slice"] = "refunds" }))
        {
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        await using (var episode = host.Runtime.BeginEpisode("refund", new Dictionary<string, string> { ["slice"] = "refunds" }))
        {
            await episode.CompleteAsync(Outcome.Failure(), Ct);
        }

        await using (host.Runtime.BeginEpisode("address change"))
        {
            // Ends without a judgement: completed, not succeeded.
        }

        bool Mine(Dictionary<string, object?> t) => Equals(t["lore.tenant"], _tenant) && Equals(t["lore.arm"], "none");
        Assert.Equal(2, Measured("lore.episodes.completed", t => Mine(t) && Equals(t["lore.slice"], "refunds")).Sum(m => m.Value));
        Assert.Equal(1, Measured("lore.episodes.completed", t => Mine(t) && Equals(t["lore.slice"], "(none)")).Sum(m => m.Value));
        Assert.Equal(1, Measured("lore.episodes.succeeded", Mine).Sum(m => m.Value));
    }

    [Fact]
    public void Guard_rejections_and_rollbacks_are_counted_with_their_rule_and_slice()
    {
        var rule = "test.rule-" + Guid.NewGuid().ToString("n")[..6];

        LoreTelemetry.GuardRejected(rule);
        LoreTelemetry.GuardRejected(rule);
        LoreTelemetry.RolledBack(_tenant, "refunds");
        LoreTelemetry.RolledBack(_tenant, null);

        Assert.Equal(2, Measured("lore.guard.rejections", t => Equals(t["lore.guard.rule"], rule)).Sum(m => m.Value));
        var rollbacks = Measured("lore.rollbacks", t => Equals(t["lore.tenant"], _tenant));
        Assert.Equal(["refunds", "(overall)"], rollbacks.Select(r => (string)r.Tags["lore.slice"]!));
        Assert.Throws<ArgumentException>(() => LoreTelemetry.GuardRejected(" "));
    }

    [Fact]
    public void A_learning_runs_rejections_are_counted_per_rule_that_fired_and_other_decisions_are_not()
    {
        var rule = "test.screen-" + Guid.NewGuid().ToString("n")[..6];
        var run = new LearningRun
        {
            Id = "run-1",
            Admissions =
            [
                new LessonAdmission("les-1", LessonStatus.Rejected, [rule, rule + ".b"]),
                new LessonAdmission("les-2", LessonStatus.Rejected, [rule]),
                new LessonAdmission("les-3", LessonStatus.PendingReview, [rule]),
                new LessonAdmission("les-4", LessonStatus.Active, [rule]),
            ],
        };

        LoreTelemetry.LearningRunCompleted(run);

        Assert.Equal(2, Measured("lore.guard.rejections", t => Equals(t["lore.guard.rule"], rule)).Sum(m => m.Value));
        Assert.Equal(1, Measured("lore.guard.rejections", t => Equals(t["lore.guard.rule"], rule + ".b")).Sum(m => m.Value));
    }

    /// <summary>A model endpoint that names its provider and address, answers with usage, streams, and can be made to time out.</summary>
    private sealed class ModelEndpoint : IChatClient
    {
        private static readonly ChatClientMetadata Metadata = new("test-provider", new Uri("https://models.example.test/v1"), "model-default");

        public bool Fail { get; set; }

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => Fail ? throw new TimeoutException("the model endpoint did not answer") : Task.FromResult(Respond(options));

        public async IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, [EnumeratorCancellation] CancellationToken cancellationToken = default)
        {
            foreach (var update in Respond(options).ToChatResponseUpdates())
            {
                await Task.Yield();
                yield return update;
            }
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => serviceType == typeof(ChatClientMetadata) ? Metadata : null;

        public void Dispose()
        {
        }

        private static ChatResponse Respond(ChatOptions? options) => new(new ChatMessage(ChatRole.Assistant, "Done."))
        {
            ModelId = (options?.ModelId ?? "model-default") + "-2026-01",
            Usage = new UsageDetails { InputTokenCount = 120, OutputTokenCount = 7 },
            FinishReason = ChatFinishReason.Stop,
        };
    }
}
