using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>The demo runner's own behaviour: rule changes, streaming, options and progress.</summary>
public sealed class WorkplaceSimulationTests
{
    [Fact]
    public async Task A_rule_switched_off_midway_stops_producing_its_errors_from_that_episode_on()
    {
        var ct = TestContext.Current.CancellationToken;
        var options = new SimulationOptions { Seed = 3, Episodes = 200, LearnEvery = 0 };
        options.RuleChanges.Add(new WorkplaceRuleChange(100, WorkplaceRules.Default with { RefundRequiresLookup = false }));
        using var directory = new TempDirectory();
        await using var runtime = await OpenAsync(directory.File("lore.db"), ct);

        var report = await new WorkplaceSimulation(options).RunAsync(runtime, cancellationToken: ct);

        static bool RefundRefused(SimulatedEpisode e) => e.ToolCalls.Contains("refund_order (error)");
        Assert.Contains(report.Episodes.Take(100), RefundRefused);
        Assert.DoesNotContain(report.Episodes.Skip(100), RefundRefused);
        var shortcuts = report.Episodes.Skip(100).Where(e => e.Slice == WorkplaceSlices.Refunds && e.ToolCalls.SequenceEqual(["refund_order"])).ToList();
        Assert.NotEmpty(shortcuts);
        Assert.All(shortcuts, e => Assert.True(e.Success, $"{e.TicketId}: {e.Reason}"));
        Assert.Contains(report.Episodes.Skip(100), e => e.Slice == WorkplaceSlices.Bookings && e.ToolCalls.Contains("book_flight (error)"));
    }

    [Fact]
    public async Task Streaming_and_buffered_runs_capture_and_learn_the_same()
    {
        var ct = TestContext.Current.CancellationToken;

        async Task<SimulationReport> RunAsync(bool streaming)
        {
            using var directory = new TempDirectory();
            await using var runtime = await OpenAsync(directory.File("lore.db"), ct);
            return await new WorkplaceSimulation(new SimulationOptions { Seed = 5, Episodes = 120, LearnEvery = 40, Streaming = streaming }).RunAsync(runtime, cancellationToken: ct);
        }

        var buffered = await RunAsync(streaming: false);
        var streamed = await RunAsync(streaming: true);

        Assert.NotEmpty(streamed.Lessons);
        Assert.Equal(buffered.Lessons.Select(l => l.Text), streamed.Lessons.Select(l => l.Text));
        Assert.Equal(buffered.Episodes.Select(e => (e.Success, e.InjectedLessonIds.Count)), streamed.Episodes.Select(e => (e.Success, e.InjectedLessonIds.Count)));
    }

    [Fact]
    public async Task Progress_counts_every_episode_and_announces_each_learning_pass()
    {
        var ct = TestContext.Current.CancellationToken;
        using var directory = new TempDirectory();
        await using var runtime = await OpenAsync(directory.File("lore.db"), ct);
        var reports = new List<SimulationProgress>();

        await new WorkplaceSimulation(new SimulationOptions { Seed = 1, Episodes = 60, LearnEvery = 20, WindowSize = 20 })
            .RunAsync(runtime, new ListProgress(reports), ct);

        Assert.Equal(Enumerable.Range(1, 60), reports.Where(r => r.Activity == "working tickets").Select(r => r.Completed).Distinct());
        Assert.Equal([20, 40, 60], reports.Where(r => r.Activity == "learning").Select(r => r.Completed));
        Assert.All(reports, r => Assert.Equal(60, r.Total));
        Assert.Equal(3, reports[^1].LearningRuns);
        Assert.InRange(reports.First(r => r.Completed == 20).CurrentWindow.Episodes, 20, 20);
        Assert.Equal(1, reports.First(r => r.Completed == 21).CurrentWindow.Episodes);
    }

    [Fact]
    public void Out_of_range_options_are_rejected_by_name()
    {
        Assert.Equal("Episodes", Assert.Throws<ArgumentOutOfRangeException>(() => new WorkplaceSimulation(new SimulationOptions { Episodes = 0 })).ParamName);
        Assert.Equal("LearnEvery", Assert.Throws<ArgumentOutOfRangeException>(() => new WorkplaceSimulation(new SimulationOptions { LearnEvery = -1 })).ParamName);
        Assert.Equal("WindowSize", Assert.Throws<ArgumentOutOfRangeException>(() => new WorkplaceSimulation(new SimulationOptions { WindowSize = 0 })).ParamName);
        Assert.Equal("Customers", Assert.Throws<ArgumentOutOfRangeException>(() => new WorkplaceSimulation(new SimulationOptions { Customers = 1 })).ParamName);
        var badRate = new SimulationOptions { Agent = SimulatedAgentProfile.Default with { FollowLessons = -0.1 } };
        Assert.Equal("FollowLessons", Assert.Throws<ArgumentOutOfRangeException>(() => new WorkplaceSimulation(badRate)).ParamName);
    }

    [Fact]
    public void The_rules_in_force_are_the_latest_change_at_or_before_an_episode()
    {
        var options = new SimulationOptions();
        var lax = WorkplaceRules.Default with { BookingRequiresHold = false };
        var strict = WorkplaceRules.Default with { PaymentMustEqualInvoiceTotal = true };
        options.RuleChanges.Add(new WorkplaceRuleChange(300, strict));
        options.RuleChanges.Add(new WorkplaceRuleChange(100, lax));

        Assert.Same(options.Rules, options.RulesAt(99));
        Assert.Same(lax, options.RulesAt(100));
        Assert.Same(lax, options.RulesAt(299));
        Assert.Same(strict, options.RulesAt(300));
    }

    private static Task<LoreRuntime> OpenAsync(string path, CancellationToken ct)
        => LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(path) }, ct);

    private sealed class ListProgress(List<SimulationProgress> reports) : IProgress<SimulationProgress>
    {
        public void Report(SimulationProgress value) => reports.Add(value);
    }
}
