using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Reading episodes back: exact round trips, sequences, and every EpisodeQuery field.
public abstract partial class LoreStoreContract
{
    private static Episode Sample(string id, string tenant = Tenants.Default, int minute = 0) =>
        new EpisodeBuilder(id)
            .Tenant(tenant)
            .Unit("user-7")
            .Task($"refund order {id}")
            .Label("slice", "refunds")
            .StartedAt(T0.AddMinutes(minute))
            .ModelCall("please refund", "looking it up")
            .Tool("find_order", """{"order_id":"1142"}""", """{"status":"delivered"}""")
            .Tool("refund", """{"order_id":"1142"}""", "Error: order not found", failed: null)
            .Succeeded()
            .Build() with
        { SnapshotId = "snap-0123456789abcdef", InjectedLessonIds = ["les-1", "les-2"], Arm = "treatment" };

    [Fact]
    public async Task An_imported_episode_reads_back_exactly_with_its_steps_and_outcomes()
    {
        var store = await NewStoreAsync();
        var episode = Sample("ep-1") with
        {
            Outcomes = [Outcome.Success(at: T0), Outcome.Scored(0.25, OutcomeSource.User, "ana", "too slow", T0.AddHours(1))],
        };

        await ImportAsync(store, episode);

        AssertSameEpisode(episode, await store.GetEpisodeAsync("ep-1", Ct));
        AssertSameEpisode(episode, Assert.Single(await ReadAllAsync(store, new EpisodeQuery())));
    }

    [Fact]
    public async Task An_unknown_episode_id_reads_as_null()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("ep-1"));

        Assert.Null(await store.GetEpisodeAsync("ep-404", Ct));
    }

    [Fact]
    public async Task Episodes_get_increasing_sequences_and_read_back_in_arrival_order()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("c"), Sample("a"));
        await store.AppendAsync(CaptureRecordsOf(Sample("b")), Ct);

        var read = await ReadAllAsync(store, new EpisodeQuery());

        Assert.Equal(["c", "a", "b"], read.Select(e => e.Id));
        Assert.True(read[0].Sequence > 0);
        Assert.True(read[0].Sequence < read[1].Sequence && read[1].Sequence < read[2].Sequence);
        Assert.Equal(read[2].Sequence, (await store.GetEpisodeAsync("b", Ct))!.Sequence);
    }

    [Fact]
    public async Task AfterSequence_reads_only_episodes_stored_later()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"), Sample("b"), Sample("c"));
        var b = (await store.GetEpisodeAsync("b", Ct))!;

        var later = await ReadAllAsync(store, new EpisodeQuery { AfterSequence = b.Sequence });

        Assert.Equal(["c"], later.Select(e => e.Id));
    }

    [Fact]
    public async Task EndedOnly_skips_episodes_still_running()
    {
        var store = await NewStoreAsync();
        var running = Sample("running") with { EndedAt = null };
        await ImportAsync(store, Sample("a"), running, Sample("b"));

        var ended = await ReadAllAsync(store, new EpisodeQuery { EndedOnly = true });
        var all = await ReadAllAsync(store, new EpisodeQuery());

        Assert.Equal(["a", "b"], ended.Select(e => e.Id));
        Assert.Equal(["a", "running", "b"], all.Select(e => e.Id));
    }

    [Fact]
    public async Task Limit_takes_the_oldest_episodes()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"), Sample("b"), Sample("c"), Sample("d"));

        Assert.Equal(["a", "b"], (await ReadAllAsync(store, new EpisodeQuery { Limit = 2 })).Select(e => e.Id));
        Assert.Empty(await ReadAllAsync(store, new EpisodeQuery { Limit = 0 }));
    }

    [Fact]
    public async Task NewestFirst_takes_the_newest_episodes_but_returns_them_oldest_first()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"), Sample("b"), Sample("c"), Sample("d"));

        var newest = await ReadAllAsync(store, new EpisodeQuery { NewestFirst = true, Limit = 3 });
        var more = await ReadAllAsync(store, new EpisodeQuery { NewestFirst = true, Limit = 10 });

        Assert.Equal(["b", "c", "d"], newest.Select(e => e.Id));
        Assert.Equal(["a", "b", "c", "d"], more.Select(e => e.Id));
    }

    [Fact]
    public async Task NewestFirst_honours_AfterSequence_and_EndedOnly_together()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"), Sample("b"), Sample("c"), Sample("d") with { EndedAt = null }, Sample("e"), Sample("f") with { EndedAt = null });
        var a = (await store.GetEpisodeAsync("a", Ct))!;

        var read = await ReadAllAsync(store, new EpisodeQuery { AfterSequence = a.Sequence, EndedOnly = true, NewestFirst = true, Limit = 2 });
        var wide = await ReadAllAsync(store, new EpisodeQuery { AfterSequence = a.Sequence, EndedOnly = true, NewestFirst = true, Limit = 9 });

        Assert.Equal(["c", "e"], read.Select(e => e.Id));
        Assert.Equal(["b", "c", "e"], wide.Select(e => e.Id));
    }

    [Fact]
    public async Task WithoutSteps_reads_headers_and_outcomes_but_no_steps()
    {
        var store = await NewStoreAsync();
        var episode = Sample("a");
        await ImportAsync(store, episode);

        var read = Assert.Single(await ReadAllAsync(store, new EpisodeQuery { WithoutSteps = true }));

        Assert.Empty(read.Steps);
        Assert.Equal(Canonical(episode with { Steps = [] }), Canonical(read));
    }

    [Fact]
    public async Task Reading_many_episodes_gives_each_its_own_steps_and_outcomes()
    {
        var store = await NewStoreAsync();
        var episodes = Enumerable.Range(0, 700).Select(i =>
        {
            var builder = new EpisodeBuilder($"ep-{i:D4}").Task($"task {i}").StartedAt(T0.AddSeconds(i));
            for (var s = 0; s < i % 5; s++)
            {
                builder.Tool($"tool_{i}_{s}", result: $"result {i}.{s}");
            }

            return (i % 3 == 0 ? builder.Failed() : builder.Succeeded()).Build();
        }).ToArray();
        await ImportAsync(store, episodes);
        await ImportAsync(store, Sample("other-tenant", tenant: "acme"));

        var read = await ReadAllAsync(store, new EpisodeQuery());
        var window = await ReadAllAsync(store, new EpisodeQuery { AfterSequence = read[299].Sequence, Limit = 301 });

        Assert.Equal(episodes.Length, read.Count);
        for (var i = 0; i < episodes.Length; i++)
        {
            Assert.Equal(Canonical(episodes[i]), Canonical(read[i]));
        }

        Assert.Equal(episodes.Skip(300).Take(301).Select(e => e.Id), window.Select(e => e.Id));
        Assert.Equal(Canonical(episodes[600]), Canonical(window[^1]));
    }

    [Fact]
    public async Task Counting_counts_the_tenants_episodes()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"), Sample("b"), Sample("x", tenant: "acme"));

        Assert.Equal(2, await store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(1, await store.CountEpisodesAsync("acme", Ct));
        Assert.Equal(0, await store.CountEpisodesAsync("nobody", Ct));
    }

    [Fact]
    public async Task AddOutcome_appends_judgements_in_the_order_they_arrive()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sample("a"));
        var late = Outcome.Failure(OutcomeSource.User, actor: "bo", comment: "wrong refund", at: T0.AddDays(1));
        var eval = Outcome.Scored(0.75, OutcomeSource.Evaluator, at: T0.AddDays(2));

        await store.AddOutcomeAsync("a", late, Ct);
        await store.AddOutcomeAsync("a", eval, Ct);

        var read = (await store.GetEpisodeAsync("a", Ct))!;
        Assert.Equal(Canonical(Sample("a").Outcomes.Concat([late, eval]).ToArray()), Canonical(read.Outcomes));
    }

    [Fact]
    public async Task AddOutcome_for_an_unknown_episode_throws_naming_it()
    {
        var store = await NewStoreAsync();

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AddOutcomeAsync("ep-ghost", Outcome.Success(), Ct));

        Assert.Contains("ep-ghost", error.Message);
    }
}
