using Xunit;

namespace Lore.StoreContract;

// An outcome ends its episode wherever the episode is open: another host or process still capturing it learns so
// when its next steps are refused, naming the episode; nothing it recorded before the outcome is lost.
public abstract partial class LoreStoreContract
{
    /// <summary>A second instance on the same data beside <paramref name="store"/>, as another host or process opens it; disposed after the test.</summary>
    protected async Task<ILoreStore> OpenAnotherTrackedAsync(ILoreStore store)
    {
        var another = await OpenAnotherAsync(store);
        _stores.Add(another);
        return another;
    }

    /// <summary>A second, independent instance on the same data (its own connections), as another host or process would open it.</summary>
    protected abstract Task<ILoreStore> OpenAnotherAsync(ILoreStore store);

    [Fact]
    public async Task An_outcome_from_another_host_ends_the_episode_open_there_and_its_later_steps_are_refused_naming_it()
    {
        var capturing = await NewStoreAsync();
        var judging = await OpenAnotherTrackedAsync(capturing);
        await capturing.AppendAsync([new EpisodeStarted(Header("ep-1")), new StepRecorded("ep-1", ToolStep(0, "search")) { Tenant = Tenants.Default }], Ct);

        var outcome = Outcome.Success(at: T0.AddMinutes(3));
        await judging.AppendAsync([new OutcomeRecorded("ep-1", outcome) { Tenant = Tenants.Default, EndsEpisode = true }], Ct);

        var ended = (await capturing.GetEpisodeAsync(Tenants.Default, "ep-1", Ct))!;
        Assert.Equal(T0.AddMinutes(3), ended.EndedAt);
        Assert.Equal(EpisodeEndReasons.Outcome, ended.EndReason);
        Assert.Equal([outcome.Score], ended.Outcomes.Select(o => o.Score));
        Assert.Single(ended.Steps);

        var refusal = await Assert.ThrowsAsync<StoreConflictException>(() => capturing.AppendAsync(
            [new StepRecorded("ep-1", ToolStep(1, "book")) { Tenant = Tenants.Default }, new StepRecorded("ep-1", ToolStep(2, "pay")) { Tenant = Tenants.Default }], Ct));
        Assert.Contains("'ep-1'", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("ended", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("outcome", refusal.Message, StringComparison.Ordinal);
        Assert.Contains("not written", refusal.Message, StringComparison.Ordinal);
        Assert.Single((await judging.GetEpisodeAsync(Tenants.Default, "ep-1", Ct))!.Steps);
    }

    [Fact]
    public async Task AddOutcome_ends_an_open_episode_and_leaves_an_ended_one_as_it_ended()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(
        [
            new EpisodeStarted(Header("ep-open")), new StepRecorded("ep-open", ToolStep(0, "search")),
            new EpisodeStarted(Header("ep-done")), new EpisodeEnded("ep-done", T0.AddMinutes(1), ["les-1"]),
        ], Ct);
        var other = await OpenAnotherTrackedAsync(store);

        await other.AddOutcomeAsync("ep-open", Outcome.Failure(at: T0.AddMinutes(7)), Ct);
        await other.AddOutcomeAsync("ep-done", Outcome.Success(at: T0.AddMinutes(9)), Ct);

        var open = (await store.GetEpisodeAsync(Tenants.Default, "ep-open", Ct))!;
        Assert.Equal((T0.AddMinutes(7), EpisodeEndReasons.Outcome), (open.EndedAt, open.EndReason));
        var done = (await store.GetEpisodeAsync(Tenants.Default, "ep-done", Ct))!;
        Assert.Equal((T0.AddMinutes(1), (string?)null), (done.EndedAt, done.EndReason));
        Assert.Equal(["les-1"], done.InjectedLessonIds);
        Assert.Single(done.Outcomes);

        // Ended episodes are what learning reads: both are there, each once.
        var learnable = await ReadAllAsync(store, new EpisodeQuery { Tenant = Tenants.Default, EndedOnly = true });
        Assert.Equal(["ep-done", "ep-open"], learnable.Select(e => e.Id).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task The_capturing_hosts_own_end_after_an_outcome_ended_the_episode_keeps_that_end_and_adds_the_injected_lessons()
    {
        var capturing = await NewStoreAsync();
        var judging = await OpenAnotherTrackedAsync(capturing);
        await capturing.AppendAsync([new EpisodeStarted(Header("ep-1"))], Ct);
        await judging.AppendAsync([new OutcomeRecorded("ep-1", Outcome.Success(at: T0.AddMinutes(2))) { EndsEpisode = true }], Ct);

        await capturing.AppendAsync([new EpisodeEnded("ep-1", T0.AddMinutes(5), ["les-7"])], Ct);

        var episode = (await judging.GetEpisodeAsync(Tenants.Default, "ep-1", Ct))!;
        Assert.Equal((T0.AddMinutes(2), EpisodeEndReasons.Outcome), (episode.EndedAt, episode.EndReason));
        Assert.Equal(["les-7"], episode.InjectedLessonIds);
    }

    [Fact]
    public async Task An_outcome_the_capture_adds_while_its_episode_runs_does_not_end_it_and_other_ended_episodes_still_take_steps()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(
        [
            new EpisodeStarted(Header("ep-running")), new OutcomeRecorded("ep-running", Outcome.Scored(0.4, at: T0)), new StepRecorded("ep-running", ToolStep(0, "search")),
            new EpisodeStarted(Header("ep-ended")), new EpisodeEnded("ep-ended", T0.AddMinutes(1), []),
        ], Ct);

        // A late span of an ended trace (OTLP) is still recorded; only an episode an outcome ended refuses steps.
        await store.AppendAsync([new StepRecorded("ep-ended", ToolStep(0, "late-span"))], Ct);

        var running = (await store.GetEpisodeAsync(Tenants.Default, "ep-running", Ct))!;
        Assert.Null(running.EndedAt);
        Assert.Single(running.Steps);
        Assert.Single((await store.GetEpisodeAsync(Tenants.Default, "ep-ended", Ct))!.Steps);
    }

    [Fact]
    public async Task A_batch_whose_outcome_ends_an_episode_refuses_that_episodes_later_steps_in_the_same_batch_and_writes_nothing()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync([new EpisodeStarted(Header("ep-1"))], Ct);

        await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync(
        [
            new OutcomeRecorded("ep-1", Outcome.Success(at: T0.AddMinutes(1))) { EndsEpisode = true },
            new StepRecorded("ep-1", ToolStep(0, "search")),
        ], Ct));

        var episode = (await store.GetEpisodeAsync(Tenants.Default, "ep-1", Ct))!;
        Assert.Null(episode.EndedAt);
        Assert.Empty(episode.Outcomes);
        Assert.Empty(episode.Steps);
    }
}
