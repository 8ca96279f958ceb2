using Xunit;

namespace Lore.StoreContract;

// Learning runs and cursors.
public abstract partial class LoreStoreContract
{
    protected static LearningRun NewRun(string id, string tenant = Tenants.Default, int minute = 0) => new()
    {
        Id = id,
        Tenant = tenant,
        StartedAt = T0.AddMinutes(minute),
        FinishedAt = T0.AddMinutes(minute).AddSeconds(42),
        EpisodesRead = 120,
        NewEpisodes = 20,
        Extractors = [new ExtractorReport("tool-errors", "1.0.0", 4, 1, ["bad json at line 3"], TimeSpan.FromMilliseconds(12.5))],
        AddedLessonIds = ["les-1"],
        UpdatedLessonIds = ["les-2"],
        Merges = [new LessonMerge("les-1", "les-9", 0.93)],
        Contradictions = [new LessonContradiction("les-1", "les-4", "les-1", "evidence", "more episodes")],
        Retirements = [new LessonRetirement("les-5", "stale")],
        Dropped = ["below support: les-7"],
        ParentSnapshotId = "snap-000000000000000a",
        SnapshotId = "snap-000000000000000b",
    };

    [Fact]
    public async Task Learning_runs_read_back_exactly_most_recent_first_up_to_the_limit()
    {
        var store = await NewStoreAsync();
        var runs = new[] { NewRun("run-2", minute: 10), NewRun("run-1", minute: 0), NewRun("run-3", minute: 20) };
        foreach (var run in runs)
        {
            await store.SaveLearningRunAsync(run, Ct);
        }

        var listed = await store.ListLearningRunsAsync(Tenants.Default, 10, Ct);
        var latest = await store.ListLearningRunsAsync(Tenants.Default, 2, Ct);

        Assert.Equal(["run-3", "run-2", "run-1"], listed.Select(r => r.Id));
        Assert.Equal(Canonical(runs[0]), Canonical(listed[1]));
        Assert.Equal(["run-3", "run-2"], latest.Select(r => r.Id));
        Assert.Empty(await store.ListLearningRunsAsync(Tenants.Default, 0, Ct));
    }

    [Fact]
    public async Task Saving_a_learning_run_again_replaces_it()
    {
        var store = await NewStoreAsync();
        await store.SaveLearningRunAsync(NewRun("run-1"), Ct);
        var finished = NewRun("run-1") with { SnapshotId = null, Dropped = ["nothing new"] };

        await store.SaveLearningRunAsync(finished, Ct);

        Assert.Equal(Canonical(finished), Canonical(Assert.Single(await store.ListLearningRunsAsync(Tenants.Default, 10, Ct))));
    }

    [Fact]
    public async Task A_cursor_reads_zero_until_set_then_its_latest_value()
    {
        var store = await NewStoreAsync();

        Assert.Equal(0, await store.GetCursorAsync("learn:default", Ct));
        await store.SetCursorAsync("learn:default", 41, Ct);
        await store.SetCursorAsync("learn:default", 1_234_567_890_123, Ct);
        await store.SetCursorAsync("learn:acme", 7, Ct);

        Assert.Equal(1_234_567_890_123, await store.GetCursorAsync("learn:default", Ct));
        Assert.Equal(7, await store.GetCursorAsync("learn:acme", Ct));
    }
}
