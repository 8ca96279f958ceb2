using Lore.Learning;
using CsCheck;
using Lore.Simulation;
using Lore.Sqlite;

namespace Lore.Simulation.Tests;

/// <summary>
/// `lore eval`: replaying a held-out task set under two snapshots tells a helpful snapshot from a stale one,
/// per slice, without touching the production store.
/// </summary>
public sealed class OfflineEvaluationTests
{
    private static async Task<(Snapshot Learned, string StorePath, TempDirectory Directory)> LearnAsync(CancellationToken ct)
    {
        var directory = new TempDirectory();
        var path = directory.File("lore.db");
        var store = await SqliteLoreStore.OpenAsync(path, ct);
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = store }, ct);
        await new WorkplaceSimulation(new SimulationOptions { Seed = 42, Episodes = 150, LearnEvery = 50 }).RunAsync(runtime, progress: null, ct);
        var learned = runtime.CurrentSnapshot ?? throw new InvalidOperationException("the simulation learned nothing");

        // "Hold the seat first" makes the agent change state, so it waits for a person; an operator approves it here as
        // one would after reading it (the approval serves it in a child snapshot).
        var queue = new ReviewQueue(new LearningPipeline(store), Tenants.Default);
        foreach (var waiting in await queue.ListAsync(ct))
        {
            var approved = await queue.ApproveAsync(waiting.Id, "operator", "holding the seat is what the booking error asks for", ct);
            learned = await store.GetSnapshotAsync(approved.SnapshotId!, ct) ?? learned;
        }

        return (learned, path, directory);
    }

    [Fact]
    public async Task Learned_snapshot_beats_no_lessons_on_held_out_tasks_and_passes()
    {
        var ct = TestContext.Current.CancellationToken;
        var (learned, path, directory) = await LearnAsync(ct);
        using var _ = directory;
        var episodesBefore = await CountEpisodesAsync(path, ct);

        var report = await OfflineEvaluation.CompareAsync(new SimulatedEvaluationRunner(seed: 1042, tasks: 200), baseline: null, learned, cancellationToken: ct);

        Assert.True(report.Passed, report.Reason);
        Assert.True(report.Overall.Delta > 0.2, $"overall delta only {report.Overall.Delta:P1}");
        Assert.True(report.Overall.Low > 0, "the improvement is not significant");
        Assert.Equal(["account", "bookings", "payments", "refunds"], report.Slices.Select(s => s.Slice));
        Assert.All(report.Slices, s => Assert.True(s.Delta > 0, s.ToString()));
        Assert.Equal(episodesBefore, await CountEpisodesAsync(path, ct));
    }

    [Fact]
    public async Task After_the_tax_rule_changes_the_stale_invoice_lesson_regresses_payments_and_fails()
    {
        var ct = TestContext.Current.CancellationToken;
        var (learned, _, directory) = await LearnAsync(ct);
        using var _ = directory;
        Assert.Contains(learned.Lessons, l => l.Text.Contains("get_invoice", StringComparison.Ordinal) && l.Text.Contains("pay_invoice", StringComparison.Ordinal));

        var changed = WorkplaceRules.Default with { TaxCollectedSeparately = true };
        var report = await OfflineEvaluation.CompareAsync(new SimulatedEvaluationRunner(seed: 1042, tasks: 200, rules: changed), baseline: null, learned, cancellationToken: ct);

        Assert.False(report.Passed);
        var payments = Assert.Single(report.Slices, s => s.Slice == "payments");
        Assert.True(payments.Regressed, payments.ToString());
        Assert.True(payments.High < 0);
        Assert.Contains("payments", report.Reason);
        Assert.All(report.Slices.Where(s => s.Slice != "payments"), s => Assert.False(s.Regressed, s.ToString()));
    }

    [Fact]
    public void Results_of_different_task_sets_are_refused_naming_the_task()
    {
        OfflineTaskResult[] a = [new("t1", "s", 1), new("t2", "s", 0)];
        OfflineTaskResult[] b = [new("t1", "s", 1), new("t3", "s", 0)];

        var error = Assert.Throws<InvalidOperationException>(() => OfflineEvaluation.Compare(null, null, a, b, new OfflineEvaluationPolicy()));

        Assert.Contains("'t2'", error.Message);
        Assert.Contains("'t3'", error.Message);
        Assert.Throws<InvalidOperationException>(() => OfflineEvaluation.Compare(null, null, a, a.Take(1).ToArray(), new OfflineEvaluationPolicy()));
    }

    [Fact]
    public void Identical_replays_never_regress_and_intervals_contain_the_mean_delta()
    {
        var results = Gen.Select(Gen.Int[0, 3], Gen.Double[0, 1]).Array[1, 60];
        SeededCheck.ForAll(results, rows =>
        {
            var baseline = rows.Select((r, i) => new OfflineTaskResult($"t{i}", $"s{r.Item1}", Math.Round(r.Item2))).ToArray();
            var same = OfflineEvaluation.Compare("a", "b", baseline, baseline, new OfflineEvaluationPolicy());
            Assert.True(same.Passed);
            Assert.All(same.Slices.Append(same.Overall), s => Assert.Equal(0, s.Delta, 12));

            var candidate = rows.Select((r, i) => new OfflineTaskResult($"t{i}", $"s{r.Item1}", r.Item2)).ToArray();
            var report = OfflineEvaluation.Compare("a", "b", baseline, candidate, new OfflineEvaluationPolicy());
            Assert.All(report.Slices.Append(report.Overall), s => Assert.InRange(s.Delta, s.Low, s.High));
        });
    }

    [Fact]
    public void A_slice_is_judged_with_a_wider_interval_when_more_slices_are_tested_at_once()
    {
        // 'pay' loses 3 of 40 tasks; among nine more slices of unchanged tasks the family-wise correction widens its
        // interval against the same slice tested with the whole set only.
        OfflineTaskResult[] Run(int slices, bool candidate) =>
        [
            .. Enumerable.Range(0, 40).Select(i => new OfflineTaskResult($"pay{i}", "pay", candidate && i < 3 ? 0 : 1)),
            .. Enumerable.Range(0, 10 * (slices - 1)).Select(i => new OfflineTaskResult($"x{i}", $"other{i % (slices - 1)}", 1)),
        ];

        var policy = new OfflineEvaluationPolicy { Margin = 0.05 };
        var alone = OfflineEvaluation.Compare("a", "b", Run(1, false), Run(1, true), policy).Slices.Single(s => s.Slice == "pay");
        var among = OfflineEvaluation.Compare("a", "b", Run(10, false), Run(10, true), policy).Slices.Single(s => s.Slice == "pay");

        Assert.Equal(alone.Delta, among.Delta, 12);
        Assert.True(among.High - among.Low > alone.High - alone.Low, $"{among} vs {alone}");
        Assert.Contains("over 11 tests", OfflineEvaluation.Compare("a", "b", Run(10, false), Run(10, false), policy).Reason, StringComparison.Ordinal);
    }

    private static async Task<long> CountEpisodesAsync(string path, CancellationToken ct)
    {
        await using var store = await SqliteLoreStore.OpenAsync(path, ct);
        return await store.CountEpisodesAsync(Tenants.Default, ct);
    }
}
