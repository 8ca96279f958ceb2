using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>
/// Lore's OpenTelemetry surface: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named "Lore", so
/// a host adds <c>.AddSource("Lore")</c> and <c>.AddMeter("Lore")</c> and sees which snapshot, arm and lessons shaped
/// every model call, and how outcomes, injections, guard rejections and rollbacks move per arm and slice.
/// </summary>
/// <remarks>
/// Model-call spans follow the OpenTelemetry GenAI semantic conventions (span "chat {model}", kind Client,
/// <c>gen_ai.operation.name</c>, <c>gen_ai.provider.name</c>, <c>gen_ai.request.model</c>, <c>gen_ai.response.model</c>,
/// <c>gen_ai.usage.input_tokens</c>/<c>output_tokens</c>, <c>error.type</c>) and add <c>lore.*</c> attributes (in shadow,
/// <c>lore.shadow.lesson.ids</c> lists what the candidate would have injected). The
/// GenAI client metrics <c>gen_ai.client.token.usage</c> and <c>gen_ai.client.operation.duration</c> are recorded
/// for the same calls. Nothing is recorded or allocated when no listener is attached. Message contents are never
/// recorded.
/// </remarks>
public static class LoreTelemetry
{
    /// <summary>The name of the activity source and of the meter.</summary>
    public const string Name = "Lore";

    /// <summary>The source of Lore's <c>lore.*</c> spans; add <see cref="Name"/> to a tracer provider to collect them.</summary>
    public static ActivitySource ActivitySource { get; } = new(Name, typeof(LoreTelemetry).Assembly.GetName().Version?.ToString());

    /// <summary>The meter of Lore's <c>lore.*</c> metrics; add <see cref="Name"/> to a meter provider to collect them.</summary>
    public static Meter Meter { get; } = new(Name, typeof(LoreTelemetry).Assembly.GetName().Version?.ToString());

    private static readonly Counter<long> EpisodesCompleted = Meter.CreateCounter<long>(
        "lore.episodes.completed", "{episode}", "Episodes that ended, by tenant, rollout arm and slice.");

    private static readonly Counter<long> EpisodesSucceeded = Meter.CreateCounter<long>(
        "lore.episodes.succeeded", "{episode}", "Episodes that ended with a successful outcome, by tenant, rollout arm and slice; divide by lore.episodes.completed for the success rate.");

    private static readonly Histogram<int> LessonsInjected = Meter.CreateHistogram<int>(
        "lore.lessons.injected", "{lesson}", "Lessons injected into one model call, by tenant and rollout arm.",
        advice: new InstrumentAdvice<int> { HistogramBucketBoundaries = [0, 1, 2, 3, 5, 8, 13, 21] });

    private static readonly Counter<long> GuardRejections = Meter.CreateCounter<long>(
        "lore.guard.rejections", "{rejection}", "Guard rules that blocked a candidate lesson, by rule.");

    private static readonly Counter<long> Rollbacks = Meter.CreateCounter<long>(
        "lore.rollbacks", "{rollback}", "Candidate snapshots rolled back, by tenant and the slice that triggered it.");

    private static readonly Histogram<long> TokenUsage = Meter.CreateHistogram<long>(
        "gen_ai.client.token.usage", "{token}", "Number of input and output tokens used.",
        advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864] });

    private static readonly Histogram<double> OperationDuration = Meter.CreateHistogram<double>(
        "gen_ai.client.operation.duration", "s", "GenAI operation duration.",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92] });

    /// <summary>Counts a candidate lesson blocked by a guard rule (call once per blocking rule that fired).</summary>
    public static void GuardRejected(string rule)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(rule);
        GuardRejections.Add(1, new KeyValuePair<string, object?>(Attributes.GuardRule, rule));
    }

    /// <summary>
    /// Counts the guard rejections of a finished learning run (every rule that fired on each lesson it rejected), for
    /// hosts of the learning pipeline: the guards live in Lore.Learning, which cannot see this class.
    /// </summary>
    public static void LearningRunCompleted(LearningRun run)
    {
        ArgumentNullException.ThrowIfNull(run);
        if (!GuardRejections.Enabled)
        {
            return;
        }

        foreach (var admission in run.Admissions)
        {
            if (admission.Status == LessonStatus.Rejected)
            {
                foreach (var rule in admission.Rules.Distinct(StringComparer.Ordinal))
                {
                    GuardRejected(rule);
                }
            }
        }
    }

    private static readonly Counter<long> SnapshotsRefused = Meter.CreateCounter<long>(
        "lore.snapshots.refused", "{snapshot}", "Snapshots refused for serving because their stored content does not match their content address, by tenant.");

    /// <summary>Counts a snapshot refused for serving because its content does not match its id.</summary>
    public static void SnapshotRefused(string tenant, string snapshotId)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        SnapshotsRefused.Add(1, new KeyValuePair<string, object?>(Attributes.Tenant, tenant), new KeyValuePair<string, object?>(Attributes.SnapshotId, snapshotId));
    }

    /// <summary>Counts a rollback of a tenant's candidate; <paramref name="slice"/> is the slice that regressed (null: overall or manual).</summary>
    public static void RolledBack(string tenant, string? slice)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        Rollbacks.Add(1, new KeyValuePair<string, object?>(Attributes.Tenant, tenant), new KeyValuePair<string, object?>(Attributes.Slice, slice ?? Overall));
    }

    /// <summary>Counts an ended episode, and its success when its outcome says so (null: ended without a judgement yet).</summary>
    public static void EpisodeEnded(string tenant, string? arm, string slice, Outcome? outcome)
    {
        if (!EpisodesCompleted.Enabled && !EpisodesSucceeded.Enabled)
        {
            return;
        }

        var tags = new TagList
        {
            { Attributes.Tenant, tenant },
            { Attributes.Arm, arm ?? NoArm },
            { Attributes.Slice, slice },
        };
        EpisodesCompleted.Add(1, tags);
        if (outcome?.IsSuccess == true)
        {
            EpisodesSucceeded.Add(1, tags);
        }
    }

    private static readonly Counter<long> EpisodesFailed = Meter.CreateCounter<long>(
        "lore.episodes.failed", "{episode}", "Episodes that ended with a failed outcome, by tenant, rollout arm, failure kind and failure mode (the first 50 modes a process sees; later ones count as '(other)').");

    private static readonly Counter<long> FailureModesGrown = Meter.CreateCounter<long>(
        "lore.failure_modes.grown", "{evaluation}", "Evaluations of a canary in which some failure mode grew significantly, by tenant and whether the mode is severe.");

    /// <summary>How many distinct failure modes the metrics name before counting the rest as "(other)": each one is a time series per tenant and arm.</summary>
    internal const int MaxModeTags = 50;

    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> ModeTags = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts a failed episode by its failure mode and arm. The mode tag is bounded (see <see cref="MaxModeTags"/>);
    /// the kind tag (tool, category, reason, label, model error, after, no tool error) always is.
    /// </summary>
    public static void EpisodeFailed(string tenant, string? arm, string mode)
    {
        if (!EpisodesFailed.Enabled)
        {
            return;
        }

        ArgumentException.ThrowIfNullOrWhiteSpace(mode);
        var named = ModeTags.ContainsKey(mode) || (ModeTags.Count < MaxModeTags && ModeTags.TryAdd(mode, 0));
        EpisodesFailed.Add(1, new TagList
        {
            { Attributes.Tenant, tenant },
            { Attributes.Arm, arm ?? NoArm },
            { Attributes.FailureKind, FailureKindOf(mode) },
            { Attributes.FailureMode, named ? mode : "(other)" },
        });
    }

    /// <summary>Counts an evaluation in which a failure mode grew under the candidate.</summary>
    public static void FailureModeGrew(string tenant, bool severe)
        => FailureModesGrown.Add(1, new KeyValuePair<string, object?>(Attributes.Tenant, tenant), new KeyValuePair<string, object?>(Attributes.Severe, severe));

    /// <summary>The kind of a failure mode: the part before its first ':' or space-separated tool name.</summary>
    internal static string FailureKindOf(string mode)
        => mode.StartsWith("tool ", StringComparison.Ordinal) ? "tool"
            : mode.StartsWith("after ", StringComparison.Ordinal) ? "after"
            : mode == FailureModes.NoToolError ? mode
            : mode.IndexOf(':', StringComparison.Ordinal) is > 0 and var colon ? mode[..colon]
            : "other";

    /// <summary>The arm value of episodes served while no rollout is running.</summary>
    internal const string NoArm = "none";

    /// <summary>The slice value of decisions about the whole population.</summary>
    internal const string Overall = "(overall)";

    /// <summary>
    /// Where a model call's facts go. Lore emits its own GenAI client span (and the <c>gen_ai.client.*</c> metrics)
    /// only when nobody else does: when <c>UseOpenTelemetry()</c> sits inside Lore's middleware, Lore's facts go on an
    /// internal <c>lore.chat</c> span that parents the GenAI span; when a GenAI chat span of another source is already
    /// current (<c>UseOpenTelemetry()</c> outside Lore's), they go on that span. Either way no GenAI span or metric is doubled.
    /// </summary>
    internal readonly record struct ChatSpan(Activity? Activity, bool Owned, bool GenAiElsewhere);

    /// <summary>Starts the span of a model call made inside an episode (see <see cref="ChatSpan"/>); no span when nobody listens.</summary>
    internal static ChatSpan StartChat(string? requestModel, ChatClientMetadata? metadata, bool genAiInside = false)
    {
        if (Activity.Current is { } current && current.Source != ActivitySource && Equals(current.GetTagItem(Attributes.OperationName), "chat"))
        {
            return new ChatSpan(current, Owned: false, GenAiElsewhere: true);
        }

        if (!ActivitySource.HasListeners())
        {
            return new ChatSpan(null, Owned: false, GenAiElsewhere: genAiInside);
        }

        if (genAiInside)
        {
            return new ChatSpan(ActivitySource.StartActivity("lore.chat", ActivityKind.Internal), Owned: true, GenAiElsewhere: true);
        }

        var activity = ActivitySource.StartActivity(requestModel is null ? "chat" : "chat " + requestModel, ActivityKind.Client);
        if (activity is null)
        {
            return default;
        }

        activity.SetTag(Attributes.OperationName, "chat");
        if (metadata?.ProviderName is { } provider)
        {
            activity.SetTag(Attributes.ProviderName, provider);
        }

        if (requestModel is not null)
        {
            activity.SetTag(Attributes.RequestModel, requestModel);
        }

        if (metadata?.ProviderUri is { } uri)
        {
            activity.SetTag(Attributes.ServerAddress, uri.Host);
            if (!uri.IsDefaultPort)
            {
                activity.SetTag(Attributes.ServerPort, uri.Port);
            }
        }

        return new ChatSpan(activity, Owned: true, GenAiElsewhere: false);
    }

    /// <summary>What Lore did to one model call, for its span and metrics.</summary>
    internal readonly record struct ChatFacts(
        string Tenant,
        string EpisodeId,
        string? SnapshotId,
        string? Arm,
        IReadOnlyList<string> InjectedLessonIds,
        int TokensAdded)
    {
        /// <summary>In shadow: the candidate's lessons that would have been injected.</summary>
        public IReadOnlyList<string> ShadowLessonIds { get; init; } = [];
    }

    /// <summary>Completes a model call's span and records its metrics (both no-ops without listeners).</summary>
    internal static void EndChat(ChatSpan span, ChatFacts facts, string? requestModel, ChatClientMetadata? metadata, ChatResponse? response, Exception? error, TimeSpan elapsed)
        => EndChat(span, facts, requestModel, metadata, new ChatAnswer(response?.ModelId, response?.Usage, response?.ResponseId, response?.FinishReason?.Value), error?.GetType().FullName, error?.Message, elapsed);

    /// <summary>What a model call's answer said, for its span and metrics (the proxy reads it off the wire, without a <see cref="ChatResponse"/>).</summary>
    internal readonly record struct ChatAnswer(string? ResponseModel, UsageDetails? Usage, string? ResponseId, string? FinishReason);

    /// <summary>True when a model call's telemetry would record anything: a listener on Lore's spans or on the metrics EndChat records.</summary>
    internal static bool ChatObserved => ActivitySource.HasListeners() || LessonsInjected.Enabled || TokenUsage.Enabled || OperationDuration.Enabled;

    /// <summary>Completes a model call's span and records its metrics; <paramref name="errorType"/> is <c>error.type</c> (an exception's type name, or a short error class such as an HTTP status).</summary>
    internal static void EndChat(ChatSpan span, ChatFacts facts, string? requestModel, ChatClientMetadata? metadata, ChatAnswer answer, string? errorType, string? errorMessage, TimeSpan elapsed)
    {
        var responseModel = answer.ResponseModel;
        var usage = answer.Usage;
        var activity = span.Activity;
        if (activity is not null)
        {
            activity.SetTag(Attributes.EpisodeId, facts.EpisodeId);
            activity.SetTag(Attributes.Tenant, facts.Tenant);
            activity.SetTag(Attributes.SnapshotId, facts.SnapshotId);
            activity.SetTag(Attributes.Arm, facts.Arm ?? NoArm);
            activity.SetTag(Attributes.LessonIds, facts.InjectedLessonIds.ToArray());
            activity.SetTag(Attributes.LessonsInjected, facts.InjectedLessonIds.Count);
            activity.SetTag(Attributes.TokensAdded, facts.TokensAdded);
            if (facts.ShadowLessonIds.Count > 0)
            {
                activity.SetTag(Attributes.ShadowLessonIds, facts.ShadowLessonIds.ToArray());
            }
        }

        if (activity is not null && !span.GenAiElsewhere)
        {
            if (responseModel is not null)
            {
                activity.SetTag(Attributes.ResponseModel, responseModel);
            }

            if (answer.ResponseId is { } responseId)
            {
                activity.SetTag(Attributes.ResponseId, responseId);
            }

            if (answer.FinishReason is { } finish)
            {
                activity.SetTag(Attributes.FinishReasons, new[] { finish });
            }

            if (usage?.InputTokenCount is { } input)
            {
                activity.SetTag(Attributes.InputTokens, input);
            }

            if (usage?.OutputTokenCount is { } output)
            {
                activity.SetTag(Attributes.OutputTokens, output);
            }

        }

        if (activity is not null && span.Owned)
        {
            if (errorType is not null)
            {
                activity.SetTag(Attributes.ErrorType, errorType);
                activity.SetStatus(ActivityStatusCode.Error, errorMessage);
            }

            activity.Dispose();
        }

        if (LessonsInjected.Enabled)
        {
            LessonsInjected.Record(facts.InjectedLessonIds.Count, new KeyValuePair<string, object?>(Attributes.Tenant, facts.Tenant), new KeyValuePair<string, object?>(Attributes.Arm, facts.Arm ?? NoArm));
        }

        if (span.GenAiElsewhere || (!TokenUsage.Enabled && !OperationDuration.Enabled))
        {
            return;
        }

        var tags = new TagList { { Attributes.OperationName, "chat" } };
        if (metadata?.ProviderName is { } provider)
        {
            tags.Add(Attributes.ProviderName, provider);
        }

        if (requestModel is not null)
        {
            tags.Add(Attributes.RequestModel, requestModel);
        }

        if (responseModel is not null)
        {
            tags.Add(Attributes.ResponseModel, responseModel);
        }

        if (TokenUsage.Enabled && errorType is null)
        {
            if (usage?.InputTokenCount is { } input)
            {
                var inputTags = tags;
                inputTags.Add(Attributes.TokenType, "input");
                TokenUsage.Record(input, inputTags);
            }

            if (usage?.OutputTokenCount is { } output)
            {
                var outputTags = tags;
                outputTags.Add(Attributes.TokenType, "output");
                TokenUsage.Record(output, outputTags);
            }
        }

        if (OperationDuration.Enabled)
        {
            if (errorType is not null)
            {
                tags.Add(Attributes.ErrorType, errorType);
            }

            OperationDuration.Record(elapsed.TotalSeconds, tags);
        }
    }

    /// <summary>Attribute names: the GenAI semantic conventions' and Lore's own.</summary>
    internal static class Attributes
    {
        public const string OperationName = "gen_ai.operation.name";
        public const string ProviderName = "gen_ai.provider.name";
        public const string RequestModel = "gen_ai.request.model";
        public const string ResponseModel = "gen_ai.response.model";
        public const string ResponseId = "gen_ai.response.id";
        public const string FinishReasons = "gen_ai.response.finish_reasons";
        public const string InputTokens = "gen_ai.usage.input_tokens";
        public const string OutputTokens = "gen_ai.usage.output_tokens";
        public const string TokenType = "gen_ai.token.type";
        public const string ErrorType = "error.type";
        public const string ServerAddress = "server.address";
        public const string ServerPort = "server.port";

        public const string EpisodeId = "lore.episode.id";
        public const string Tenant = "lore.tenant";
        public const string SnapshotId = "lore.snapshot.id";
        public const string Arm = "lore.arm";
        public const string Slice = "lore.slice";
        public const string LessonIds = "lore.lesson.ids";
        public const string LessonsInjected = "lore.lessons.injected";
        public const string TokensAdded = "lore.tokens.added";
        public const string ShadowLessonIds = "lore.shadow.lesson.ids";
        public const string GuardRule = "lore.guard.rule";
        public const string FailureKind = "lore.failure.kind";
        public const string FailureMode = "lore.failure.mode";
        public const string Severe = "lore.failure.severe";
    }
}
