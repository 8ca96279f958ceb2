namespace Lore.Learning.Tests.Extraction;

public sealed class ToolErrorExtractorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ExtractionBatch Batch(IReadOnlyList<Episode> episodes)
        => new(Tenants.Default, episodes, episodes.Select(e => e.Id).ToHashSet());

    private static string[] Ids(IReadOnlyList<Episode> episodes, params (int Task, int Trial)[] runs)
        => runs.Select(r => TauBenchSample.Find(episodes, r.Task, r.Trial).Id).ToArray();

    [Fact]
    public async Task On_the_tau_bench_sample_it_finds_the_seven_error_patterns_with_their_counts()
    {
        var episodes = await TauBenchSample.EpisodesAsync();

        var patterns = new ToolErrorExtractor().Analyze(episodes, Ct);

        // Counted independently (python over the raw file): 24 failed tool calls in 7 (tool, message) patterns.
        Assert.Equal(24, patterns.Sum(p => p.Occurrences));
        Assert.Equal(
            [
                ("book_reservation", "payment amount does not add up, total price is <num>, but paid <num>", 12, 6),
                ("update_reservation_flights", "gift card balance is not enough", 4, 2),
                ("update_reservation_flights", "not enough seats on flight <id>", 2, 2),
                ("book_reservation", "payment method <id> not found", 3, 1),
                ("book_reservation", "not enough balance in payment method <id>", 1, 1),
                ("update_reservation_baggages", "gift card balance is not enough", 1, 1),
                ("update_reservation_flights", "certificate cannot be used to update reservation", 1, 1),
            ],
            patterns.Select(p => (p.Tool, p.Pattern, p.Occurrences, p.Episodes.Count)));

        var payment = patterns[0];
        Assert.Equal(Ids(episodes, (0, 0), (0, 1), (8, 1), (0, 2), (9, 2), (0, 3)).Order(), payment.Episodes.Order());
        Assert.Equal(["unit:mia_li_3668", "unit:mohamed_silva_9265"], payment.Units.Order());
        Assert.Equal(Ids(episodes, (0, 0), (0, 1), (0, 2), (0, 3)).Order(), payment.Recovered.Order());
        Assert.Equal(Ids(episodes, (8, 1), (9, 2)).Order(), payment.Unrecovered.Order());
        Assert.Equal(8, payment.UnrecoveredOccurrences);

        // What the agent did between the last failure and the successful retry: thought in all four (think is a no-op,
        // not a step), calculated in one, and every successful retry changed the payment methods.
        Assert.Equal(new Dictionary<string, int> { ["calculate"] = 1 }, payment.ToolsBetween);
        Assert.Equal(new Dictionary<string, int> { ["payment_methods"] = 4 }, payment.ChangedArguments);
        Assert.Equal(
            "cabin,destination,flight_type,flights,insurance,nonfree_baggages,origin,passengers,payment_methods,total_baggages,user_id",
            Assert.Single(payment.FailingArgumentShapes).Key);

        var giftCard = patterns[1];
        Assert.Equal(Ids(episodes, (3, 0), (3, 3)).Order(), giftCard.Recovered.Order());
        Assert.Equal(new Dictionary<string, int> { ["payment_id"] = 2 }, giftCard.ChangedArguments);
        Assert.Equal(["unit:sofia_kim_7287"], giftCard.Units);
    }

    [Fact]
    public async Task On_the_tau_bench_sample_no_recovery_is_proposed_that_only_one_task_agrees_on()
    {
        var episodes = await TauBenchSample.EpisodesAsync();

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        // Every recovery in the sample comes from the four trials of one task: one task agreeing with itself is not a
        // consensus, so no recovery guide; the refusals say why.
        Assert.DoesNotContain(result.Candidates, c => c.Kind == LessonKind.ToolGuide);
        Assert.Contains(result.RejectionSamples!, r => r.Contains("recovered in 1 tasks", StringComparison.Ordinal));
        Assert.All(result.Candidates, c => Assert.Equal(new ExtractorInfo("ToolErrorExtractor", "2.0"), c.Extractor));
    }

    [Fact]
    public async Task Raising_the_episode_threshold_keeps_only_the_pattern_seen_in_six_episodes()
    {
        var episodes = await TauBenchSample.EpisodesAsync();

        var result = await new ToolErrorExtractor(new ToolErrorExtractorOptions { MinEpisodes = 3 }).ExtractAsync(Batch(episodes), Ct);

        var only = Assert.Single(result.Candidates);
        Assert.Contains("payment amount does not add up", only.Text);
    }

    [Fact]
    public async Task A_recovery_names_the_tool_called_before_the_retry_and_ids_in_the_error_generalise()
    {
        var episodes = Enumerable.Range(0, 6).Select(i => new EpisodeBuilder($"e{i}")
            .Unit($"u{i % 3}")
            .Tool("refund_order", $$"""{"order":{{100 + i}}}""", $"Error: order {100 + i} must be looked up before it can be refunded")
            .Tool("lookup_order", $$"""{"order":{{100 + i}}}""", "{\"total\":30}")
            .Tool("refund_order", $$"""{"order":{{100 + i}}}""", "{\"ok\":true}")
            .Succeeded()
            .Build()).ToList();

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        var guide = Assert.Single(result.Candidates);
        Assert.Equal("When refund_order fails with \"order <num> must be looked up before it can be refunded\": call lookup_order first, then call refund_order again.", guide.Text);
        Assert.Equal("tool-error:refund_order:order <num> must be looked up before it can be refunded", guide.Key);
        Assert.Equal((6, 6, 6), (guide.Evidence.EpisodeCount, guide.Evidence.Support, guide.Evidence.ExemplarEpisodeIds.Count));
        Assert.Equal(["refund_order", "lookup_order"], guide.Scope.Tools);
        Assert.Equal(["lookup_order"], guide.RecommendedTools);
        Assert.Contains("lookup_order (6 episodes, 6 tasks)", guide.Rationale);
    }

    [Fact]
    public async Task Identical_retries_that_failed_again_become_an_anti_pattern_and_broken_arguments_do_not_stop_it()
    {
        var episodes = Enumerable.Range(0, 5).Select(i => new EpisodeBuilder($"e{i}")
            .Unit($"u{i}")
            .Tool("pay_invoice", i % 2 == 0 ? "{\"amount\": 5" : $$"""{"amount":{{i}}}""", $"Error: invoice INV-{i} is closed")
            .Tool("pay_invoice", $$"""{"amount":{{i}}}""", $"Error: invoice INV-{i} is closed")
            .Failed()
            .Build()).ToList();

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        var warning = Assert.Single(result.Candidates);
        Assert.Equal(LessonKind.AntiPattern, warning.Kind);
        Assert.Equal("When pay_invoice fails with \"invoice <id> is closed\", do not retry the same call unchanged: identical retries failed again.", warning.Text);

        // Only the odd episodes retried with identical arguments; the even ones first sent broken JSON.
        Assert.Equal(["e1", "e3"], warning.Evidence.EpisodeIds);
        Assert.Empty(warning.RecommendedTools!);
        var pattern = Assert.Single(new ToolErrorExtractor().Analyze(episodes, Ct));
        Assert.Equal(new Dictionary<string, int> { ["amount"] = 7, ["<invalid json>"] = 3 }, pattern.FailingArgumentShapes);
    }

    /// <summary>
    /// One episode per task and user: update_flights failed with "gift card balance is not enough" and was retried with
    /// the given arguments changed (payment_id is the card, cabin what the user flies).
    /// </summary>
    private static List<Episode> GiftCardRecoveries(params string[][] changedPerTask)
        => [.. changedPerTask.Select((changed, task) =>
        {
            string Args(bool retry) => $$"""{"reservation":"R{{task}}","cabin":"{{(retry && changed.Contains("cabin") ? "economy" : "business")}}","payment_id":"{{(retry && changed.Contains("payment_id") ? "credit_card_" : "gift_card_")}}{{task}}"}""";
            return new EpisodeBuilder($"t{task}")
                .Unit($"user-{task}")
                .Label("task_id", $"{task}")
                .Tool("update_flights", Args(retry: false), "Error: gift card balance is not enough")
                .Tool("update_flights", Args(retry: true), "{\"ok\":true}")
                .Succeeded()
                .Build();
        })];

    [Fact]
    public async Task Recoveries_that_split_the_tasks_evenly_between_two_fixes_agree_on_no_recipe()
    {
        // Two tasks paid with another card, two flew a cheaper cabin instead: half is a tie, not a consensus.
        var episodes = GiftCardRecoveries(["payment_id"], ["payment_id"], ["cabin"], ["cabin"]);

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        Assert.DoesNotContain(result.Candidates, c => c.Key.StartsWith(ToolErrorExtractor.RecoveryKeyPrefix, StringComparison.Ordinal));
        Assert.Contains(result.RejectionSamples!, s => s.Contains("recovered in 4 tasks", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_recipe_names_only_steps_that_a_majority_of_the_recovering_tasks_took_together()
    {
        // payment_id was changed in tasks 0-3 and cabin in tasks 2-4: each by a majority of the five, but both together
        // only by tasks 2 and 3, so "change the payment_id and cabin arguments" is a recovery no majority made.
        var episodes = GiftCardRecoveries(["payment_id"], ["payment_id"], ["payment_id", "cabin"], ["payment_id", "cabin"], ["cabin"]);

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        var guide = Assert.Single(result.Candidates, c => c.Key.StartsWith(ToolErrorExtractor.RecoveryKeyPrefix, StringComparison.Ordinal));
        Assert.Equal("When update_flights fails with \"gift card balance is not enough\": change the payment_id argument, then call update_flights again.", guide.Text);
        Assert.Equal(["t0", "t1", "t2", "t3"], guide.Evidence.ExemplarEpisodeIds);
    }

    [Fact]
    public async Task Episodes_without_tool_errors_give_no_candidates()
    {
        var episodes = Enumerable.Range(0, 4).Select(i => new EpisodeBuilder($"e{i}").Tool("lookup_order").Succeeded().Build()).ToList();

        var result = await new ToolErrorExtractor().ExtractAsync(Batch(episodes), Ct);

        Assert.Empty(result.Candidates);
    }
}
