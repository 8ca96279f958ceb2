using System.Collections.Immutable;
using Lore.Hosting;
using Microsoft.Extensions.AI;

namespace Lore.Server.Otlp;

/// <summary>One trace's spans as an episode (or the part of it that arrived in this export).</summary>
/// <param name="TraceId">The trace's id in hex.</param>
/// <param name="Header">The episode's header (id, tenant, task, unit, labels, start).</param>
/// <param name="Steps">The steps these spans make, indexed from 0.</param>
/// <param name="Outcome">The outcome the spans carry, if any.</param>
/// <param name="EndedAt">Set when the trace's root span arrived: the episode ends then.</param>
/// <param name="Spans">The spans the episode was made from.</param>
internal sealed record TraceEpisode(string TraceId, Episode Header, IReadOnlyList<Step> Steps, Outcome? Outcome, DateTimeOffset? EndedAt, IReadOnlyList<OtlpSpan> Spans)
{
    public string EpisodeId => Header.Id;
}

/// <summary>What an export turned into: episodes to write, spans refused (with why) and spans that were not about an agent.</summary>
internal sealed record MappedExport(IReadOnlyList<TraceEpisode> Episodes, int RejectedSpans, int IgnoredSpans, IReadOnlyList<string> Problems);

/// <summary>
/// Turns spans that follow the OpenTelemetry GenAI semantic conventions or OpenInference into episodes: one per trace
/// (id <c>otlp-{traceId}</c>), steps in span start order. A model-call span (<c>gen_ai.operation.name</c> chat,
/// text_completion or generate_content, or <c>openinference.span.kind</c> LLM) becomes a model-call step through the
/// same transcript the capture middleware uses (messages already seen in the trace are not repeated; tool results in
/// its input become tool steps); a tool span (execute_tool, or TOOL) becomes a tool step, failed when its status is
/// ERROR, it has <c>error.type</c>, or its result reads as an error. Agent spans (invoke_agent, AGENT, CHAIN) give the
/// task. Spans that are none of these are ignored, and a trace with none of them is not an episode.
/// </summary>
/// <remarks>
/// The episode ends when the trace's root span arrives (no parent, or an agent span whose parent is not in the export).
/// Its outcome is <c>lore.outcome.score</c> (a number in [0, 1]) on any span, with optional <c>lore.outcome.source</c>
/// (environment, user or evaluator; default environment), <c>lore.outcome.comment</c>, <c>lore.outcome.category</c>
/// (the kind of failure, which becomes its failure mode) and <c>lore.outcome.reason</c>; without it, a root span
/// whose status is ERROR is a failure and OK a success (UNSET: no outcome, one may arrive through the API). The task is
/// <c>lore.task</c>, else the first user message, else the agent span's input; the unit key is <c>lore.unit</c>,
/// <c>user.id</c>, <c>enduser.id</c>, <c>session.id</c> or <c>gen_ai.conversation.id</c>; <c>lore.label.NAME</c>
/// attributes (span or resource) become labels, and the resource's <c>service.name</c> the label <c>service</c>.
/// </remarks>
internal static class GenAiTraceMapper
{
    public const string EpisodePrefix = "otlp-";
    public const string OutcomeScore = "lore.outcome.score";
    public const string OutcomeSource = "lore.outcome.source";
    public const string OutcomeComment = "lore.outcome.comment";
    public const string OutcomeCategory = "lore.outcome.category";
    public const string OutcomeReason = "lore.outcome.reason";
    public const string TaskAttribute = "lore.task";
    public const string UnitAttribute = "lore.unit";
    public const string LabelPrefix = "lore.label.";

    private static readonly string[] UnitKeys = [UnitAttribute, "user.id", "enduser.id", "session.id", "gen_ai.conversation.id"];

    private enum SpanRole
    {
        Other,
        ModelCall,
        Tool,
        Agent,
    }

    public static MappedExport Map(IReadOnlyList<OtlpSpan> spans, string tenant)
    {
        var problems = new List<string>();
        var rejected = 0;
        var ignored = 0;
        var episodes = new List<TraceEpisode>();
        foreach (var trace in spans.GroupBy(s => s.TraceId, StringComparer.Ordinal))
        {
            var traceSpans = trace.ToList();
            if (trace.Key.Length == 0 || traceSpans.Any(s => s.SpanId.Length == 0))
            {
                rejected += traceSpans.Count;
                problems.Add(trace.Key.Length == 0 ? "spans without a trace id were rejected" : $"trace {trace.Key}: spans without a span id were rejected");
                continue;
            }

            if (!traceSpans.Any(s => RoleOf(s) != SpanRole.Other))
            {
                ignored += traceSpans.Count;
                continue;
            }

            try
            {
                episodes.Add(MapTrace(trace.Key, traceSpans, tenant));
            }
            catch (ArgumentException e)
            {
                rejected += traceSpans.Count;
                problems.Add($"trace {trace.Key}: {e.Message}");
            }
        }

        return new MappedExport(episodes, rejected, ignored, problems);
    }

    private static TraceEpisode MapTrace(string traceId, List<OtlpSpan> spans, string tenant)
    {
        spans.Sort((a, b) => a.StartTimeUnixNano != b.StartTimeUnixNano ? a.StartTimeUnixNano.CompareTo(b.StartTimeUnixNano) : a.EndTimeUnixNano.CompareTo(b.EndTimeUnixNano));
        var ids = spans.Select(s => s.SpanId).ToHashSet(StringComparer.Ordinal);
        var root = spans.FirstOrDefault(IsRoot)
            ?? spans.FirstOrDefault(s => RoleOf(s) == SpanRole.Agent && !ids.Contains(s.ParentSpanId));

        // Steps come from spans: when the agent traces its tools, every tool step is recorded from its span (with its
        // status and timing), never again from the chat histories that repeat earlier tool calls and results; only a
        // trace without tool spans takes its tool steps from the results its model calls were sent.
        var toolsHaveSpans = spans.Any(s => RoleOf(s) == SpanRole.Tool);
        var transcript = new ChatTranscript();
        var steps = new List<Step>();
        string? firstUserText = null;
        foreach (var span in spans)
        {
            switch (RoleOf(span))
            {
                case SpanRole.ModelCall:
                    var input = GenAiMessages.Input(span);
                    firstUserText ??= input.FirstOrDefault(m => m.Role == ChatRole.User && !string.IsNullOrWhiteSpace(m.Text))?.Text;
                    var call = new ModelCallObservation(input, GenAiMessages.Output(span)) { Model = Model(span), Usage = Usage(span) };
                    steps.AddRange(transcript.Record(call, Time(span.StartTimeUnixNano), Duration(span))
                        .Where(s => s.Kind != StepKind.ToolCall || !toolsHaveSpans));
                    break;
                case SpanRole.Tool:
                    steps.Add(ToolStep(span));
                    break;
            }
        }

        var ordered = steps.Select((s, i) => s with { Index = i }).ToArray();
        var header = new Episode
        {
            Id = EpisodePrefix + traceId,
            Tenant = tenant,
            UnitKey = Truncate(First(spans, root, UnitKeys) ?? "", 200),
            Task = Truncate(First(spans, root, [TaskAttribute]) ?? firstUserText ?? AgentInput(spans) ?? First(spans, root, ["gen_ai.agent.name"]) ?? root?.Name ?? $"trace {traceId}", 2000),
            Labels = Labels(spans),
            StartedAt = Time(spans[0].StartTimeUnixNano),
            Origin = "otlp",
        };
        return new TraceEpisode(traceId, header, ordered, OutcomeOf(spans, root), root is null ? null : Time(root.EndTimeUnixNano), spans);
    }

    /// <summary>True for a span with no parent: the trace's root, which ends (and is exported) after all its children.</summary>
    /// <remarks>Some exporters write a root's parent as eight zero bytes rather than leaving it out; that is no parent too.</remarks>
    public static bool IsRoot(OtlpSpan span) => span.ParentSpanId.AsSpan().IndexOfAnyExcept('0') < 0;

    /// <summary>Why an outcome on these spans cannot be read (a score that is not a number in [0, 1]), or null.</summary>
    public static string? OutcomeProblem(IEnumerable<OtlpSpan> spans)
    {
        foreach (var span in spans)
        {
            if (OtlpValues.Find(span.Attributes, OutcomeScore) is { } raw
                && (OtlpValues.Number(raw) is not { } score || double.IsNaN(score) || score < 0 || score > 1))
            {
                return $"{OutcomeScore} must be a number in [0, 1], not '{OtlpValues.Text(raw)}'.";
            }
        }

        return null;
    }

    private static SpanRole RoleOf(OtlpSpan span)
    {
        var operation = OtlpValues.Text(OtlpValues.Find(span.Attributes, "gen_ai.operation.name"));
        switch (operation)
        {
            case "chat" or "text_completion" or "generate_content":
                return SpanRole.ModelCall;
            case "execute_tool":
                return SpanRole.Tool;
            case "invoke_agent" or "create_agent":
                return SpanRole.Agent;
        }

        return OtlpValues.Text(OtlpValues.Find(span.Attributes, "openinference.span.kind"))?.ToUpperInvariant() switch
        {
            "LLM" => SpanRole.ModelCall,
            "TOOL" => SpanRole.Tool,
            "AGENT" or "CHAIN" => SpanRole.Agent,
            _ => SpanRole.Other,
        };
    }

    private static Step ToolStep(OtlpSpan span)
    {
        var a = span.Attributes;
        var name = OtlpValues.Text(OtlpValues.Find(a, "gen_ai.tool.name")) ?? OtlpValues.Text(OtlpValues.Find(a, "tool.name"))
            ?? (span.Name.StartsWith("execute_tool ", StringComparison.Ordinal) ? span.Name["execute_tool ".Length..] : span.Name);
        var arguments = OtlpValues.Find(a, "gen_ai.tool.call.arguments") ?? OtlpValues.Find(a, "input.value");
        var result = OtlpValues.Text(OtlpValues.Find(a, "gen_ai.tool.call.result") ?? OtlpValues.Find(a, "output.value"));
        var errorType = OtlpValues.Text(OtlpValues.Find(a, "error.type"));
        var failed = span.StatusCode == OtlpStatusCode.Error || errorType is not null || Step.LooksLikeToolError(result);
        if (failed && !Step.LooksLikeToolError(result))
        {
            var reason = span.StatusMessage ?? errorType ?? "the tool failed";
            result = result is null ? $"Error: {reason}" : $"Error: {reason}: {result}";
        }

        return Step.Tool(0, name, arguments is null ? "{}" : OtlpValues.Json(arguments), result, OtlpValues.Text(OtlpValues.Find(a, "gen_ai.tool.call.id")), failed, Time(span.StartTimeUnixNano))
            with { Latency = Duration(span) };
    }

    private static Outcome? OutcomeOf(List<OtlpSpan> spans, OtlpSpan? root)
    {
        var carrier = (root is not null && OtlpValues.Find(root.Attributes, OutcomeScore) is not null ? root : null)
            ?? spans.LastOrDefault(s => OtlpValues.Find(s.Attributes, OutcomeScore) is not null);
        if (carrier is not null)
        {
            var raw = OtlpValues.Find(carrier.Attributes, OutcomeScore);
            if (OtlpValues.Number(raw) is not { } score || double.IsNaN(score) || score < 0 || score > 1)
            {
                throw new ArgumentException($"{OutcomeScore} must be a number in [0, 1], not '{OtlpValues.Text(raw)}'.");
            }

            var source = OtlpValues.Text(OtlpValues.Find(carrier.Attributes, OutcomeSource)) ?? Lore.OutcomeSource.Environment;
            var comment = OtlpValues.Text(OtlpValues.Find(carrier.Attributes, OutcomeComment));
            var category = OtlpValues.Text(OtlpValues.Find(carrier.Attributes, OutcomeCategory));
            if (category is { Length: > 200 } || (category is not null && string.IsNullOrWhiteSpace(category)))
            {
                throw new ArgumentException($"{OutcomeCategory} must be 1 to 200 characters naming the kind of failure.");
            }

            return Outcome.Scored(score, source, actor: "otlp", comment: comment, at: Time(carrier.EndTimeUnixNano)) with
            {
                Category = category?.Trim(),
                Reason = OtlpValues.Text(OtlpValues.Find(carrier.Attributes, OutcomeReason)),
            };
        }

        return root?.StatusCode switch
        {
            OtlpStatusCode.Error => Outcome.Failure(Lore.OutcomeSource.Environment, actor: "otlp", comment: root.StatusMessage ?? "the root span's status is ERROR", at: Time(root.EndTimeUnixNano)) with
            {
                Category = OtlpValues.Text(OtlpValues.Find(root.Attributes, OutcomeCategory))?.Trim() is { Length: > 0 and <= 200 } rootCategory ? rootCategory : null,
                Reason = root.StatusMessage,
            },
            OtlpStatusCode.Ok => Outcome.Success(Lore.OutcomeSource.Environment, actor: "otlp", comment: "the root span's status is OK", at: Time(root.EndTimeUnixNano)),
            _ => null,
        };
    }

    private static string? AgentInput(List<OtlpSpan> spans)
        => spans.Where(s => RoleOf(s) == SpanRole.Agent)
            .Select(s => OtlpValues.Text(OtlpValues.Find(s.Attributes, "input.value")))
            .FirstOrDefault(t => !string.IsNullOrWhiteSpace(t));

    /// <summary>The first value of any of the keys: on the root span, then any span, then the resource.</summary>
    private static string? First(List<OtlpSpan> spans, OtlpSpan? root, string[] keys)
    {
        IEnumerable<IReadOnlyList<OtlpAttribute>> sources = [.. (root is null ? [] : new[] { root.Attributes }), .. spans.Select(s => s.Attributes), spans[0].Resource];
        foreach (var attributes in sources)
        {
            foreach (var key in keys)
            {
                if (OtlpValues.Text(OtlpValues.Find(attributes, key)) is { Length: > 0 } value)
                {
                    return value;
                }
            }
        }

        return null;
    }

    private static ImmutableSortedDictionary<string, string> Labels(List<OtlpSpan> spans)
    {
        var labels = ImmutableSortedDictionary.CreateBuilder<string, string>(StringComparer.Ordinal);
        if (OtlpValues.Text(OtlpValues.Find(spans[0].Resource, "service.name")) is { Length: > 0 } service)
        {
            labels["service"] = Truncate(service, 200);
        }

        foreach (var attribute in spans[0].Resource.Concat(spans.SelectMany(s => s.Attributes)))
        {
            if (attribute.Key.StartsWith(LabelPrefix, StringComparison.Ordinal) && attribute.Key.Length > LabelPrefix.Length
                && OtlpValues.Text(attribute.Value) is { } value)
            {
                labels[Truncate(attribute.Key[LabelPrefix.Length..], 100)] = Truncate(value, 200);
            }
        }

        return labels.ToImmutable();
    }

    private static string? Model(OtlpSpan span)
        => OtlpValues.Text(OtlpValues.Find(span.Attributes, "gen_ai.request.model"))
            ?? OtlpValues.Text(OtlpValues.Find(span.Attributes, "gen_ai.response.model"))
            ?? OtlpValues.Text(OtlpValues.Find(span.Attributes, "llm.model_name"));

    private static UsageDetails? Usage(OtlpSpan span)
    {
        var a = span.Attributes;
        var input = OtlpValues.Number(OtlpValues.Find(a, "gen_ai.usage.input_tokens") ?? OtlpValues.Find(a, "gen_ai.usage.prompt_tokens") ?? OtlpValues.Find(a, "llm.token_count.prompt"));
        var output = OtlpValues.Number(OtlpValues.Find(a, "gen_ai.usage.output_tokens") ?? OtlpValues.Find(a, "gen_ai.usage.completion_tokens") ?? OtlpValues.Find(a, "llm.token_count.completion"));
        return input is null && output is null ? null : new UsageDetails { InputTokenCount = (long?)input, OutputTokenCount = (long?)output };
    }

    /// <summary>Unix nanoseconds as a time (100 ns resolution).</summary>
    public static DateTimeOffset Time(ulong unixNano) => DateTimeOffset.UnixEpoch.AddTicks((long)(unixNano / 100));

    private static TimeSpan Duration(OtlpSpan span)
        => span.EndTimeUnixNano > span.StartTimeUnixNano ? TimeSpan.FromTicks((long)((span.EndTimeUnixNano - span.StartTimeUnixNano) / 100)) : TimeSpan.Zero;

    private static string Truncate(string text, int max) => text.Length <= max ? text : text[..max];
}
