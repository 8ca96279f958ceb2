using System.Text.RegularExpressions;
using Lore.Learning.Guards;
using Lore.Sqlite;

namespace Lore.Learning.Tests;

public sealed class LearningStageClockTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private async Task<(LearningRun Run, Snapshot? Snapshot)> LearnAsync(string file, LearningStageClock? stages)
    {
        await using var store = SqliteLoreStore.Open(_dir.File(file));
        await using (var import = await store.BeginImportAsync(Ct))
        {
            foreach (var episode in LearningPipelineTests.Refunds(0, 200, seed: 4))
            {
                await import.AddAsync(episode, Ct);
            }

            await import.CommitAsync(Ct);
        }

        var run = await new LearningPipeline(store, new LearningOptions(), _clock) { Stages = stages }.RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        return (run, run.SnapshotId is { } id ? await store.GetSnapshotAsync(id, Ct) : null);
    }

    [Fact]
    public async Task A_measured_pass_reports_every_stage_in_order_and_learns_exactly_what_an_unmeasured_pass_learns()
    {
        var stages = new LearningStageClock();

        var measured = await LearnAsync("measured.db", stages);
        var plain = await LearnAsync("plain.db", stages: null);

        Assert.Equal(
            ["read episodes", "extract", "read lessons", "consolidate (statistics, merges, guards)", "guards (admission; part of consolidate)", "snapshot build", "commit"],
            stages.Stages.Select(s => s.Stage));
        Assert.All(stages.Stages, s => Assert.True(s.Cost.Intervals >= 1 && s.Cost.Wall > TimeSpan.Zero && s.Cost.Allocated >= 0, $"{s.Stage}: {s.Cost}"));
        Assert.NotEmpty(measured.Run.AddedLessonIds);
        Assert.Equal(plain.Run.AddedLessonIds, measured.Run.AddedLessonIds);
        Assert.Equal(plain.Snapshot!.Lessons.Select(l => (l.Id, l.Text, l.Status)), measured.Snapshot!.Lessons.Select(l => (l.Id, l.Text, l.Status)));
    }

    [Fact]
    public void A_rule_pattern_is_compiled_once_on_first_use_and_keeps_its_source()
    {
        var compiled = 0;
        var pattern = new RulePattern(@"\brefund\b", source =>
        {
            Interlocked.Increment(ref compiled);
            return new Regex(source, RegexOptions.CultureInvariant | RegexOptions.NonBacktracking);
        }, RegexOptions.CultureInvariant);

        // Its quick check answers without building the non-backtracking automaton.
        Assert.False(pattern.MayMatch("refunded twice"));
        Assert.True(pattern.MayMatch("issue a refund now"));
        Assert.Equal(0, compiled);
        Assert.Equal(@"\brefund\b", pattern.Source);
        var first = pattern.Regex;
        Assert.Same(first, pattern.Regex);
        Assert.Equal(1, compiled);
        Assert.Matches(first, "issue a refund now");
        Assert.DoesNotMatch(first, "refunded");
    }
}
