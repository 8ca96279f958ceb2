using Lore.Learning;
using Lore.Simulation;
using System.Collections.Immutable;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>
/// The workplace's episodes, learned by the real LLM-free extractors without the runtime in between: the lessons they
/// produce must name the tools of every hidden rule (that is what the agent recognises), and handing those lessons to
/// the agent must lift its success. This pins the contract between the simulation and the learning stage.
/// </summary>
public sealed class LearningFromTheWorkplaceTests(ITestOutputHelper output)
{
    [Fact]
    public async Task The_llm_free_extractors_learn_a_lesson_the_agent_recognises_for_every_hidden_rule()
    {
        var ct = TestContext.Current.CancellationToken;
        var workplace = new Workplace(seed: 42);
        using var directory = new TempDirectory();
        await using var store = SqliteLoreStore.Open(directory.File("lore.db"));

        var import = await store.BeginImportAsync(ct);
        await using (import)
        {
            // 150 episodes: comparing within kinds of task (and agreeing across tasks) needs more than a handful per rule.
            for (var i = 0; i < 150; i++)
            {
                await import.AddAsync(await RunAsync(workplace, i, lessons: null), ct);
            }

            await import.CommitAsync(ct);
        }

        var run = await new LearningPipeline(store).RunAsync(Tenants.Default, "test", cancellationToken: ct);
        foreach (var report in run.Extractors)
        {
            output.WriteLine($"{report.Name}: {report.Candidates} candidates, {report.Rejected} refused: {string.Join(" | ", report.RejectionSamples)}");
        }

        foreach (var dropped in run.Dropped)
        {
            output.WriteLine($"dropped {dropped}");
        }

        var snapshot = await store.GetSnapshotAsync(run.SnapshotId!, ct);
        Assert.NotNull(snapshot);
        foreach (var lesson in snapshot.Lessons)
        {
            output.WriteLine($"{lesson.Kind} [{lesson.Evidence.EpisodeCount} ep, {lesson.Evidence.DistinctSources} src] {lesson.Extractor.Name}: {lesson.Text}");
        }

        // A rule whose first step changes state (hold_seat) is learned too, but waits for a person: approve it as an
        // operator would, and the approval serves it.
        var pipeline = new LearningPipeline(store);
        var queue = new ReviewQueue(pipeline, Tenants.Default);
        var waiting = await queue.ListAsync(ct);
        foreach (var lesson in await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, ct))
        {
            output.WriteLine($"{lesson.Status} {lesson.Kind} [{string.Join(",", lesson.GuardFindings.Select(f => f.Rule))}] {lesson.Text}");
        }

        var tools = new ToolCatalog();
        Assert.All(ProcedureRule.All.Where(r => tools.ChangesState(r.Precondition)), rule => Assert.Contains(waiting, l => rule.IsMentionedIn(l.Text) && l.GuardFindings.Any(f => f.Rule == GuardRules.ToolEffect)));
        foreach (var lesson in waiting)
        {
            var approved = await queue.ApproveAsync(lesson.Id, "operator", "the booking error asks for the hold", ct);
            snapshot = await store.GetSnapshotAsync(approved.SnapshotId!, ct) ?? snapshot;
        }

        var section = string.Join('\n', snapshot.Lessons.Select(l => "- " + l.Text));
        Assert.All(ProcedureRule.All, rule => Assert.True(rule.IsMentionedIn(section), $"no lesson names {rule.Precondition} and {rule.Action}"));

        int before = 0, after = 0;
        for (var i = 150; i < 350; i++)
        {
            before += (await RunAsync(workplace, i, lessons: null)).Succeeded == true ? 1 : 0;
            after += (await RunAsync(workplace, i, lessons: section)).Succeeded == true ? 1 : 0;
        }

        output.WriteLine($"success on episodes 151-350: {before} without lessons, {after} with them");
        Assert.True(after > before + 40, $"{before} -> {after}");
    }

    private static async Task<Episode> RunAsync(Workplace workplace, int index, string? lessons)
    {
        var task = workplace.CreateTask(index);
        var (environment, _) = await AgentHarness.RunAsync(workplace, task, agentSeed: workplace.Seed, lessons: lessons);
        var start = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero).AddMinutes(index);
        return new Episode
        {
            Id = $"ep-{index:D4}",
            UnitKey = task.CustomerId,
            Task = task.Text,
            Labels = task.CreateLabels().ToImmutableSortedDictionary(),
            StartedAt = start,
            EndedAt = start.AddSeconds(30),
            Steps = environment.Calls.Select((c, n) => Step.Tool(n, c.Name, c.Arguments, c.Result, callId: $"call_{n + 1}", at: start.AddSeconds(n))).ToArray(),
            Outcomes = [environment.Judge().ToOutcome(start.AddSeconds(30))],
            Origin = "test",
        };
    }
}
