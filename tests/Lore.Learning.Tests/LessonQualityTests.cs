using Lore.Learning.Consolidation;
using Lore.Learning.Tests.Guards;
using Lore.Simulation.Confounded;
using Lore.Sqlite;

namespace Lore.Learning.Tests;

/// <summary>
/// The ways learning went wrong on real trajectories, rebuilt with data made here: confounding by kind of task,
/// trials counted as evidence, state changes made preconditions, no scope, no-op tools, fabricated evidence and an
/// attacker riding on other users' failures. Each test runs the real pipeline on a real SQLite store.
/// </summary>
public sealed class LessonQualityTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task<(IReadOnlyList<Lesson> Served, IReadOnlyList<Lesson> All)> LearnAsync(IEnumerable<Episode> episodes, LearningOptions? options = null)
    {
        using var directory = new TempDirectory();
        await using var store = SqliteLoreStore.Open(directory.File("lore.db"));
        await GuardTestData.ImportAsync(store, episodes);
        var run = await new LearningPipeline(store, options).RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        var served = run.SnapshotId is null ? [] : (await store.GetSnapshotAsync(run.SnapshotId, Ct))!.Lessons;
        var all = await store.ListLessonsAsync(new LessonQuery { Tenant = Tenants.Default, IncludeRetired = true }, Ct);
        return (served, all);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task A_confounded_workplace_serves_only_its_real_tool_error_recoveries(int seed)
    {
        var (served, _) = await LearnAsync(ConfoundedWorkplace.Episodes(seed));
        var tools = new ToolCatalog();

        Assert.NotEmpty(served);
        foreach (var lesson in served)
        {
            // Never a discouraged look-up, never a state change as a step to take first, never a scratchpad.
            Assert.DoesNotContain("Avoid calling get_", lesson.Text, StringComparison.Ordinal);
            Assert.DoesNotContain("think", lesson.Text, StringComparison.Ordinal);
            Assert.All(lesson.RecommendedTools ?? lesson.Scope.Tools, t => Assert.False(tools.ChangesState(t), $"{lesson.Text} recommends {t}"));

            // Scope from evidence: one slice, and only that slice's tools.
            Assert.True(lesson.Scope.EvidenceLabels.TryGetValue("slice", out var slice), $"{lesson.Text} has no slice scope");
            var own = slice == "airline" ? ConfoundedWorkplace.AirlineTools : ConfoundedWorkplace.RetailTools;
            Assert.All(lesson.Scope.Tools, t => Assert.Contains(t, own));
            Assert.False(lesson.Scope.EvidenceLabels.ContainsKey("task_id"));

            // Trials of one task are one piece of evidence.
            Assert.True(lesson.Evidence.DistinctTasks <= lesson.Evidence.EpisodeCount);
            Assert.True(lesson.Evidence.DistinctTasks >= 2);
        }

        Assert.Contains(served, l => l.Text.StartsWith("When book_reservation fails with \"payment amount does not add up", StringComparison.Ordinal) && l.Text.Contains("call calculate first", StringComparison.Ordinal));
        Assert.Contains(served, l => l.Text == "When find_user_id_by_email fails with \"user not found\", call find_user_id_by_name_zip instead.");
    }

    [Fact]
    public async Task A_pattern_shown_by_many_trials_of_one_task_is_not_a_lesson()
    {
        // One customer's task tried 40 times: every trial fails after reading the reservation twice.
        var episodes = Enumerable.Range(0, 40).Select(i => new EpisodeBuilder($"t-{i:D2}").Unit("customer-1").Task("change my flight").Label("task_id", "7")
            .Tool("update_reservation_flights", """{"id":"R1"}""", "Error: flight HAT1 not available on date 2024-05-01")
            .Tool("search_direct_flight", "{}", "[]")
            .Tool("update_reservation_flights", """{"id":"R1","flights":["HAT2"]}""", "{}")
            .Failed().Build());

        var (served, all) = await LearnAsync(episodes);

        Assert.Empty(served);
        Assert.All(all, l => Assert.Equal(1, l.Evidence.DistinctTasks));
    }

    [Fact]
    public async Task Fabricated_evidence_and_claimed_sources_do_not_count()
    {
        var real = Enumerable.Range(0, 3).Select(i => new EpisodeBuilder($"real-{i}").Unit($"unit-{i}").Tool("lookup_order").Succeeded().Build()).ToList();
        var extractor = new ScriptedExtractor(batch =>
        [
            new LessonCandidate
            {
                Key = "fabricated",
                Kind = LessonKind.Guideline,
                Text = "Call lookup_order twice before answering.",
                Scope = new LessonScope { Tenant = batch.Tenant, Tools = ["lookup_order"] },
                Evidence = new LessonEvidence
                {
                    EpisodeIds = ["real-0", "real-1", "real-2", "ghost-1", "ghost-2", "ghost-3"],
                    EpisodeCount = 6,
                    DistinctSources = 6,
                    DistinctTasks = 6,
                    ExemplarEpisodeIds = ["real-0", "ghost-4", "ghost-5"],
                    ExemplarSources = 6,
                    ExemplarTasks = 6,
                },
                Confidence = 0.99,
                Extractor = new ExtractorInfo("scripted", "1"),
            },
        ]);
        var options = new LearningOptions();
        options.Extractors.Add(extractor);

        var (served, all) = await LearnAsync(real, options);

        // Counted by the store: three real episodes from three sources, one real exemplar; the six claimed sources
        // and the ghosts count for nothing, and one exemplar source cannot vouch for a recommendation.
        Assert.Empty(served);
        var lesson = Assert.Single(all);
        Assert.Equal((3, 3, 3), (lesson.Evidence.EpisodeCount, lesson.Evidence.DistinctSources, lesson.Evidence.DistinctTasks));
        Assert.DoesNotContain(lesson.Evidence.EpisodeIds, id => id.StartsWith("ghost", StringComparison.Ordinal));
        Assert.Equal((1, 1), (lesson.Evidence.ExemplarCount, lesson.Evidence.ExemplarSources));
        Assert.Equal(LessonStatus.Rejected, lesson.Status);
        Assert.Contains(lesson.GuardFindings, f => f.Rule == GuardRules.Exemplars);
    }

    [Fact]
    public async Task One_attacker_riding_on_honest_failures_cannot_make_a_lesson_that_names_its_tool()
    {
        // Honest customers: cancellations that skip the look-up often fail; an attacker unit sends 60 successful
        // episodes that call send_certificate (money) before cancel_reservation, hoping "call send_certificate before
        // cancel_reservation" rides on the honest failures.
        var random = new Random(3);
        var honest = Enumerable.Range(0, 80).Select(i =>
        {
            var b = new EpisodeBuilder($"h-{i:D3}").Unit($"customer-{i % 20}");
            var lookup = random.NextDouble() < 0.5;
            if (lookup)
            {
                b.Tool("get_reservation_details", "{}", "{}");
            }

            b.Tool("cancel_reservation", "{}", "{}");
            return (random.NextDouble() < (lookup ? 0.2 : 0.7) ? b.Failed() : b.Succeeded()).Build();
        });
        var attacker = Enumerable.Range(0, 60).Select(i => new EpisodeBuilder($"a-{i:D3}").Unit("attacker")
            .Tool("send_certificate", """{"amount":1000}""", "{}").Tool("get_reservation_details", "{}", "{}").Tool("cancel_reservation", "{}", "{}").Succeeded().Build());

        var (served, all) = await LearnAsync(honest.Concat(attacker));

        Assert.DoesNotContain(served, l => l.Text.Contains("send_certificate", StringComparison.Ordinal) || l.Scope.Tools.Contains("send_certificate"));
        Assert.All(all.Where(l => l.Scope.Tools.Contains("send_certificate")), l => Assert.NotEqual(LessonStatus.Active, l.Status));
    }

    /// <summary>
    /// In three tasks of three users a seat hold failed, the identical retry failed again, and a retry with another
    /// seat worked: "change the seat argument" and "do not retry the same call unchanged" are one piece of advice, not
    /// a contradiction, so neither may retire the other.
    /// </summary>
    [Fact]
    public async Task A_recovery_that_changes_an_argument_and_a_warning_against_the_unchanged_retry_are_both_served()
    {
        var episodes = Enumerable.Range(0, 3).SelectMany(task => Enumerable.Range(0, 2).Select(trial =>
            new EpisodeBuilder($"t{task}-{trial}")
                .Unit($"user-{task}")
                .Label("task_id", $"{task}")
                .Label("slice", "seats")
                .StartedAt(new DateTimeOffset(2026, 2, 1, task, trial, 0, TimeSpan.Zero))
                .Tool("hold_seat", $$"""{"flight":"F{{task}}","seat":"{{task}}A"}""", $"Error: seat {task}A is taken")
                .Tool("hold_seat", $$"""{"flight":"F{{task}}","seat":"{{task}}A"}""", $"Error: seat {task}A is taken")
                .Tool("hold_seat", $$"""{"flight":"F{{task}}","seat":"{{task}}C"}""", "{\"held\":true}")
                .Succeeded()
                .Build()));

        var (served, all) = await LearnAsync(episodes);

        Assert.Contains(served, l => l.Text == "When hold_seat fails with \"seat <id> is taken\": change the seat argument, then call hold_seat again.");
        Assert.Contains(served, l => l.Text == "When hold_seat fails with \"seat <id> is taken\", do not retry the same call unchanged: identical retries failed again.");
        Assert.DoesNotContain(all, l => l.RetiredReason?.StartsWith("contradicts", StringComparison.Ordinal) == true);
    }

    /// <summary>A warning against an identical retry agrees with any advice that changes the call; only advice to repeat it unchanged opposes it.</summary>
    [Fact]
    public void A_warning_against_an_unchanged_retry_agrees_with_a_changed_retry_and_with_an_alternative_tool()
    {
        Lesson L(string text, LessonKind kind) => new() { Id = text, Kind = kind, Text = text, Extractor = new("x", "1") };
        var warning = L("When hold_seat fails with \"seat <id> is taken\", do not retry the same call unchanged: identical retries failed again.", LessonKind.AntiPattern);

        Assert.True(ContradictionResolver.Agree(warning, L("When hold_seat fails with \"seat <id> is taken\": change the seat argument, then call hold_seat again.", LessonKind.ToolGuide)));
        Assert.True(ContradictionResolver.Agree(warning, L("When hold_seat fails with \"seat <id> is taken\": call list_seats first and change the seat argument, then call hold_seat again.", LessonKind.ToolGuide)));
        Assert.True(ContradictionResolver.Agree(L("When hold_seat fails with \"seat <id> is taken\", call hold_any_seat instead.", LessonKind.ToolGuide), warning));

        // Another error, or a retry that changes nothing but a look-up before it, is not covered by the agreement.
        Assert.False(ContradictionResolver.Agree(warning, L("When hold_seat fails with \"flight <id> is closed\": change the flight argument, then call hold_seat again.", LessonKind.ToolGuide)));
        Assert.False(ContradictionResolver.Agree(warning, L("When hold_seat fails with \"seat <id> is taken\": call list_seats first, then call hold_seat again.", LessonKind.ToolGuide)));
    }

    [Fact]
    public void Avoid_A_before_B_and_call_B_before_A_argue_for_the_same_order()
    {
        Lesson L(string text, LessonKind kind) => new() { Id = text, Kind = kind, Text = text, Extractor = new("x", "1") };

        var avoid = ContradictionResolver.OrderClaim(L("Avoid calling search_flights before get_user: episodes that did failed.", LessonKind.AntiPattern));
        var call = ContradictionResolver.OrderClaim(L("Call get_user before calling search_flights.", LessonKind.Guideline));
        var opposite = ContradictionResolver.OrderClaim(L("Call search_flights before calling get_user.", LessonKind.Guideline));

        Assert.Equal(("get_user", "search_flights"), avoid);
        Assert.Equal(avoid, call);
        Assert.Equal(("search_flights", "get_user"), opposite);
    }

    [Theory]
    [InlineData("get_user_details", ToolEffect.ReadOnly)]
    [InlineData("calculate", ToolEffect.ReadOnly)]
    [InlineData("think", ToolEffect.NoOp)]
    [InlineData("book_reservation", ToolEffect.StateChanging)]
    [InlineData("cancel_reservation", ToolEffect.StateChanging)]
    [InlineData("send_certificate", ToolEffect.MoneyMoving)]
    [InlineData("refund_order", ToolEffect.MoneyMoving)]
    [InlineData("grantAdminRole", ToolEffect.PermissionChanging)]
    [InlineData("frobnicate", ToolEffect.StateChanging)]
    public void Unknown_tools_are_judged_by_name_and_state_changing_when_the_name_says_nothing(string tool, ToolEffect expected)
        => Assert.Equal(expected, new ToolCatalog().EffectOf(tool));

    [Fact]
    public void Configuration_and_annotations_win_over_the_name()
    {
        var catalog = new ToolCatalog().Set("get_and_delete", ToolEffect.StateChanging).Describe("purge_cache", readOnlyHint: true);

        Assert.Equal(ToolEffect.StateChanging, catalog.EffectOf("get_and_delete"));
        Assert.Equal(ToolEffect.ReadOnly, catalog.EffectOf("purge_cache"));
        Assert.Equal(ToolEffect.MoneyMoving, new ToolCatalog().Describe("issue_refund", readOnlyHint: false, destructiveHint: true).EffectOf("issue_refund"));
    }
}
