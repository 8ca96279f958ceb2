using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Durability: what a store acknowledged is there after it is closed and opened again.
public abstract partial class LoreStoreContract
{
    [Fact]
    public async Task Everything_written_is_there_after_the_store_is_reopened()
    {
        var store = await NewStoreAsync();
        var imported = new EpisodeBuilder("imported").Tool("lookup").Tool("refund", result: "Error: too late").Failed().Build();
        var captured = new EpisodeBuilder("captured").ModelCall("hi", "hello").Succeeded().Build() with { InjectedLessonIds = ["les-1"] };
        var lesson = NewLesson("les-1");
        var snapshot = NewSnapshot(parentId: null);
        var run = NewRun("run-1");
        await ImportAsync(store, imported);
        await store.AppendAsync(CaptureRecordsOf(captured), Ct);
        await store.AddOutcomeAsync("imported", Outcome.Scored(0.5, OutcomeSource.Evaluator, at: T0), Ct);
        await store.SaveLessonsAsync([lesson], Ct);
        await store.SaveSnapshotAsync(snapshot, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);
        await store.SaveLearningRunAsync(run, Ct);
        await store.SetCursorAsync("learn:default", 2, Ct);
        var before = await ReadAllAsync(store, new EpisodeQuery());

        var reopened = await ReopenTrackedAsync(store);

        var after = await ReadAllAsync(reopened, new EpisodeQuery());
        Assert.Equal(before.Select(e => (e.Sequence, Canonical(e))), after.Select(e => (e.Sequence, Canonical(e))));
        Assert.Equal(Canonical(imported with { Outcomes = [.. imported.Outcomes, Outcome.Scored(0.5, OutcomeSource.Evaluator, at: T0)] }), Canonical(after[0]));
        Assert.Equal(Canonical(captured), Canonical(after[1]));
        Assert.Equal(Canonical(lesson), Canonical(await reopened.GetLessonAsync("les-1", Ct)));
        Assert.Equal(Canonical(snapshot), Canonical(await reopened.GetSnapshotAsync(snapshot.Id, Ct)));
        Assert.Equal(snapshot.Id, await reopened.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(Canonical(run), Canonical(Assert.Single(await reopened.ListLearningRunsAsync(Tenants.Default, 5, Ct))));
        Assert.Equal(2, await reopened.GetCursorAsync("learn:default", Ct));
    }

    [Fact]
    public async Task Sequences_keep_growing_after_a_reopen()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, new EpisodeBuilder("a").Build(), new EpisodeBuilder("b").Build());
        var last = (await store.GetEpisodeAsync("b", Ct))!.Sequence;

        var reopened = await ReopenTrackedAsync(store);
        await reopened.AppendAsync([new EpisodeStarted(new EpisodeBuilder("c").Build())], Ct);

        Assert.True((await reopened.GetEpisodeAsync("c", Ct))!.Sequence > last);
        Assert.Equal(["c"], (await ReadAllAsync(reopened, new EpisodeQuery { AfterSequence = last })).Select(e => e.Id));
    }
}
