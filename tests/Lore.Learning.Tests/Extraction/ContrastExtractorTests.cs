namespace Lore.Learning.Tests.Extraction;

public sealed class ContrastExtractorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ExtractionBatch Batch(IReadOnlyList<Episode> episodes)
        => new(Tenants.Default, episodes, episodes.Select(e => e.Id).ToHashSet());

    [Fact]
    public async Task On_the_tau_bench_sample_no_pattern_is_significant_against_a_baseline_of_35_failures_in_40()
    {
        var episodes = await TauBenchSample.EpisodesAsync();
        var extractor = new ContrastExtractor();

        var analysis = extractor.Analyze(episodes, Ct);
        var result = await extractor.ExtractAsync(Batch(episodes), Ct);

        // Re-derived independently (python from the raw file): 35 distinct patterns with at least 5 episodes; the
        // strongest is "get_user_details before search_direct_flight", 10 of 10 failed, one-sided Fisher p = 0.2166.
        // With 5 successes in 40, lift cannot exceed 40/35 = 1.14 and nothing survives the correction.
        Assert.Equal((40, 35), (analysis.Judged, analysis.Failed));
        Assert.Equal(35, analysis.Patterns.Count);
        var top = analysis.Patterns[0];
        Assert.Equal(("order:get_user_details>search_direct_flight", 10, 10), (top.Description, top.Episodes, top.Failures));
        Assert.Equal(0.21657183499288762, top.P, 10);
        Assert.Equal(40.0 / 35, top.Lift, 10);
        Assert.All(analysis.Patterns, p => Assert.Equal(1.0, p.Q, 10));
        Assert.Equal(4, analysis.Patterns.Single(p => p.Description == "order:book_reservation>think").Aliases);
        Assert.Empty(result.Candidates);
    }

    [Fact]
    public async Task On_the_tau_bench_sample_relaxed_thresholds_admit_exactly_the_patterns_that_always_failed()
    {
        var episodes = await TauBenchSample.EpisodesAsync();
        var relaxed = new ContrastExtractor(new ContrastExtractorOptions { Alpha = 1, IntervalZ = 0, MinLift = 1.1 });

        var result = await relaxed.ExtractAsync(Batch(episodes), Ct);

        Assert.Equal(
            [
                "contrast:argument:book_reservation.passengers=one-item list",
                "contrast:argument:book_reservation.total_baggages=number",
                "contrast:missing:get_reservation_details>think",
                "contrast:order:book_reservation>think",
                "contrast:order:get_reservation_details>search_direct_flight",
                "contrast:order:get_user_details>search_direct_flight",
                "contrast:order:search_direct_flight>book_reservation",
                "contrast:order:search_direct_flight>calculate",
                "contrast:order:search_direct_flight>search_onestop_flight",
                "contrast:order:search_direct_flight>think",
                "contrast:order:search_direct_flight>update_reservation_flights",
            ],
            result.Candidates.Select(c => c.Key).Order(StringComparer.Ordinal));
        var order = result.Candidates.Single(c => c.Key == "contrast:order:get_user_details>search_direct_flight");
        Assert.Equal(LessonKind.AntiPattern, order.Kind);
        Assert.Equal("Avoid calling get_user_details before search_direct_flight: episodes that did failed more often.", order.Text);
        Assert.Equal(["get_user_details", "search_direct_flight"], order.Scope.Tools);
        Assert.Equal((10, 10), (order.Evidence.EpisodeCount, order.Evidence.Support));
        var missing = result.Candidates.Single(c => c.Key == "contrast:missing:get_reservation_details>think");
        Assert.Equal(LessonKind.Guideline, missing.Kind);
        Assert.StartsWith("Call get_reservation_details before calling think", missing.Text);
    }

    /// <summary>
    /// A workplace where skipping lookup_order before refund_order fails 70% of the time and everything else 10%:
    /// the ground truth is known, so the extractor must find the planted precondition and nothing that is noise.
    /// </summary>
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

        var lesson = Assert.Single(result.Candidates, c => c.Key == "contrast:missing:lookup_order>refund_order");
        Assert.Equal(LessonKind.Guideline, lesson.Kind);
        Assert.Equal("Call lookup_order before calling refund_order: episodes that called refund_order without it failed more often.", lesson.Text);
        Assert.Equal(skipped, lesson.Evidence.EpisodeCount);
        var failed = episodes.Count(e => e.Succeeded == false);
        Assert.Equal((double)skippedFailed / skipped / ((double)failed / episodes.Count), lesson.Evidence.Lift!.Value, 9);
        Assert.True(lesson.Evidence.IntervalLow > (double)failed / episodes.Count);
        Assert.True(lesson.Confidence > 0.95);
        Assert.Contains("Benjamini-Hochberg", lesson.Rationale);

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
