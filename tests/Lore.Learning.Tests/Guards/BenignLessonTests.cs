using System.Text.Json;
using Lore.Learning.Guards;
using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Learning.Tests.Guards;

/// <summary>
/// No false positives on real lessons: the simulated workplace learns the same lessons with the guards as without
/// them, and what the extractors find in the tau-bench sample passes the content screen.
/// </summary>
public sealed class BenignLessonTests(ITestOutputHelper output) : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The hidden rules of the workplace, as the tools a lesson must name to teach them.</summary>
    private static readonly (string Precondition, string Action)[] HiddenRules =
    [
        ("lookup_order", "refund_order"), ("get_invoice", "pay_invoice"), ("hold_seat", "book_flight"), ("verify_identity", "update_address"),
    ];

    /// <summary>Runs the demo's simulation; the runtime owns (and closes) the store, so the caller reopens the file.</summary>
    private async Task<SimulationReport> SimulateAsync(string file, bool guards)
    {
        var store = SqliteLoreStore.Open(_dir.File(file));
        var options = new LoreOptions { Store = store };
        if (!guards)
        {
            options.Learning.Admission = null;
        }

        await using var runtime = await LoreRuntime.OpenAsync(options, Ct);
        return await new WorkplaceSimulation(new SimulationOptions { Seed = 42, Episodes = 400, LearnEvery = 50, WindowSize = 50 }).RunAsync(runtime, cancellationToken: Ct);
    }

    [Fact]
    public async Task The_simulated_workplace_serves_the_same_lessons_with_the_guards_except_state_changing_steps_which_wait_for_review()
    {
        var guarded = await SimulateAsync("guarded.db", guards: true);
        var unguarded = await SimulateAsync("unguarded.db", guards: false);
        await using var store = SqliteLoreStore.Open(_dir.File("guarded.db"));

        output.WriteLine($"with guards: {guarded.BeforeLearning.Rate:P0} -> {guarded.AfterLearning.Rate:P0}; without: {unguarded.BeforeLearning.Rate:P0} -> {unguarded.AfterLearning.Rate:P0}");
        foreach (var lesson in guarded.Lessons)
        {
            output.WriteLine($"{lesson.Kind} [{lesson.EvidenceEpisodes} ep, {lesson.DistinctSources} src, {lesson.Confidence:F2}] {lesson.Text}");
        }

        Assert.NotEmpty(guarded.Lessons);
        var lessons = await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct);

        // What the guards hold back is exactly what would make the agent change state on its own (hold_seat): it waits
        // for a person. Everything else is served as without the guards.
        var tools = new ToolCatalog();
        var held = unguarded.Lessons.Select(l => l.Id).Except(guarded.Lessons.Select(l => l.Id)).ToArray();
        Assert.All(guarded.Lessons, l => Assert.Contains(l.Id, unguarded.Lessons.Select(u => u.Id)));
        Assert.All(held, id => Assert.Contains(lessons, l => l.Id == id && l.Status == LessonStatus.PendingReview && l.GuardFindings.Any(f => f.Rule == GuardRules.ToolEffect)));
        var section = string.Join('\n', guarded.Lessons.Select(l => l.Text));
        var queued = string.Join('\n', lessons.Where(l => l.Status == LessonStatus.PendingReview).Select(l => l.Text));
        Assert.All(HiddenRules, rule => Assert.Contains(
            (tools.ChangesState(rule.Precondition) ? queued : section).Split('\n'),
            line => line.Contains(rule.Precondition, StringComparison.Ordinal) && line.Contains(rule.Action, StringComparison.Ordinal)));

        // Nothing the workplace taught tripped the content screen, and every served lesson was admitted on the record.
        Assert.DoesNotContain(lessons, l => l.GuardFindings.Any(f => f.Rule.StartsWith("content.", StringComparison.Ordinal)));
        var admitted = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            if (entry.Action == AuditActions.LessonAdmitted)
            {
                admitted.Add(entry.Subject);
            }
        }

        Assert.All(guarded.Lessons, l => Assert.Contains(l.Id, admitted));
    }

    [Fact]
    public async Task Every_lesson_the_extractors_find_in_the_tau_bench_sample_passes_the_content_screen()
    {
        var episodes = await TauBenchSample.EpisodesAsync();
        var batch = new ExtractionBatch(Tenants.Default, episodes, episodes.Select(e => e.Id).ToHashSet(StringComparer.Ordinal));
        var candidates = new List<LessonCandidate>();
        candidates.AddRange((await new ToolErrorExtractor(new ToolErrorExtractorOptions { MinEpisodes = 1, RecipeMinTasks = 1 }).ExtractAsync(batch, Ct)).Candidates);
        candidates.AddRange((await new ContrastExtractor().ExtractAsync(batch, Ct)).Candidates);
        var guard = new AdmissionPolicy().Build();

        Assert.True(candidates.Count >= 4, $"{candidates.Count} candidates");
        foreach (var candidate in candidates)
        {
            var lesson = HostileCorpus.Strong(candidate.Text, candidate.Kind) with { Trigger = candidate.Trigger, Scope = candidate.Scope, RecommendedTools = candidate.RecommendedTools };
            var verdict = await guard.EvaluateAsync(lesson, evidenceHosts: null, Ct);
            output.WriteLine($"{verdict.Status}: {candidate.Text}");
            Assert.True(verdict.Status == LessonStatus.Active, $"{JsonSerializer.Serialize(verdict.Lesson.GuardFindings, LoreJson.Options)} on: {candidate.Text}");
        }
    }


}
