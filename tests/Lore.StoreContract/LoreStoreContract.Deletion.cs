using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Episode deletion (right to erasure): the episodes go with their steps and outcomes; nothing else is touched.
public abstract partial class LoreStoreContract
{
    private static Episode[] EpisodesForDeletion() =>
    [
        new EpisodeBuilder("ep-1").Tool("find_order").Tool("refund", failed: true).Failed().Build(),
        new EpisodeBuilder("ep-2").StartedAt(T0.AddMinutes(1)).ModelCall("refund order 7", "checking").Tool("find_order").Succeeded().Build(),
        new EpisodeBuilder("ep-3").StartedAt(T0.AddMinutes(2)).Tool("search").Succeeded().Build(),
        new EpisodeBuilder("acme-1").Tenant("acme").Tool("find_order").Succeeded().Build(),
        new EpisodeBuilder("acme-2").Tenant("acme").StartedAt(T0.AddMinutes(3)).Tool("refund").Failed().Build(),
    ];

    [Fact]
    public async Task Deleting_episodes_removes_them_with_their_steps_and_outcomes_and_counts_those_that_existed()
    {
        var store = await NewStoreAsync();
        var episodes = EpisodesForDeletion();
        await ImportAsync(store, episodes);

        var deleted = await store.DeleteEpisodesAsync(["ep-1", "acme-2", "ep-404", "ep-1"], Ct);

        Assert.Equal(2, deleted);
        Assert.Null(await store.GetEpisodeAsync("ep-1", Ct));
        Assert.Null(await store.GetEpisodeAsync("acme-2", Ct));
        Assert.Equal(["ep-2", "ep-3"], (await ReadAllAsync(store, new EpisodeQuery())).Select(e => e.Id));
        Assert.Equal(["acme-1"], (await ReadAllAsync(store, new EpisodeQuery { Tenant = "acme" })).Select(e => e.Id));
        Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(1, await store.CountEpisodesAsync("acme", Ct));
    }

    [Fact]
    public async Task Deleting_some_episodes_leaves_every_other_episode_of_every_tenant_exactly_as_it_was()
    {
        var store = await NewStoreAsync();
        var episodes = EpisodesForDeletion();
        await ImportAsync(store, episodes);

        await store.DeleteEpisodesAsync(["ep-2"], Ct);

        foreach (var kept in episodes.Where(e => e.Id != "ep-2"))
        {
            AssertSameEpisode(kept, await store.GetEpisodeAsync(kept.Id, Ct));
        }

        var listed = await ReadAllAsync(store, new EpisodeQuery { EndedOnly = true });
        Assert.Equal([Canonical(episodes[0]), Canonical(episodes[2])], listed.Select(Canonical));
    }

    [Fact]
    public async Task A_deleted_episode_takes_no_more_records_and_its_sequence_is_never_reused()
    {
        var store = await NewStoreAsync();
        var episodes = EpisodesForDeletion();
        await ImportAsync(store, episodes);
        var deletedSequence = (await store.GetEpisodeAsync("acme-2", Ct))!.Sequence;

        await store.DeleteEpisodesAsync(["acme-2"], Ct);
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AddOutcomeAsync("acme-2", Outcome.Success(at: T0), Ct));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AppendAsync([new OutcomeRecorded("acme-2", Outcome.Success(at: T0))], Ct));
        await ImportAsync(store, new EpisodeBuilder("acme-3").Tenant("acme").Succeeded().Build());

        Assert.True((await store.GetEpisodeAsync("acme-3", Ct))!.Sequence > deletedSequence);
        Assert.Null(await store.GetEpisodeAsync("acme-2", Ct));
    }

    [Fact]
    public async Task Deleting_nothing_or_only_unknown_ids_returns_zero_and_changes_nothing()
    {
        var store = await NewStoreAsync();
        var episodes = EpisodesForDeletion();
        await ImportAsync(store, episodes);

        Assert.Equal(0, await store.DeleteEpisodesAsync([], Ct));
        Assert.Equal(0, await store.DeleteEpisodesAsync(["ep-404", "acme-404"], Ct));

        Assert.Equal(3, await store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(2, await store.CountEpisodesAsync("acme", Ct));
    }

    [Fact]
    public async Task A_deletion_list_with_an_empty_id_is_refused_and_deletes_nothing()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, EpisodesForDeletion());

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.DeleteEpisodesAsync(["ep-1", ""], Ct));

        Assert.NotNull(await store.GetEpisodeAsync("ep-1", Ct));
        Assert.Equal(3, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Deleted_episodes_stay_deleted_after_reopening()
    {
        var store = await NewStoreAsync();
        var episodes = EpisodesForDeletion();
        await ImportAsync(store, episodes);
        await store.DeleteEpisodesAsync(["ep-1", "ep-3"], Ct);

        store = await ReopenTrackedAsync(store);

        Assert.Equal(["ep-2"], (await ReadAllAsync(store, new EpisodeQuery())).Select(e => e.Id));
        AssertSameEpisode(episodes[1], await store.GetEpisodeAsync("ep-2", Ct));
    }

    [Fact]
    public async Task Deleting_episodes_does_not_touch_lessons_snapshots_or_the_audit_log()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, EpisodesForDeletion());
        await store.SaveLessonsAsync([NewLesson("les-1")], Ct);
        var snapshot = NewSnapshot(parentId: null);
        await store.SaveSnapshotAsync(snapshot, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);
        var audit = await store.AppendAuditAsync(NewDraft(1), Ct);

        await store.DeleteEpisodesAsync(["ep-1", "ep-2"], Ct);

        Assert.Equal(Canonical(NewLesson("les-1")), Canonical(await store.GetLessonAsync("les-1", Ct)));
        Assert.Equal(snapshot.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(Canonical(audit), Canonical(Assert.Single(await ReadAuditAsync(store))));
    }
}
