using Xunit;

namespace Lore.StoreContract;

// Crash recovery: open episodes a dead process left behind are ended as abandoned, audited once, and still judged later.
public abstract partial class LoreStoreContract
{
    private static IEpisodeRecovery Recovery(ILoreStore store)
        => store as IEpisodeRecovery ?? throw new InvalidOperationException($"{store.GetType().Name} does not implement IEpisodeRecovery.");

    /// <summary>Open episodes as a crash leaves them: idle for hours, idle with a recent step, and one still running here.</summary>
    private static async Task SeedOpenEpisodesAsync(ILoreStore store)
    {
        await store.AppendAsync(
        [
            new EpisodeStarted(Header("ep-dead")), new StepRecorded("ep-dead", ToolStep(0, "search")),
            new EpisodeStarted(Header("ep-live-elsewhere")), new StepRecorded("ep-live-elsewhere", ToolStep(0, "search") with { At = T0.AddHours(3) }),
            new EpisodeStarted(Header("ep-running-here")),
            new EpisodeStarted(Header("ep-done")), new EpisodeEnded("ep-done", T0.AddMinutes(1), []),
            new EpisodeStarted(Header("ep-other-tenant", "acme")),
        ], Ct);
    }

    private static AbandonedEpisodeSweep SweepAt(DateTimeOffset idleSince, string? tenant = Tenants.Default) => new()
    {
        Tenant = tenant,
        IdleSince = idleSince,
        EndedAt = T0.AddHours(4),
        Running = new HashSet<string>(["ep-running-here"], StringComparer.Ordinal),
    };

    [Fact]
    public async Task Recovery_ends_only_idle_open_episodes_of_the_tenant_as_abandoned_and_audits_them_once()
    {
        var store = await NewStoreAsync();
        await SeedOpenEpisodesAsync(store);

        var first = await Recovery(store).AbandonIdleEpisodesAsync(SweepAt(T0.AddHours(2)), Ct);
        var second = await Recovery(store).AbandonIdleEpisodesAsync(SweepAt(T0.AddHours(2)), Ct);

        Assert.Equal(["ep-dead"], first.EpisodeIdsByTenant[Tenants.Default]);
        Assert.Single(first.EpisodeIdsByTenant);
        var entry = Assert.Single(first.Audit);
        Assert.Equal(AuditActions.EpisodesAbandoned, entry.Action);
        Assert.Contains("ep-dead", entry.DetailsJson, StringComparison.Ordinal);
        Assert.Equal(0, second.Count);
        Assert.Empty(second.Audit);
        var audited = new List<AuditEntry>();
        await foreach (var e in store.ReadAuditAsync(0, Ct))
        {
            audited.Add(e);
        }

        Assert.Single(audited, e => e.Action == AuditActions.EpisodesAbandoned);

        var dead = (await store.GetEpisodeAsync(Tenants.Default, "ep-dead", Ct))!;
        Assert.Equal(T0.AddHours(4), dead.EndedAt);
        Assert.Equal(EpisodeEndReasons.Abandoned, dead.EndReason);
        Assert.Single(dead.Steps);
        foreach (var id in new[] { "ep-live-elsewhere", "ep-running-here" })
        {
            Assert.Null((await store.GetEpisodeAsync(Tenants.Default, id, Ct))!.EndedAt);
        }

        Assert.Null((await store.GetEpisodeAsync(Tenants.Default, "ep-done", Ct))!.EndReason);
        Assert.Null((await store.GetEpisodeAsync("acme", "ep-other-tenant", Ct))!.EndedAt);
    }

    [Fact]
    public async Task A_recovered_episode_survives_a_restart_reads_as_ended_and_takes_a_later_outcome()
    {
        var store = await NewStoreAsync();
        await SeedOpenEpisodesAsync(store);
        await Recovery(store).AbandonIdleEpisodesAsync(SweepAt(T0.AddHours(2), tenant: null), Ct);
        store = await ReopenTrackedAsync(store);

        await store.AppendAsync([new OutcomeRecorded("ep-dead", Outcome.Failure(at: T0.AddHours(5))) { Tenant = Tenants.Default }], Ct);

        var judged = (await store.GetEpisodeAsync(Tenants.Default, "ep-dead", Ct))!;
        Assert.Equal(EpisodeEndReasons.Abandoned, judged.EndReason);
        Assert.Equal(0.0, judged.Score);
        var ended = new List<string>();
        await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { EndedOnly = true }, Ct))
        {
            ended.Add(episode.Id);
        }

        Assert.Equal(["ep-dead", "ep-done"], ended.Order(StringComparer.Ordinal));
        Assert.Equal(EpisodeEndReasons.Abandoned, (await store.GetEpisodeAsync("acme", "ep-other-tenant", Ct))!.EndReason);
    }

    [Fact]
    public async Task A_capture_that_was_alive_after_all_supersedes_the_recovery_with_its_own_end()
    {
        var store = await NewStoreAsync();
        await SeedOpenEpisodesAsync(store);
        await Recovery(store).AbandonIdleEpisodesAsync(SweepAt(T0.AddHours(2)), Ct);

        await store.AppendAsync([new StepRecorded("ep-dead", ToolStep(1, "book")), new EpisodeEnded("ep-dead", T0.AddHours(6), ["les-1"])], Ct);

        var ended = (await store.GetEpisodeAsync(Tenants.Default, "ep-dead", Ct))!;
        Assert.Null(ended.EndReason);
        Assert.Equal(T0.AddHours(6), ended.EndedAt);
        Assert.Equal(2, ended.Steps.Count);
    }
}
