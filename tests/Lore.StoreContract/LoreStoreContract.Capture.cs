using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Capture: AppendAsync applies batches of records in order, all or nothing.
public abstract partial class LoreStoreContract
{
    private static Episode Header(string id, string tenant = Tenants.Default) => new()
    {
        Id = id,
        Tenant = tenant,
        UnitKey = "session-1",
        Task = "book a flight to Lisbon",
        StartedAt = T0,
        SnapshotId = "snap-00000000000000aa",
        Origin = "capture",
    };

    private static Step ToolStep(int index, string name, string result = "ok") =>
        Step.Tool(index, name, """{"q":1}""", result, callId: $"call_{index}", at: T0.AddSeconds(index));

    [Fact]
    public async Task Appended_records_build_the_episode_across_batches_in_order()
    {
        var store = await NewStoreAsync();
        var outcome = Outcome.Success(at: T0.AddMinutes(5));

        await store.AppendAsync([new EpisodeStarted(Header("ep-1")), new StepRecorded("ep-1", ToolStep(0, "search"))], Ct);
        await store.AppendAsync([new StepRecorded("ep-1", ToolStep(1, "book", "Error: seat taken")), new StepRecorded("ep-1", ToolStep(2, "book"))], Ct);
        await store.AppendAsync([new OutcomeRecorded("ep-1", outcome), new EpisodeEnded("ep-1", T0.AddMinutes(4), ["les-9", "les-3"])], Ct);

        var expected = Header("ep-1") with
        {
            Steps = [ToolStep(0, "search"), ToolStep(1, "book", "Error: seat taken"), ToolStep(2, "book")],
            Outcomes = [outcome],
            EndedAt = T0.AddMinutes(4),
            InjectedLessonIds = ["les-9", "les-3"],
        };
        AssertSameEpisode(expected, await store.GetEpisodeAsync("ep-1", Ct));
        Assert.True((await store.GetEpisodeAsync("ep-1", Ct))!.Steps[1].ToolFailed);
    }

    [Fact]
    public async Task An_episode_that_has_not_ended_reads_without_an_end()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync([new EpisodeStarted(Header("ep-1")), new StepRecorded("ep-1", ToolStep(0, "search"))], Ct);

        var read = (await store.GetEpisodeAsync("ep-1", Ct))!;

        Assert.Null(read.EndedAt);
        Assert.Single(read.Steps);
    }

    [Fact]
    public async Task A_record_for_an_unknown_episode_fails_the_whole_batch_naming_the_id()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync([new EpisodeStarted(Header("known"))], Ct);

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AppendAsync(
        [
            new EpisodeStarted(Header("fresh")),
            new StepRecorded("known", ToolStep(0, "search")),
            new StepRecorded("ep-ghost", ToolStep(0, "search")),
            new StepRecorded("fresh", ToolStep(0, "search")),
        ], Ct));

        Assert.Contains("ep-ghost", error.Message);
        Assert.Null(await store.GetEpisodeAsync("fresh", Ct));
        Assert.Empty((await store.GetEpisodeAsync("known", Ct))!.Steps);
        Assert.Equal(1, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Outcomes_and_ends_for_unknown_episodes_also_fail_the_batch()
    {
        var store = await NewStoreAsync();

        var outcome = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AppendAsync([new OutcomeRecorded("ep-ghost", Outcome.Success())], Ct));
        var end = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AppendAsync([new EpisodeStarted(Header("a")), new EpisodeEnded("ep-phantom", T0, [])], Ct));

        Assert.Contains("ep-ghost", outcome.Message);
        Assert.Contains("ep-phantom", end.Message);
        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Starting_an_episode_id_that_exists_fails_the_batch_and_writes_nothing()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync([new EpisodeStarted(Header("ep-1"))], Ct);

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync(
        [
            new StepRecorded("ep-1", ToolStep(0, "search")),
            new EpisodeStarted(Header("ep-1") with { Task = "a different task" }),
        ], Ct));

        Assert.Contains("ep-1", error.Message);
        var stored = (await store.GetEpisodeAsync("ep-1", Ct))!;
        Assert.Equal("book a flight to Lisbon", stored.Task);
        Assert.Empty(stored.Steps);
    }

    [Fact]
    public async Task Starting_the_same_id_twice_in_one_batch_fails_it()
    {
        var store = await NewStoreAsync();

        var error = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync([new EpisodeStarted(Header("twin")), new EpisodeStarted(Header("twin"))], Ct));

        Assert.Contains("twin", error.Message);
        Assert.Null(await store.GetEpisodeAsync("twin", Ct));
    }

    [Fact]
    public async Task An_empty_batch_changes_nothing()
    {
        var store = await NewStoreAsync();

        await store.AppendAsync([], Ct);

        Assert.Equal(0, await store.CountEpisodesAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Concurrent_appends_from_many_tasks_lose_nothing()
    {
        var store = await NewStoreAsync();
        const int writers = 6, episodesPerWriter = 20, stepsPerEpisode = 9;
        using var writersDone = new CancellationTokenSource();

        async Task WriteAsync(int writer)
        {
            for (var e = 0; e < episodesPerWriter; e++)
            {
                var id = $"w{writer}-e{e}";
                await store.AppendAsync([new EpisodeStarted(Header(id) with { UnitKey = $"writer-{writer}" })], Ct);
                for (var s = 0; s < stepsPerEpisode; s += 3)
                {
                    await store.AppendAsync([.. Enumerable.Range(s, 3).Select(i => new StepRecorded(id, ToolStep(i, $"tool-{writer}-{i}")))], Ct);
                }

                await store.AppendAsync([new OutcomeRecorded(id, Outcome.Scored(writer / 10.0, at: T0)), new EpisodeEnded(id, T0.AddMinutes(e), [$"les-{writer}"])], Ct);
            }
        }

        async Task<int> ReadWhileWritingAsync()
        {
            var reads = 0;
            do
            {
                foreach (var episode in await ReadAllAsync(store, new EpisodeQuery { EndedOnly = true }))
                {
                    Assert.Equal(stepsPerEpisode, episode.Steps.Count);
                }

                reads++;
            }
            while (!writersDone.IsCancellationRequested);

            return reads;
        }

        var reader = Task.Run(ReadWhileWritingAsync, Ct);
        try
        {
            await Task.WhenAll(Enumerable.Range(0, writers).Select(w => Task.Run(() => WriteAsync(w), Ct)));
        }
        finally
        {
            await writersDone.CancelAsync();
        }

        Assert.True(await reader > 0);

        var all = await ReadAllAsync(store, new EpisodeQuery());
        Assert.Equal(writers * episodesPerWriter, all.Count);
        Assert.Equal(all.Count, all.Select(e => e.Sequence).Distinct().Count());
        foreach (var episode in all)
        {
            var writer = int.Parse(episode.UnitKey["writer-".Length..], System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(Enumerable.Range(0, stepsPerEpisode).Select(i => $"tool-{writer}-{i}"), episode.Steps.Select(s => s.ToolName));
            Assert.Equal(Enumerable.Range(0, stepsPerEpisode), episode.Steps.Select(s => s.Index));
            Assert.Equal(writer / 10.0, Assert.Single(episode.Outcomes).Score);
            Assert.Equal([$"les-{writer}"], episode.InjectedLessonIds);
        }

        foreach (var writer in Enumerable.Range(0, writers))
        {
            var own = all.Where(e => e.UnitKey == $"writer-{writer}").Select(e => e.Id).ToArray();
            Assert.Equal(Enumerable.Range(0, episodesPerWriter).Select(e => $"w{writer}-e{e}"), own);
        }
    }
}
