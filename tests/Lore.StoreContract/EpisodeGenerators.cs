using System.Collections.Immutable;
using CsCheck;

namespace Lore.StoreContract;

/// <summary>
/// CsCheck generators for episodes with every field populated or left empty, text from many scripts (with quotes,
/// backslashes, newlines and emoji), times with arbitrary offsets to the tick, and scores anywhere in [0, 1].
/// Text excludes NUL and lone surrogates, which no engine's text type stores and no real trajectory contains.
/// </summary>
public static class EpisodeGenerators
{
    private static readonly Gen<string> Piece = Gen.Frequency(
        (6, Gen.Char[' ', '~'].Select(c => c.ToString())),
        (1, Gen.Char["\t\n\r"].Select(c => c.ToString())),
        (2, Gen.Char['\u00A0', '\uD7FF'].Select(c => c.ToString())),
        (1, Gen.Char['\uE000', '\uFFFD'].Select(c => c.ToString())),
        (1, Gen.Int[0x1F300, 0x1FAFF].Select(char.ConvertFromUtf32)));

    /// <summary>Any text of up to <paramref name="max"/> code points.</summary>
    public static Gen<string> Text(int max = 24) => Piece.Array[0, max].Select(string.Concat);

    public static Gen<string> NonEmptyText(int max = 24) => Piece.Array[1, max].Select(string.Concat);

    public static Gen<string?> MaybeText(int max = 24) => Text(max).Null();

    /// <summary>Label keys are plain identifiers: labels live in a sorted dictionary whose default comparer is culture-aware.</summary>
    private static readonly Gen<string> LabelKey = Gen.String[Gen.Char["abcdefghijklmnopqrstuvwxyz0123456789"], 1, 10];

    public static Gen<DateTimeOffset> Time { get; } =
        from ticks in Gen.Long[new DateTime(2000, 1, 1).Ticks, new DateTime(2100, 1, 1).Ticks]
        from offsetMinutes in Gen.Int[-14 * 60, 14 * 60]
        select new DateTimeOffset(ticks, TimeSpan.FromMinutes(offsetMinutes));

    public static Gen<TrajectoryMessage> Message { get; } =
        from role in Gen.OneOf("system", "user", "assistant", "tool")
        from text in MaybeText(60)
        from calls in (from id in Text(8) from name in NonEmptyText(12) from args in Text(30) select new ToolCallRequest(id, name, args)).Array[0, 2]
        from callId in MaybeText(8)
        from toolName in MaybeText(12)
        select new TrajectoryMessage { Role = role, Text = text, ToolCalls = calls, ToolCallId = callId, ToolName = toolName };

    private static readonly Gen<Step> ModelStep =
        from at in Time
        from latency in Gen.Long[0, TimeSpan.TicksPerHour]
        from model in MaybeText(12)
        from request in Message.Array[0, 3]
        from response in Message.Array[0, 3]
        from usage in (from i in Gen.Long[0, 1_000_000] from o in Gen.Long[0, 1_000_000] select new TokenUsage(i, o)).Null()
        from injected in NonEmptyText(10).Array[0, 3]
        select new Step
        {
            Index = 0,
            Kind = StepKind.ModelCall,
            At = at,
            Latency = TimeSpan.FromTicks(latency),
            Model = model,
            Request = request,
            Response = response,
            Usage = usage,
            InjectedLessonIds = injected,
        };

    private static readonly Gen<Step> ToolStep =
        from at in Time
        from latency in Gen.Long[0, TimeSpan.TicksPerHour]
        from name in NonEmptyText(12)
        from callId in MaybeText(10)
        from args in MaybeText(40)
        from result in MaybeText(60)
        from failed in Gen.Bool
        select new Step
        {
            Index = 0,
            Kind = StepKind.ToolCall,
            At = at,
            Latency = TimeSpan.FromTicks(latency),
            ToolName = name,
            ToolCallId = callId,
            ToolArguments = args,
            ToolResult = result,
            ToolFailed = failed,
        };

    public static Gen<Outcome> Outcome { get; } =
        from score in Gen.Double[0, 1]
        from source in Gen.OneOf(OutcomeSource.Environment, OutcomeSource.User, OutcomeSource.Evaluator)
        from actor in MaybeText(10)
        from comment in MaybeText(40)
        from at in Time
        from mode in MaybeText(30)
        select new Outcome(score, source, actor, comment, at) { FailureMode = mode };

    /// <summary>Any episode; ids are not unique across samples, so callers make them unique before storing.</summary>
    public static Gen<Episode> Episode { get; } =
        from id in NonEmptyText(16)
        from tenant in Gen.Frequency((3, Gen.Const(Tenants.Default)), (1, NonEmptyText(8)))
        from unit in Text(10)
        from task in Text(80)
        from labels in Gen.Dictionary(LabelKey, Text(12))[0, 4]
        from started in Time
        from ended in Time.Nullable()
        from steps in Gen.Frequency((3, ToolStep), (2, ModelStep)).Array[0, 8]
        from outcomes in Outcome.Array[0, 3]
        from snapshot in MaybeText(20)
        from injected in NonEmptyText(10).Array[0, 4]
        from origin in Text(16)
        from arm in MaybeText(8)
        select new Episode
        {
            Id = id,
            Tenant = tenant,
            UnitKey = unit,
            Task = task,
            Labels = labels.ToImmutableSortedDictionary(),
            StartedAt = started,
            EndedAt = ended,
            Steps = steps.Select((s, i) => s with { Index = i }).ToArray(),
            Outcomes = outcomes,
            SnapshotId = snapshot,
            InjectedLessonIds = injected,
            Origin = origin,
            Arm = arm,
        };
}
