using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>
/// The whole loop on the embedded default: the simulated workplace runs through a <see cref="LoreRuntime"/> on a
/// real SQLite file, Lore learns every 50 episodes with the LLM-free extractors, and the agent gets better.
/// </summary>
public sealed class DemoLearningCurveTests(ITestOutputHelper output)
{
    [Fact]
    public async Task With_the_seed_fixed_the_success_rate_after_learning_is_strictly_above_before()
    {
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        var progress = new List<SimulationProgress>();
        SimulationReport report;
        await using (var runtime = await OpenAsync(directory.File("lore.db"), ct))
        {
            report = await new WorkplaceSimulation(new SimulationOptions { Seed = 42 }).RunAsync(runtime, new SynchronousProgress(progress), ct);
        }

        Describe(report);
        Assert.Contains("simulation", report.Notice, StringComparison.OrdinalIgnoreCase);
        Assert.Null(report.StartingSnapshotId);
        Assert.Equal(400, report.Episodes.Count);
        Assert.Equal(8, report.LearningRuns.Count);
        Assert.Equal(8, report.Windows.Count);
        Assert.Equal(400, progress[^1].Completed);

        // The learning curve rises: after learning strictly above before, overall and from the first to the last window.
        Assert.True(report.BeforeLearning.Episodes >= 50, $"only {report.BeforeLearning.Episodes} episodes ran before learning");
        Assert.True(report.AfterLearning.Episodes >= 250, $"only {report.AfterLearning.Episodes} episodes ran after learning took effect");
        Assert.True(
            report.AfterLearning.Rate > report.BeforeLearning.Rate,
            $"success after learning {report.AfterLearning.Rate:P0} is not above before {report.BeforeLearning.Rate:P0}");
        Assert.True(report.Windows[^1].Result.Rate > report.Windows[0].Result.Rate, "the last window is not better than the first");
        foreach (var slice in report.Slices)
        {
            Assert.True(slice.AfterLearning.Rate > slice.BeforeLearning.Rate, $"{slice.Slice}: {slice.BeforeLearning.Rate:P0} -> {slice.AfterLearning.Rate:P0}");
        }

        // Lessons with evidence were learned, served and injected.
        Assert.NotEmpty(report.Snapshots);
        Assert.NotEmpty(report.Lessons);
        Assert.All(report.Lessons, l => Assert.True(l.EvidenceEpisodes > 0 && l.DistinctSources > 0, $"lesson {l.Id} has no evidence"));
        Assert.Contains(report.Lessons, l => l.InjectedInEpisodes > 0);
        Assert.True(report.EpisodesWithLessons >= 200, $"only {report.EpisodesWithLessons} episodes had lessons injected");

        // The store holds every episode, judged by the environment and stamped with what was injected into it.
        await using var store = SqliteLoreStore.Open(directory.File("lore.db"));
        var stored = await store.ReadEpisodesAsync(new EpisodeQuery { EndedOnly = true }, ct).ToListAsync(ct);
        Assert.Equal(400, stored.Count);
        var byId = stored.ToDictionary(e => e.Id);
        foreach (var run in report.Episodes)
        {
            var episode = byId[run.EpisodeId];
            Assert.Equal(run.Success, episode.Succeeded);
            Assert.Equal(OutcomeSource.Environment, Assert.Single(episode.Outcomes).Source);
            Assert.Equal(run.Slice, episode.Slice);
            Assert.Equal(run.CustomerId, episode.UnitKey);
            Assert.Equal(run.SnapshotId, episode.SnapshotId);
            Assert.Equal(run.InjectedLessonIds.Order(StringComparer.Ordinal), episode.InjectedLessonIds.Order(StringComparer.Ordinal));
            Assert.Contains(episode.Steps, s => s.Kind == StepKind.ToolCall);
        }

        foreach (var group in stored.Where(e => e.InjectedLessonIds.Count > 0).GroupBy(e => e.SnapshotId))
        {
            Assert.NotNull(group.Key);
            var snapshot = await store.GetSnapshotAsync(group.Key, ct);
            Assert.NotNull(snapshot);
            var served = snapshot.Lessons.Select(l => l.Id).ToHashSet();
            Assert.All(group.SelectMany(e => e.InjectedLessonIds), id => Assert.Contains(id, served));
        }

        Assert.All(stored.Take(50), e => Assert.Empty(e.InjectedLessonIds));
    }

    [Fact]
    public async Task The_same_seed_replays_the_same_run_on_a_fresh_store()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new SimulationOptions { Seed = 9, Episodes = 150, LearnEvery = 50, WindowSize = 50 };

        async Task<SimulationReport> RunAsync()
        {
            using var directory = new TempDirectory();
            await using var runtime = await OpenAsync(directory.File("lore.db"), ct);
            return await new WorkplaceSimulation(options).RunAsync(runtime, cancellationToken: ct);
        }

        var first = await RunAsync();
        var second = await RunAsync();
        Assert.Equal(
            first.Episodes.Select(e => (e.TicketId, e.Success, string.Join(",", e.ToolCalls), e.InjectedLessonIds.Count)),
            second.Episodes.Select(e => (e.TicketId, e.Success, string.Join(",", e.ToolCalls), e.InjectedLessonIds.Count)));
        Assert.Equal(first.Lessons.Select(l => l.Text), second.Lessons.Select(l => l.Text));
    }

    [Fact]
    public async Task Without_learning_the_agent_stays_at_its_baseline()
    {
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        await using var runtime = await OpenAsync(directory.File("lore.db"), ct);
        var report = await new WorkplaceSimulation(new SimulationOptions { Seed = 42, Episodes = 200, LearnEvery = 0 }).RunAsync(runtime, cancellationToken: ct);

        Assert.Empty(report.LearningRuns);
        Assert.Empty(report.Lessons);
        Assert.Equal(0, report.EpisodesWithLessons);
        Assert.Equal(0, report.AfterLearning.Episodes);
        Assert.InRange(report.BeforeLearning.Rate, 0.35, 0.75);
    }

    private void Describe(SimulationReport report)
    {
        foreach (var window in report.Windows)
        {
            output.WriteLine($"episodes {window.First,3}-{window.Last,3}: {window.Result.Rate,5:P0} ({window.EpisodesWithLessons} with lessons)");
        }

        output.WriteLine($"before learning {report.BeforeLearning.Rate:P1} of {report.BeforeLearning.Episodes}, after {report.AfterLearning.Rate:P1} of {report.AfterLearning.Episodes}");
        foreach (var slice in report.Slices)
        {
            output.WriteLine($"  {slice.Slice}: {slice.BeforeLearning.Rate:P0} -> {slice.AfterLearning.Rate:P0}");
        }

        foreach (var run in report.LearningRuns)
        {
            output.WriteLine($"learning after {run.AfterEpisode}: {run.Candidates} candidates, +{run.Added} ~{run.Updated} merged {run.Merged} retired {run.Retired} -> {run.SnapshotId ?? "no change"} ({run.LessonCount} lessons)");
        }

        foreach (var lesson in report.Lessons)
        {
            output.WriteLine($"[{lesson.EvidenceEpisodes} ep/{lesson.DistinctSources} src, injected in {lesson.InjectedInEpisodes}] {lesson.Text}");
        }
    }

    private static Task<LoreRuntime> OpenAsync(string path, CancellationToken ct)
        => LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(path) }, ct);

    /// <summary>Records progress reports on the reporting thread (Progress&lt;T&gt; would post them later).</summary>
    private sealed class SynchronousProgress(List<SimulationProgress> reports) : IProgress<SimulationProgress>
    {
        public void Report(SimulationProgress value) => reports.Add(value);
    }
}
