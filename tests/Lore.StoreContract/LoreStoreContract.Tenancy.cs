using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Tenancy: nothing of one tenant is ever returned for another.
public abstract partial class LoreStoreContract
{
    [Fact]
    public async Task Nothing_of_one_tenant_is_returned_for_another()
    {
        var store = await NewStoreAsync();
        var ours = new EpisodeBuilder("ours").Tool("search").Succeeded().Build();
        var theirs = new EpisodeBuilder("theirs").Tenant("acme").Tool("search").Failed().Build();
        await ImportAsync(store, ours, theirs);
        await store.AppendAsync(CaptureRecordsOf(new EpisodeBuilder("theirs-live").Tenant("acme").Tool("pay").Build()), Ct);
        await store.SaveLessonsAsync([NewLesson("les-ours"), NewLesson("les-theirs", tenant: "acme")], Ct);
        var ourSnapshot = NewSnapshot(parentId: null);
        var theirSnapshot = NewSnapshot(parentId: null, tenant: "acme");
        await store.SaveSnapshotAsync(ourSnapshot, Ct);
        await store.SaveSnapshotAsync(theirSnapshot, Ct);
        await store.SetActiveSnapshotAsync("acme", theirSnapshot.Id, Ct);
        await store.SaveLearningRunAsync(NewRun("run-ours"), Ct);
        await store.SaveLearningRunAsync(NewRun("run-theirs", tenant: "acme"), Ct);

        var episodes = await ReadAllAsync(store, new EpisodeQuery());
        var newest = await ReadAllAsync(store, new EpisodeQuery { NewestFirst = true, Limit = 5, EndedOnly = true });
        Assert.Equal(["ours"], episodes.Select(e => e.Id));
        Assert.Equal(["ours"], newest.Select(e => e.Id));
        Assert.Equal(Canonical(ours), Canonical(episodes[0]));
        Assert.Equal(1, await store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(["les-ours"], (await store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct)).Select(l => l.Id));
        Assert.Equal([ourSnapshot.Id], (await store.ListSnapshotsAsync(Tenants.Default, Ct)).Select(s => s.Id));
        Assert.False(Assert.Single(await store.ListSnapshotsAsync(Tenants.Default, Ct)).IsActive);
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(["run-ours"], (await store.ListLearningRunsAsync(Tenants.Default, 10, Ct)).Select(r => r.Id));

        Assert.Equal(["theirs", "theirs-live"], (await ReadAllAsync(store, new EpisodeQuery { Tenant = "acme" })).Select(e => e.Id));
        Assert.Equal(["les-theirs"], (await store.ListLessonsAsync(new LessonQuery { Tenant = "acme" }, Ct)).Select(l => l.Id));
        Assert.Equal(theirSnapshot.Id, await store.GetActiveSnapshotIdAsync("acme", Ct));
    }
}
