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
            for (var i = 0; i < 50; i++)
            {
                await import.AddAsync(await RunAsync(workplace, i, lessons: null), ct);
            }

            await import.CommitAsync(ct);
        }

        var run = await new LearningPipeline(store).RunAsync(Tenants.Default, "test", cancellationToken: ct);
        var snapshot = await store.GetSnapshotAsync(run.SnapshotId!, ct);
        Assert.NotNull(snapshot);
        foreach (var lesson in snapshot.Lessons)
        {
            output.WriteLine($"{lesson.Kind} [{lesson.Evidence.EpisodeCount} ep, {lesson.Evidence.DistinctSources} src] {lesson.Extractor.Name}: {lesson.Text}");
        }

        var section = string.Join('\n', snapshot.Lessons.Select(l => "- " + l.Text));
        Assert.All(ProcedureRule.All, rule => Assert.True(rule.IsMentionedIn(section), $"no lesson names {rule.Precondition} and {rule.Action}"));

        int before = 0, after = 0;
        for (var i = 50; i < 250; i++)
        {
            before += (await RunAsync(workplace, i, lessons: null)).Succeeded == true ? 1 : 0;
            after += (await RunAsync(workplace, i, lessons: section)).Succeeded == true ? 1 : 0;
        }

        output.WriteLine($"success on episodes 51-250: {before} without lessons, {after} with them");
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
