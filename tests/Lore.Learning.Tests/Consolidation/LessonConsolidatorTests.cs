using Lore.Learning.Consolidation;
using Lore.Learning.Tests.Extraction;

namespace Lore.Learning.Tests.Consolidation;

public sealed partial class LessonConsolidatorTests
{
    private static readonly DateTimeOffset Now = new(2026, 3, 1, 12, 0, 0, TimeSpan.Zero);
    private static readonly ExtractorInfo Extractor = new("TestExtractor", "1");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>Episodes e0..e(n-1), oldest first, unit u(i % units), failed when <paramref name="failed"/> says so.</summary>
    private static List<Episode> Window(int count, int units = 4, Func<int, bool>? failed = null, Func<int, string[]>? injected = null, DateTimeOffset? endedAt = null)
        => Enumerable.Range(0, count).Select(i =>
        {
            var builder = new EpisodeBuilder($"e{i}").Unit($"u{i % units}").StartedAt((endedAt ?? Now).AddMinutes(-count + i - 1));
            var episode = (failed?.Invoke(i) == true ? builder.Failed() : builder.Succeeded()).Build();
            return episode with { Sequence = i + 1, InjectedLessonIds = injected?.Invoke(i) ?? [] };
        }).ToList();

    /// <summary>The episodes <paramref name="where"/> holds, with <paramref name="lessonId"/> recorded as eligible but withheld by the holdout.</summary>
    private static List<Episode> Withheld(List<Episode> window, string lessonId, Func<int, bool> where)
        => window.Select((e, i) => where(i)
            ? e with { Steps = [new Step { Index = 0, Kind = StepKind.ModelCall, At = e.StartedAt, WithheldLessonIds = [lessonId] }] }
            : e).ToList();

    private static LessonCandidate Candidate(string key, string text, IEnumerable<string> episodes, double confidence = 0.9, LessonKind kind = LessonKind.Guideline, string[]? tools = null)
    {
        var ids = episodes.ToArray();
        return new LessonCandidate
        {
            Key = key,
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords("refund"),
            Scope = new LessonScope { Tools = tools ?? ["lookup_order", "refund_order"] },
            Evidence = new LessonEvidence { EpisodeIds = ids, EpisodeCount = ids.Length, Support = ids.Length },
            Confidence = confidence,
            Extractor = Extractor,
        };
    }

    private static ConsolidationInput Input(IReadOnlyList<Episode> window, IReadOnlyList<LessonCandidate> candidates, IReadOnlyList<Lesson>? known = null, IEnumerable<string>? served = null, IEnumerable<string>? newIds = null)
        => new()
        {
            Tenant = Tenants.Default,
            Candidates = candidates,
            KnownLessons = known ?? [],
            ServedIds = (served ?? []).ToHashSet(),
            Window = window,
            NewEpisodeIds = (newIds ?? window.Select(e => e.Id)).ToHashSet(),
        };

    private static string Json(Lesson lesson) => System.Text.Json.JsonSerializer.Serialize(lesson, LoreJson.Options);

    private static LessonConsolidator Consolidator(LearningOptions? options = null)
        => new(options ?? new LearningOptions(), new ManualTimeProvider(Now));

    [Fact]
    public void Lesson_ids_are_stable_per_tenant_and_key()
    {
        Assert.Equal(LessonIds.For("acme", "contrast:missing:a>b"), LessonIds.For("acme", "contrast:missing:a>b"));
        Assert.NotEqual(LessonIds.For("acme", "contrast:missing:a>b"), LessonIds.For("other", "contrast:missing:a>b"));
        Assert.Matches("^les-[0-9a-f]{16}$", LessonIds.For("acme", "k"));
    }

    [Fact]
    public async Task Near_duplicates_of_the_same_kind_and_scope_merge_into_one_lesson_with_their_evidence_united()
    {
        var window = Window(10);
        var strong = Candidate("a", "Call lookup_order before calling refund_order: refunds without it fail.", window.Take(6).Select(e => e.Id));
        var echo = Candidate("b", "Always call lookup_order before calling refund_order: refunds without it fail.", window.Skip(4).Select(e => e.Id), confidence: 0.7);
        var other = Candidate("c", "Confirm the amount with the customer before paying an invoice.", window.Select(e => e.Id), tools: ["pay_invoice"]);

        var result = await Consolidator().ConsolidateAsync(Input(window, [strong, echo, other]), Ct);

        var kept = LessonIds.For(Tenants.Default, "a");
        var merge = Assert.Single(result.Merges);
        Assert.Equal((kept, LessonIds.For(Tenants.Default, "b")), (merge.KeptId, merge.MergedId));
        Assert.Equal(6 / Math.Sqrt(6 * 7), merge.Similarity, 4);
        Assert.Equal(2, result.Served.Count);
        var lesson = result.Served.Single(l => l.Id == kept);
        Assert.Equal(strong.Text, lesson.Text);
        Assert.Equal(10, lesson.Evidence.EpisodeCount);
        Assert.Equal(4, lesson.Evidence.DistinctSources);
        Assert.Equal(12, lesson.Evidence.Support);
        Assert.Equal(window.Select(e => e.Id).Reverse(), lesson.Evidence.EpisodeIds);
        Assert.Equal(new[] { kept, LessonIds.For(Tenants.Default, "c") }.Order(StringComparer.Ordinal), result.Added);
        Assert.Empty(result.Dropped);
    }

    [Fact]
    public async Task Candidates_of_one_key_from_several_episodes_unite_and_then_pass_the_thresholds()
    {
        var window = Window(3, units: 3);
        var perEpisode = window.Select(e => Candidate("llm:guideline:x", "Look up the order before refunding it.", [e.Id], confidence: 0.7)).ToList();

        var result = await Consolidator().ConsolidateAsync(Input(window, perEpisode), Ct);

        var lesson = Assert.Single(result.Served);
        Assert.Equal((3, 3, 3), (lesson.Evidence.EpisodeCount, lesson.Evidence.DistinctSources, lesson.Evidence.Support));

        // 0.6 x 0.7 + 0.2 x 3/(3+3) + 0.2 x 3/(3+2)
        Assert.Equal(0.42 + 0.1 + 0.12, lesson.Confidence, 10);
        Assert.Equal(Now, lesson.CreatedAt);
    }

    [Fact]
    public async Task Weak_candidates_are_dropped_with_the_threshold_they_missed_and_facts_about_one_user_need_no_second_source()
    {
        var window = Window(8, units: 2);
        var fewEpisodes = Candidate("few", "Look up the order before refunding it.", window.Take(2).Select(e => e.Id));
        var oneSource = Candidate("one", "Confirm the amount before paying the invoice.", window.Where(e => e.UnitKey == "u0").Select(e => e.Id), tools: ["pay_invoice"]);
        var unsure = Candidate("unsure", "Hold the seat before booking the flight.", window.Select(e => e.Id), confidence: 0.1, tools: ["book_flight"]);
        var fact = Candidate("fact", "This customer prefers email over phone calls.", window.Where(e => e.UnitKey == "u0").Select(e => e.Id), kind: LessonKind.UserFact, tools: []) is var f
            ? f with { Scope = f.Scope with { UnitKey = "u0" } }
            : null!;

        var result = await Consolidator(new LearningOptions { MinDistinctSources = 2 }).ConsolidateAsync(Input(window, [fewEpisodes, oneSource, unsure, fact]), Ct);

        Assert.Equal(LessonIds.For(Tenants.Default, "fact"), Assert.Single(result.Served).Id);
        Assert.Equal(3, result.Dropped.Count);
        Assert.Contains(result.Dropped, d => d.StartsWith(LessonIds.For(Tenants.Default, "few"), StringComparison.Ordinal) && d.Contains(": 2 supporting episodes, below MinEpisodes 3 (", StringComparison.Ordinal));
        Assert.Contains(result.Dropped, d => d.StartsWith(LessonIds.For(Tenants.Default, "one"), StringComparison.Ordinal) && d.Contains("1 distinct sources, below MinDistinctSources 2", StringComparison.Ordinal));
        Assert.Contains(result.Dropped, d => d.StartsWith(LessonIds.For(Tenants.Default, "unsure"), StringComparison.Ordinal) && d.Contains("below MinConfidence 0.50", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_known_lesson_gains_evidence_only_from_new_episodes_so_a_second_pass_changes_nothing()
    {
        var window = Window(10);
        var first = await Consolidator().ConsolidateAsync(Input(window.Take(6).ToList(), [Candidate("k", "Look up the order before refunding it.", window.Take(6).Select(e => e.Id))]), Ct);
        var lesson = Assert.Single(first.Served);
        Assert.Equal(6, lesson.Evidence.EpisodeCount);

        // Next run: the window holds all ten, four of them new; the extractor reports all ten as support.
        var grown = await Consolidator().ConsolidateAsync(
            Input(window, [Candidate("k", "Look up the order before refunding it.", window.Select(e => e.Id))], [lesson], [lesson.Id], window.Skip(6).Select(e => e.Id)),
            Ct);
        var updated = Assert.Single(grown.Served);
        Assert.Equal(lesson.Id, updated.Id);
        Assert.Equal(10, updated.Evidence.EpisodeCount);
        Assert.Equal(["e9", "e8", "e7", "e6", "e5", "e4", "e3", "e2", "e1", "e0"], updated.Evidence.EpisodeIds);
        Assert.Equal([lesson.Id], grown.Updated);
        Assert.Empty(grown.Added);

        // Same window again, nothing new: nothing changes.
        var again = await Consolidator().ConsolidateAsync(
            Input(window, [Candidate("k", "Look up the order before refunding it.", window.Select(e => e.Id))], [updated], [updated.Id], []),
            Ct);
        Assert.Empty(again.Updated);
        Assert.Empty(again.Changed);
        Assert.Equal(Json(updated), Json(Assert.Single(again.Served)));
    }

    [Fact]
    public async Task A_pattern_found_again_with_new_wording_takes_it_but_a_reordering_of_the_same_words_does_not()
    {
        var window = Window(6);
        var ids = window.Select(e => e.Id).ToArray();
        var first = await Consolidator().ConsolidateAsync(Input(window, [Candidate("k", "When refund_order fails, check the arguments, then call refund_order again.", ids)]), Ct);
        var lesson = Assert.Single(first.Served);

        var reordered = await Consolidator().ConsolidateAsync(
            Input(window, [Candidate("k", "Then call refund_order again when refund_order fails, check the arguments.", ids)], [lesson], [lesson.Id], []), Ct);
        Assert.Empty(reordered.Changed);

        var refined = await Consolidator().ConsolidateAsync(
            Input(window, [Candidate("k", "When refund_order fails, call lookup_order first, then call refund_order again.", ids)], [lesson], [lesson.Id], []), Ct);
        var updated = Assert.Single(refined.Served);
        Assert.Equal(lesson.Id, updated.Id);
        Assert.Equal("When refund_order fails, call lookup_order first, then call refund_order again.", updated.Text);
        Assert.Equal([lesson.Id], refined.Updated);
    }

    [Fact]
    public async Task Contradicting_lessons_are_settled_by_evidence_and_the_loser_is_kept_retired()
    {
        var window = Window(12);
        var always = Candidate("always", "Call lookup_order before calling refund_order: episodes that called refund_order without it failed more often.", window.Select(e => e.Id));
        var never = Candidate("never", "Avoid calling lookup_order before refund_order: episodes that did failed more often.", window.Take(4).Select(e => e.Id), kind: LessonKind.AntiPattern);

        var result = await Consolidator().ConsolidateAsync(Input(window, [always, never]), Ct);

        var contradiction = Assert.Single(result.Contradictions);
        var winner = LessonIds.For(Tenants.Default, "always");
        var loser = LessonIds.For(Tenants.Default, "never");
        Assert.Equal(winner, contradiction.WinnerId);
        Assert.Equal(new[] { winner, loser }.Order(StringComparer.Ordinal), new[] { contradiction.FirstId, contradiction.SecondId });
        Assert.Equal("evidence", contradiction.Method);
        Assert.Contains("12 episodes from 4 sources", contradiction.Reason);
        Assert.Equal(winner, Assert.Single(result.Served).Id);
        var stored = Assert.Single(result.Changed, l => l.Id == loser);
        Assert.True(stored.IsRetired);
        Assert.StartsWith($"contradicts {winner}", stored.RetiredReason);
        Assert.Contains(result.Dropped, d => d.StartsWith(loser, StringComparison.Ordinal));
        Assert.DoesNotContain(loser, result.Added);

        // Found again later, the loser stays retired instead of reopening the question.
        var again = await Consolidator().ConsolidateAsync(Input(window, [always, never], [.. result.Changed], result.Served.Select(l => l.Id), []), Ct);
        Assert.Empty(again.Contradictions);
        Assert.Contains(again.Dropped, d => d.StartsWith($"{loser}: found again, but it was retired", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"winner":"second","reason":"Skipping the lookup is what fails."}""", "never", "llm:contradiction-1", "Skipping the lookup is what fails.")]
    [InlineData("""{"winner":"both","reason":"x"}""", "always", "evidence", "the resolver's answer was rejected: winner must be \"first\" or \"second\"")]
    [InlineData("""{"winner":"first"}""", "always", "evidence", "reason must be a string of 1 to 300 characters")]
    [InlineData("I would keep the first one.", "always", "evidence", "not valid JSON")]
    public async Task A_configured_resolver_settles_contradictions_and_an_invalid_answer_falls_back_to_evidence(string answer, string winnerKey, string method, string reason)
    {
        var window = Window(12);
        var always = Candidate("always", "Call lookup_order before calling refund_order: episodes that called refund_order without it failed more often.", window.Select(e => e.Id));
        var never = Candidate("never", "Avoid calling lookup_order before refund_order: episodes that did failed more often.", window.Take(4).Select(e => e.Id), kind: LessonKind.AntiPattern);
        var resolver = new ScriptedChatClient((_, _) => answer);
        var options = new LearningOptions { ContradictionResolver = resolver };

        var result = await Consolidator(options).ConsolidateAsync(Input(window, [always, never]), Ct);

        var contradiction = Assert.Single(result.Contradictions);
        Assert.Equal(LessonIds.For(Tenants.Default, winnerKey), contradiction.WinnerId);
        Assert.Equal(method, contradiction.Method);
        Assert.Contains(reason, contradiction.Reason);
        Assert.Equal(contradiction.WinnerId, Assert.Single(result.Served).Id);
        var asked = Assert.Single(resolver.Requests);
        var firstIsAlways = contradiction.FirstId == LessonIds.For(Tenants.Default, "always");
        Assert.Contains((firstIsAlways ? "First lesson (Guideline): Call lookup_order" : "First lesson (AntiPattern): Avoid calling"), asked.Messages[1].Text);
    }

    [Fact]
    public async Task A_served_lesson_that_measurably_hurts_is_retired_as_harmful()
    {
        var lesson = new Lesson
        {
            Id = "les-harm",
            Kind = LessonKind.Guideline,
            Text = "Refund without looking anything up.",
            Extractor = Extractor,
            Confidence = 0.8,
            CreatedAt = Now.AddDays(-1),
            Evidence = new LessonEvidence { EpisodeIds = ["x"], EpisodeCount = 5, DistinctSources = 3 },
        };

        // 40 episodes (of 40 units) with the lesson injected: 10 succeed; 40 where the holdout withheld it: 30 succeed.
        var window = Withheld(Window(80, units: 80, failed: i => i < 40 ? i % 4 != 0 : i % 4 == 0, injected: i => i < 40 ? ["les-harm"] : []), "les-harm", i => i >= 40);

        var result = await Consolidator().ConsolidateAsync(Input(window, [], [lesson], ["les-harm"]), Ct);

        Assert.Empty(result.Served);
        var retirement = Assert.Single(result.Retirements);
        Assert.Equal("les-harm", retirement.LessonId);
        Assert.StartsWith("harmful: 0.250 with (40 episodes, 40 units) vs 0.750 withheld by the holdout (40 episodes, 40 units)", retirement.Reason);
        var retired = Assert.Single(result.Changed);
        Assert.Equal(Now, retired.RetiredAt);
        Assert.Equal((40, 0.25, 40, 0.75, true), (retired.Effect!.WithCount, retired.Effect.WithSuccessRate, retired.Effect.WithoutCount, retired.Effect.WithoutSuccessRate, retired.Effect.Randomized));
        Assert.True(retired.Effect.HarmPValue <= retired.Effect.Level);
    }

    [Fact]
    public async Task A_lesson_that_only_looks_harmful_because_it_goes_to_hard_episodes_is_kept()
    {
        var lesson = new Lesson
        {
            Id = "les-hard",
            Kind = LessonKind.Guideline,
            Text = "On a disputed charge, ask for the receipt.",
            Extractor = Extractor,
            Confidence = 0.8,
            CreatedAt = Now.AddDays(-1),
            Evidence = new LessonEvidence { EpisodeIds = ["x"], EpisodeCount = 5, DistinctSources = 3 },
        };

        // Retrieval sends it to the 40 hard episodes (10 succeed) and never to the 40 easy ones (30 succeed); where
        // the holdout withheld it, hard episodes do just as badly: 10 of 40.
        var window = Window(120, units: 120, failed: i => i < 40 ? i % 4 != 0 : i < 80 ? i % 4 == 0 : i % 4 != 0, injected: i => i < 40 ? ["les-hard"] : []);
        window = Withheld(window, "les-hard", i => i >= 80);

        var result = await Consolidator().ConsolidateAsync(Input(window, [], [lesson], ["les-hard"]), Ct);

        Assert.Empty(result.Retirements);
        var kept = Assert.Single(result.Served);
        Assert.Equal(0, kept.Effect!.Delta, 12);
        Assert.True(kept.Effect.Randomized);
    }

    [Fact]
    public async Task A_helpful_lesson_gains_confidence_from_its_measured_effect()
    {
        var lesson = new Lesson
        {
            Id = "les-good",
            Kind = LessonKind.Guideline,
            Text = "Look up the order before refunding it.",
            Extractor = Extractor,
            Confidence = 0.6,
            CreatedAt = Now.AddDays(-1),
            Evidence = new LessonEvidence { EpisodeIds = ["e0"], EpisodeCount = 5, DistinctSources = 3 },
        };
        var window = Withheld(Window(80, units: 80, failed: i => i < 40 ? i % 4 == 0 : i % 4 != 0, injected: i => i < 40 ? ["les-good"] : []), "les-good", i => i >= 40);

        var result = await Consolidator().ConsolidateAsync(Input(window, [], [lesson], ["les-good"]), Ct);

        var updated = Assert.Single(result.Served);
        Assert.Equal((40, 0.75, 40, 0.25, true), (updated.Effect!.WithCount, updated.Effect.WithSuccessRate, updated.Effect.WithoutCount, updated.Effect.WithoutSuccessRate, updated.Effect.Randomized));
        Assert.True(updated.Confidence > 0.79, $"confidence {updated.Confidence}");
        Assert.Empty(result.Retirements);

        // Measured again on the same window: the confidence does not drift.
        var again = await Consolidator().ConsolidateAsync(Input(window, [], [updated], ["les-good"], []), Ct);
        Assert.Empty(again.Changed);
    }

    [Fact]
    public async Task A_lesson_whose_newest_evidence_is_older_than_StaleAfter_is_retired_as_stale()
    {
        var old = Now.AddDays(-200);
        var lesson = new Lesson
        {
            Id = "les-old",
            Kind = LessonKind.Guideline,
            Text = "Fax the order form before refunding.",
            Extractor = Extractor,
            Confidence = 0.7,
            CreatedAt = old,
            Evidence = new LessonEvidence { EpisodeIds = ["ancient"], EpisodeCount = 4, DistinctSources = 2 },
        };
        var ancient = new EpisodeBuilder("ancient").StartedAt(old).Succeeded().Build();
        var input = Input(Window(5), [], [lesson], ["les-old"]) with
        {
            LoadEpisode = (id, _) => Task.FromResult<Episode?>(id == "ancient" ? ancient : null),
        };

        var result = await Consolidator().ConsolidateAsync(input, Ct);

        Assert.Empty(result.Served);
        Assert.StartsWith("stale: no new supporting episode since 2025-08-13", Assert.Single(result.Retirements).Reason);
    }
}
