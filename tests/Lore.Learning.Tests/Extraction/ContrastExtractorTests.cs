namespace Lore.Learning.Tests.Extraction;

public sealed class ContrastExtractorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ExtractionBatch Batch(IReadOnlyList<Episode> episodes)
        => new(Tenants.Default, episodes, episodes.Select(e => e.Id).ToHashSet());

    [Fact]
    public async Task On_the_tau_bench_sample_nothing_passes_within_kinds_of_task()
    {
        var episodes = await TauBenchSample.EpisodesAsync();
        var extractor = new ContrastExtractor();

        var analysis = extractor.Analyze(episodes, Ct);
        var result = await extractor.ExtractAsync(Batch(episodes), Ct);

        // 40 judged trials of 10 tasks; think (a no-op) is no step, so no pattern mentions it.
        Assert.Equal((40, 35), (analysis.Judged, analysis.Failed));
        Assert.DoesNotContain(analysis.Patterns, p => p.Description.Contains("think", StringComparison.Ordinal));
        Assert.All(analysis.Patterns, p => Assert.True(p.Q > 0.05 || !p.Passes));
        Assert.Empty(result.Candidates);
    }

    private static List<Episode> Planted(int count, int seed, double skipFails, double otherwiseFails, out int skipped, out int skippedFailed)
    {
        var random = new Random(seed);
        var episodes = new List<Episode>();
        skipped = skippedFailed = 0;
        for (var i = 0; i < count; i++)
        {
            var builder = new EpisodeBuilder($"e{i:D4}").Unit($"u{i % 37}");
            var slice = random.Next(3);
            var skip = random.NextDouble() < 0.4;
            bool failed;
            switch (slice)
            {
                case 0:
                    builder.Tool("get_customer", $$"""{"id":{{i}}}""");
                    if (!skip)
                    {
                        builder.Tool("lookup_order", $$"""{"order":{{i}}}""");
                    }

                    builder.Tool("refund_order", $$"""{"order":{{i}},"reason":"r"}""");
                    failed = random.NextDouble() < (skip ? skipFails : otherwiseFails);
                    if (skip)
                    {
                        skipped++;
                        skippedFailed += failed ? 1 : 0;
                    }

                    break;
                case 1:
                    builder.Tool("get_invoice", $$"""{"invoice":{{i}}}""").Tool("pay_invoice", $$"""{"invoice":{{i}},"amount":{{random.Next(1, 100)}}}""");
                    failed = random.NextDouble() < otherwiseFails;
                    break;
                default:
                    builder.Tool(random.Next(2) == 0 ? "hold_seat" : "search_flights", "{}").Tool("book_flight", "{}");
                    failed = random.NextDouble() < otherwiseFails;
                    break;
            }

            episodes.Add((failed ? builder.Failed() : builder.Succeeded()).Build());
        }

        return episodes;
    }

    [Fact]
    public async Task A_planted_missing_precondition_is_found_with_its_statistics()
    {
        var episodes = Planted(400, seed: 11, skipFails: 0.7, otherwiseFails: 0.1, out var skipped, out var skippedFailed);

        var result = await new ContrastExtractor().ExtractAsync(Batch(episodes), Ct);

        var lesson = Assert.Single(result.Candidates, c => c.Key == "contrast:precede:lookup_order>refund_order");
        Assert.Equal(LessonKind.Guideline, lesson.Kind);
        Assert.StartsWith("Call lookup_order before calling refund_order: in the same kind of task, episodes that called refund_order without lookup_order first failed more often", lesson.Text);
        Assert.Equal(skipped, lesson.Evidence.EpisodeCount);
        Assert.Equal(["lookup_order"], lesson.RecommendedTools);
        Assert.True(lesson.Evidence.Lift > 2, $"risk ratio {lesson.Evidence.Lift}");
        Assert.True(lesson.Confidence > 0.95);
        Assert.NotEmpty(lesson.Evidence.ExemplarEpisodeIds);
        Assert.Contains("Cochran-Mantel-Haenszel", lesson.Rationale);
        Assert.True(skippedFailed > 0);

        // Only patterns that mean "refund without lookup" can pass: the other slices were generated as noise.
        Assert.All(result.Candidates, c => Assert.Contains("refund_order", c.Scope.Tools));
    }

    [Fact]
    public async Task When_outcomes_do_not_depend_on_the_steps_nothing_passes()
    {
        var episodes = Planted(400, seed: 5, skipFails: 0.3, otherwiseFails: 0.3, out _, out _);

        var result = await new ContrastExtractor().ExtractAsync(Batch(episodes), Ct);

        Assert.Empty(result.Candidates);
    }

    [Fact]
    public void Unjudged_episodes_are_not_counted()
    {
        var episodes = new List<Episode>
        {
            new EpisodeBuilder("a").Tool("x").Tool("y").Failed().Build(),
            new EpisodeBuilder("b").Tool("x").Tool("y").Build(),
        };

        var analysis = new ContrastExtractor().Analyze(episodes, Ct);

        Assert.Equal((1, 1), (analysis.Judged, analysis.Failed));
    }
}
