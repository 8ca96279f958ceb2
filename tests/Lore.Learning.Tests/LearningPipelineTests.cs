using System.Text.Json;
using Lore.Sqlite;

namespace Lore.Learning.Tests;

public sealed class LearningPipelineTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly ManualTimeProvider _clock = new(new DateTimeOffset(2026, 3, 1, 12, 0, 0, TimeSpan.Zero));

    public void Dispose() => _dir.Dispose();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private SqliteLoreStore OpenStore(string name = "lore.db") => SqliteLoreStore.Open(_dir.File(name));

    /// <summary>
    /// Refund episodes where skipping lookup_order makes refund_order fail and, unrecovered, the episode fail; the
    /// rest succeed. Ids continue from <paramref name="first"/> so later batches add new episodes.
    /// </summary>
    internal static List<Episode> Refunds(int first, int count, int seed)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
        return Enumerable.Range(first, count).Select(i =>
        {
            var builder = new EpisodeBuilder($"ep-{i:D5}").Unit($"customer-{i % 17}").StartedAt(start.AddMinutes(i)).Label("slice", "refunds");
            var skip = random.NextDouble() < 0.5;
            var failed = false;
            if (!skip)
            {
                builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}");
                failed = random.NextDouble() < 0.05;
            }
            else
            {
                builder.Tool("refund_order", $$"""{"order":{{i}}}""", $"Error: order {i} must be looked up before it can be refunded");
                if (random.NextDouble() < 0.4)
                {
                    builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}");
                }
                else
                {
                    failed = true;
                }
            }

            return (failed ? builder.Failed() : builder.Succeeded()).Build();
        }).ToList();
    }

    private static async Task ImportAsync(ILoreStore store, IEnumerable<Episode> episodes)
    {
        await using var import = await store.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        await import.CommitAsync(Ct);
    }

    private static string Json<T>(T value) => JsonSerializer.Serialize(value, LoreJson.Options);

    [Fact]
    public async Task A_first_run_learns_from_the_window_creates_an_active_snapshot_and_records_why()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 200, seed: 1));
        var pipeline = new LearningPipeline(store, new LearningOptions(), _clock);
        var progress = new List<string>();

        var run = await pipeline.RunAsync(Tenants.Default, "test", new SynchronousProgress(progress), Ct);

        Assert.Equal((200, 200), (run.EpisodesRead, run.NewEpisodes));
        Assert.Equal(["ToolErrorExtractor", "ContrastExtractor"], run.Extractors.Select(e => e.Name));
        Assert.All(run.Extractors, e => Assert.True(e.Candidates > 0, $"{e.Name} proposed nothing"));
        Assert.NotNull(run.SnapshotId);
        Assert.Null(run.ParentSnapshotId);
        Assert.Equal(run.SnapshotId, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(200, await store.GetCursorAsync(LearningPipeline.CursorName(Tenants.Default), Ct));

        var snapshot = await store.GetSnapshotAsync(run.SnapshotId, Ct);
        Assert.NotNull(snapshot);
        Assert.True(snapshot.IsIntact);
        Assert.Equal("test", snapshot.CreatedBy);
        Assert.Contains(run.Id, snapshot.Reason);
        Assert.Equal(run.AddedLessonIds.Order(StringComparer.Ordinal), snapshot.Lessons.Select(l => l.Id));

        // The planted rule is learned: look the order up before refunding.
        var rule = Assert.Single(snapshot.Lessons, l => l.Text.StartsWith("Call lookup_order before calling refund_order", StringComparison.Ordinal));
        Assert.Equal(LessonKind.Guideline, rule.Kind);
        Assert.True(rule.Evidence.EpisodeCount > 50 && rule.Evidence.DistinctSources == 17);
        Assert.Equal(Json(rule), Json(await store.GetLessonAsync(rule.Id, Ct)));

        var stored = Assert.Single(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct));
        Assert.Equal(Json(run), Json(stored));
        Assert.Contains(progress, p => p.StartsWith("Extracting with ContrastExtractor", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Running_again_with_nothing_new_changes_no_lesson_and_makes_no_snapshot()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 200, seed: 1));
        var pipeline = new LearningPipeline(store, new LearningOptions(), _clock);
        var first = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        var lessonsBefore = Json(await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct));
        _clock.Advance(TimeSpan.FromHours(1));

        var second = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        Assert.Equal((200, 0), (second.EpisodesRead, second.NewEpisodes));
        Assert.Null(second.SnapshotId);
        Assert.Equal(first.SnapshotId, second.ParentSnapshotId);
        Assert.Empty(second.AddedLessonIds);
        Assert.Empty(second.UpdatedLessonIds);
        Assert.Empty(second.Retirements);
        Assert.Equal(lessonsBefore, Json(await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct)));
        Assert.Single(await store.ListSnapshotsAsync(Tenants.Default, Ct));
        Assert.Equal(2, (await store.ListLearningRunsAsync(Tenants.Default, 10, Ct)).Count);
    }

    [Fact]
    public async Task New_episodes_grow_the_evidence_and_a_changed_served_set_makes_a_child_snapshot_leaving_the_parent_intact()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 200, seed: 1));
        var pipeline = new LearningPipeline(store, new LearningOptions(), _clock);
        var first = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        var parent = await store.GetSnapshotAsync(first.SnapshotId!, Ct);
        var parentJson = Json(parent);
        var rule = parent!.Lessons.Single(l => l.Text.StartsWith("Call lookup_order before calling refund_order", StringComparison.Ordinal));

        // New episodes of the same workplace, plus a new pattern: pay_invoice fails on a closed invoice and is never recovered.
        var more = Refunds(200, 100, seed: 2);
        var payments = Enumerable.Range(0, 12).Select(i => new EpisodeBuilder($"pay-{i}").Unit($"payer-{i % 4}")
            .Tool("pay_invoice", $$"""{"invoice":"INV-{{i}}"}""", $"Error: invoice INV-{i} is closed")
            .Tool("pay_invoice", $$"""{"invoice":"INV-{{i}}"}""", $"Error: invoice INV-{i} is closed")
            .Failed().Build());
        await ImportAsync(store, more.Concat(payments));
        _clock.Advance(TimeSpan.FromDays(1));

        var second = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        Assert.Equal(112, second.NewEpisodes);
        Assert.NotNull(second.SnapshotId);
        Assert.Equal(first.SnapshotId, second.ParentSnapshotId);
        var child = await store.GetSnapshotAsync(second.SnapshotId, Ct);
        Assert.Equal(first.SnapshotId, child!.ParentId);
        Assert.True(child.IsIntact);
        Assert.Equal(second.SnapshotId, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(parentJson, Json(await store.GetSnapshotAsync(first.SnapshotId!, Ct)));

        var warning = Assert.Single(child.Lessons, l => l.Scope.Tools.SequenceEqual(["pay_invoice"]));
        Assert.Equal(LessonKind.AntiPattern, warning.Kind);
        Assert.Contains(warning.Id, second.AddedLessonIds);

        // The rule kept its id and gained exactly the supporting episodes among the new ones.
        var grown = child.Lessons.Single(l => l.Id == rule.Id);
        var newSupport = more.Count(e => e.Steps.First(s => s.Kind == StepKind.ToolCall).ToolName == "refund_order");
        Assert.Equal(rule.Evidence.EpisodeCount + newSupport, grown.Evidence.EpisodeCount);
        Assert.Contains(rule.Id, second.UpdatedLessonIds);
        Assert.Equal(312, await store.GetCursorAsync(LearningPipeline.CursorName(Tenants.Default), Ct));
    }

    [Fact]
    public async Task The_batch_marks_as_new_only_episodes_stored_after_the_cursor()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 30, seed: 1));
        var spy = new SpyExtractor();
        var options = new LearningOptions { Window = 25 };
        options.Extractors.Add(spy);
        var pipeline = new LearningPipeline(store, options, _clock);

        await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        await ImportAsync(store, Refunds(30, 5, seed: 3));
        await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        Assert.Equal(2, spy.Batches.Count);
        Assert.Equal(Enumerable.Range(5, 25).Select(i => $"ep-{i:D5}"), spy.Batches[0].Episodes.Select(e => e.Id));
        Assert.Equal(25, spy.Batches[0].NewEpisodeIds.Count);
        Assert.Equal(Enumerable.Range(10, 25).Select(i => $"ep-{i:D5}"), spy.Batches[1].Episodes.Select(e => e.Id));
        Assert.Equal(Enumerable.Range(30, 5).Select(i => $"ep-{i:D5}").ToHashSet(), spy.Batches[1].NewEpisodeIds);
    }

    [Fact]
    public async Task A_failing_or_misbehaving_extractor_is_reported_and_the_others_still_count()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 200, seed: 1));
        var options = new LearningOptions();
        options.Extractors.Add(new ThrowingExtractor());
        options.Extractors.Add(new OtherTenantExtractor());
        options.Extractors.Add(new ContrastExtractor());

        var run = await new LearningPipeline(store, options, _clock).RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        var thrown = run.Extractors[0];
        Assert.Equal((0, 1), (thrown.Candidates, thrown.Rejected));
        Assert.Equal("the extractor failed: InvalidOperationException: the model endpoint is down", Assert.Single(thrown.RejectionSamples));
        Assert.Equal((0, 1), (run.Extractors[1].Candidates, run.Extractors[1].Rejected));
        Assert.Contains("scoped to tenant 'acme'", Assert.Single(run.Extractors[1].RejectionSamples));
        Assert.NotEmpty(run.AddedLessonIds);
    }

    [Fact]
    public async Task Without_activation_the_snapshot_is_stored_but_not_served_and_the_next_run_builds_on_it()
    {
        await using var store = OpenStore();
        await ImportAsync(store, Refunds(0, 200, seed: 1));
        var pipeline = new LearningPipeline(store, new LearningOptions { ActivateNewSnapshot = false }, _clock);

        var run = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);
        var again = await pipeline.RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        Assert.NotNull(run.SnapshotId);
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(run.SnapshotId, again.ParentSnapshotId);
        Assert.Null(again.SnapshotId);
    }

    [Fact]
    public async Task On_the_tau_bench_sample_whose_recoveries_come_from_one_task_nothing_is_served()
    {
        var sample = SharedData.TauBenchOrSkip();
        await using var store = OpenStore();
        await TrajectoryImporter.ImportFileAsync(sample, store, cancellationToken: Ct);

        var run = await new LearningPipeline(store, new LearningOptions(), _clock).RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        // Every recovery in the sample is one task's four trials: no consensus across tasks, so no recovery guide, and
        // no step pattern survives within kinds of task.
        Assert.Equal((40, 40), (run.EpisodesRead, run.NewEpisodes));
        Assert.Equal(0, run.Extractors.Single(e => e.Name == "ContrastExtractor").Candidates);
        Assert.Null(run.SnapshotId);
        Assert.Empty(run.AddedLessonIds);
        Assert.Equal(40, await store.GetCursorAsync(LearningPipeline.CursorName(Tenants.Default), Ct));
    }

    [Fact]
    public async Task On_the_airline_dev_set_the_default_thresholds_serve_only_recoveries_that_several_tasks_agree_on()
    {
        var dev = SharedData.RequireOrSkip("tau-bench-airline-gpt-4o-dev.json");
        await using var store = OpenStore();
        var options = new ImportOptions();
        options.Labels["slice"] = "airline";
        await TrajectoryImporter.ImportFileAsync(dev, store, options, cancellationToken: Ct);

        var run = await new LearningPipeline(store, new LearningOptions(), _clock).RunAsync(Tenants.Default, "test", cancellationToken: Ct);

        var snapshot = await store.GetSnapshotAsync(run.SnapshotId!, Ct);
        Assert.True(snapshot!.Lessons.Count >= 3, $"{snapshot.Lessons.Count} lessons");
        Assert.All(snapshot.Lessons, l =>
        {
            Assert.Contains(l.Kind, new[] { LessonKind.ToolGuide, LessonKind.AntiPattern });
            Assert.Equal("airline", l.Scope.EvidenceLabels["slice"]);
            Assert.True(l.Evidence.DistinctTasks >= 2);
            Assert.True(l.Kind != LessonKind.ToolGuide || l.Evidence.ExemplarTasks >= 2);
            Assert.DoesNotContain("think", l.Text, StringComparison.Ordinal);
        });
        Assert.Contains(snapshot.Lessons, l => l.Text.StartsWith("When book_reservation fails with \"payment amount does not add up", StringComparison.Ordinal) && l.Text.Contains("call calculate first", StringComparison.Ordinal));
        Assert.Contains(snapshot.Lessons, l => l.Text.StartsWith("When update_reservation_flights fails with \"certificate cannot be used to update reservation\": change the payment_id argument", StringComparison.Ordinal));

        // "gift card balance is not enough" recovered in two tasks that changed different arguments: no consensus.
        Assert.DoesNotContain(snapshot.Lessons, l => l.Text.Contains("gift card balance", StringComparison.Ordinal));
    }

    private sealed class SynchronousProgress(List<string> reports) : IProgress<string>
    {
        public void Report(string value) => reports.Add(value);
    }

    private sealed class SpyExtractor : ILessonExtractor
    {
        public List<ExtractionBatch> Batches { get; } = [];

        public ExtractorInfo Info { get; } = new("spy", "1");

        public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
        {
            Batches.Add(batch);
            return Task.FromResult(ExtractionResult.Empty);
        }
    }

    private sealed class ThrowingExtractor : ILessonExtractor
    {
        public ExtractorInfo Info { get; } = new("throwing", "1");

        public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
            => throw new InvalidOperationException("the model endpoint is down");
    }

    private sealed class OtherTenantExtractor : ILessonExtractor
    {
        public ExtractorInfo Info { get; } = new("other-tenant", "1");

        public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
            => Task.FromResult(new ExtractionResult(
            [
                new LessonCandidate
                {
                    Key = "x",
                    Kind = LessonKind.Guideline,
                    Text = "Leak another tenant's advice.",
                    Scope = new LessonScope { Tenant = "acme" },
                    Confidence = 0.9,
                    Extractor = Info,
                },
            ]));
    }
}
