using Lore.Learning;
using Lore.Sqlite;
using Lore.Testing;

namespace Lore.Tests.Audit;

/// <summary>
/// A SQLite store whose lessons and snapshots come from real learning runs: a refund procedure is learned from four
/// units' episodes, then learned again with new wording from two more, so there are two snapshots, two runs, and a
/// lesson whose served text changed.
/// </summary>
internal sealed class LearnedStore : IAsyncDisposable
{
    public const string FirstText = "Before any refund, call lookup_order for the order id.";
    public const string SecondText = "Call lookup_order with the order id before issuing a refund.";

    private readonly TempDirectory _directory;

    private LearnedStore(TempDirectory directory, ILoreStore store, string lessonId, LearningRun first, LearningRun second, IReadOnlyList<Episode> episodes)
    {
        _directory = directory;
        Store = store;
        LessonId = lessonId;
        FirstRun = first;
        SecondRun = second;
        Episodes = episodes;
    }

    public ILoreStore Store { get; }

    public string LessonId { get; }

    public LearningRun FirstRun { get; }

    public LearningRun SecondRun { get; }

    public IReadOnlyList<Episode> Episodes { get; }

    public static readonly DateTimeOffset Start = new(2026, 4, 1, 8, 0, 0, TimeSpan.Zero);

    public static async Task<LearnedStore> CreateAsync(CancellationToken cancellationToken)
    {
        var directory = new TempDirectory();
        var store = await SqliteLoreStore.OpenAsync(directory.File("lore.db"), cancellationToken);
        var extractor = new RefundProcedureExtractor { Text = FirstText };
        var options = new LearningOptions { MinEpisodes = 3, MinDistinctSources = 3 };
        options.Extractors.Add(extractor);

        var episodes = new List<Episode>();
        for (var i = 0; i < 4; i++)
        {
            episodes.Add(Refund($"ep-refund-{i}", $"user-{i}", i, succeeded: i != 2));
        }

        await ImportAsync(store, episodes, cancellationToken);
        var first = await new LearningPipeline(store, options, new FixedClock(Start.AddHours(1))).RunAsync(Tenants.Default, "learning", null, cancellationToken);

        var more = new[] { Refund("ep-refund-4", "user-4", 4, succeeded: true), Refund("ep-refund-5", "user-5", 5, succeeded: true) };
        await ImportAsync(store, more, cancellationToken);
        episodes.AddRange(more);
        extractor.Text = SecondText;
        var second = await new LearningPipeline(store, options, new FixedClock(Start.AddHours(2))).RunAsync(Tenants.Default, "learning", null, cancellationToken);

        var lessonId = first.AddedLessonIds.Single();
        return new LearnedStore(directory, store, lessonId, first, second, episodes);
    }

    public static Episode Refund(string id, string unit, int minute, bool succeeded)
    {
        var builder = new EpisodeBuilder(id)
            .Unit(unit)
            .Task($"refund order {1100 + minute}")
            .Label("slice", "refunds")
            .StartedAt(Start.AddMinutes(minute))
            .Tool("lookup_order", $$"""{"order":{{1100 + minute}}}""", "found");
        return (succeeded ? builder.Succeeded() : builder.Failed()).Build();
    }

    public static async Task ImportAsync(ILoreStore store, IEnumerable<Episode> episodes, CancellationToken cancellationToken)
    {
        await using var import = await store.BeginImportAsync(cancellationToken);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, cancellationToken);
        }

        await import.CommitAsync(cancellationToken);
    }

    public async ValueTask DisposeAsync()
    {
        await Store.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>Proposes one refund procedure backed by every refund episode of the batch, in the wording it is given.</summary>
    private sealed class RefundProcedureExtractor : ILessonExtractor
    {
        public string Text { get; set; } = "";

        public ExtractorInfo Info { get; } = new("refund-procedure", "2");

        public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
        {
            var refunds = batch.Episodes.Where(e => e.Task.StartsWith("refund", StringComparison.Ordinal)).ToArray();
            if (refunds.Length == 0)
            {
                return Task.FromResult(ExtractionResult.Empty);
            }

            return Task.FromResult(new ExtractionResult(
            [
                new LessonCandidate
                {
                    Key = "refund-needs-lookup",
                    Kind = LessonKind.Procedure,
                    Text = Text,
                    Trigger = LessonTrigger.OnKeywords("refund"),
                    Scope = new LessonScope { Tenant = batch.Tenant },
                    Evidence = new LessonEvidence
                    {
                        EpisodeIds = [.. refunds.Select(e => e.Id)],
                        EpisodeCount = refunds.Length,
                        DistinctSources = refunds.Select(e => e.UnitKey).Distinct().Count(),
                        Support = refunds.Length,

                        // The advice shown working: the successful episodes among them.
                        ExemplarEpisodeIds = [.. refunds.Where(e => e.Succeeded == true).Select(e => e.Id)],
                    },
                    Confidence = 0.9,
                    Extractor = Info,
                },
            ]));
        }
    }
}

/// <summary>A clock that always reads the same time.</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public override DateTimeOffset GetUtcNow() => now;
}
