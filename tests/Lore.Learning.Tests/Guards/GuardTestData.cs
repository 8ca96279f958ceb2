using System.Reflection;
using System.Text.Json;

namespace Lore.Learning.Tests.Guards;

/// <summary>Episodes, extractors and store helpers shared by the admission and review tests.</summary>
internal static class GuardTestData
{
    public static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static readonly DateTimeOffset Start = new(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// Refund episodes from 17 customers: skipping lookup_order makes refund_order fail, and the episode fail unless
    /// the agent recovers. The real extractors learn "call lookup_order before refund_order" from them.
    /// </summary>
    public static List<Episode> Refunds(int first, int count, int seed = 1)
    {
        var random = new Random(seed);
        return [.. Enumerable.Range(first, count).Select(i =>
        {
            var builder = new EpisodeBuilder($"ep-{i:D5}").Unit($"customer-{i % 17}").StartedAt(Start.AddMinutes(i)).Label("slice", "refunds");
            if (random.NextDouble() < 0.5)
            {
                builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}");
                return builder.Succeeded().Build();
            }

            builder.Tool("refund_order", $$"""{"order":{{i}}}""", $"Error: order {i} must be looked up before it can be refunded");
            if (random.NextDouble() < 0.4)
            {
                builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}");
                return builder.Succeeded().Build();
            }

            return builder.Failed().Build();
        })];
    }

    /// <summary>Episodes where a tool's result carries an attacker's text and the tool never succeeds.</summary>
    public static List<Episode> Poisoned(string prefix, int count, Func<int, string> unit, string tool, string error, int minute = 10_000)
        => [.. Enumerable.Range(0, count).Select(i => new EpisodeBuilder($"{prefix}-{i:D4}").Unit(unit(i)).StartedAt(Start.AddMinutes(minute + i))
            .Tool(tool, $$"""{"query":"q{{i}}"}""", error)
            .Tool(tool, $$"""{"query":"q{{i}}"}""", error)
            .Failed().Build())];

    public static async Task ImportAsync(ILoreStore store, IEnumerable<Episode> episodes)
    {
        await using var import = await store.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        await import.CommitAsync(Ct);
    }

    public static async Task<List<AuditEntry>> AuditAsync(ILoreStore store, long after = 0)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(after, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    public static async Task<long> AuditHeadAsync(ILoreStore store) => (await AuditAsync(store)).LastOrDefault()?.Sequence ?? 0;

    /// <summary>The rule names an audit entry's details list.</summary>
    public static string[] Rules(AuditEntry entry)
    {
        using var details = JsonDocument.Parse(entry.DetailsJson);
        return details.RootElement.TryGetProperty("rules", out var rules) ? [.. rules.EnumerateArray().Select(r => r.GetString()!)] : [];
    }

    public static string Json<T>(T value) => JsonSerializer.Serialize(value, LoreJson.Options);
}

/// <summary>An extractor that proposes what the test says, from the batch it is given.</summary>
internal sealed class ScriptedExtractor(Func<ExtractionBatch, IEnumerable<LessonCandidate>> propose) : ILessonExtractor
{
    public ExtractorInfo Info { get; } = new("scripted", "1");

    public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
        => Task.FromResult(new ExtractionResult([.. propose(batch)]));

    /// <summary>A candidate supported by every episode of the batch whose id starts with <paramref name="prefix"/>.</summary>
    public static LessonCandidate Candidate(ExtractionBatch batch, string key, string text, string prefix, double confidence, LessonKind kind = LessonKind.Guideline, ExtractorInfo? extractor = null)
    {
        var cited = batch.Episodes.Where(e => e.Id.StartsWith(prefix, StringComparison.Ordinal)).ToArray();
        var ids = cited.Select(e => e.Id).ToArray();
        var exemplars = cited.Where(e => e.Succeeded == true).Select(e => e.Id).ToArray();
        return new LessonCandidate
        {
            Key = key,
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords("refund"),
            Scope = new LessonScope { Tenant = batch.Tenant },
            Evidence = new LessonEvidence { EpisodeIds = ids, EpisodeCount = ids.Length, Support = ids.Length, ExemplarEpisodeIds = exemplars },
            Confidence = confidence,
            Extractor = extractor ?? new ExtractorInfo("scripted", "1"),
        };
    }
}

/// <summary>
/// Wraps a store and runs an action right after the learning run has read the tenant's lessons, to play a reviewer
/// deciding while a run is working.
/// </summary>
public class InterruptingStore : DispatchProxy
{
    private ILoreStore _inner = null!;
    private Func<Task>? _afterListLessons;

    internal static ILoreStore Wrap(ILoreStore inner, Func<Task> afterListLessons)
    {
        var proxy = Create<ILoreStore, InterruptingStore>();
        var self = (InterruptingStore)(object)proxy;
        self._inner = inner;
        self._afterListLessons = afterListLessons;
        return proxy;
    }

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        var result = targetMethod!.Invoke(_inner, args);
        if (targetMethod.Name == nameof(ILoreStore.ListLessonsAsync) && _afterListLessons is { } action)
        {
            _afterListLessons = null;
            return Then((Task<IReadOnlyList<Lesson>>)result!, action);
        }

        return result;
    }

    private static async Task<IReadOnlyList<Lesson>> Then(Task<IReadOnlyList<Lesson>> list, Func<Task> action)
    {
        var lessons = await list;
        await action();
        return lessons;
    }
}
