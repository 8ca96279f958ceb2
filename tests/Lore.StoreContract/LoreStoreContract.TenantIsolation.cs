using Lore.Testing;
using Xunit;

namespace Lore.StoreContract;

// Sources you can trust and tenants without side channels: Episode.Source and ApiKey.TrustUnits round trips, episode ids
// unique per tenant (never "already taken" because of another tenant), and each tenant's own audit chain.
public abstract partial class LoreStoreContract
{
    private static Episode Sourced(string id, string tenant, string unit, string source) =>
        new EpisodeBuilder(id)
            .Tenant(tenant)
            .Unit(unit)
            .Task($"refund order {id}")
            .StartedAt(T0)
            .Tool("find_order", """{"order_id":"1142"}""", """{"status":"delivered"}""")
            .Succeeded()
            .Build() with
        { Source = source };

    [Fact]
    public async Task An_episode_keeps_its_source_through_capture_and_import_and_a_reopen()
    {
        var store = await NewStoreAsync();
        var captured = Sourced("ep-captured", Tenants.Default, "alice", "key:k1/unit:alice");
        var imported = Sourced("ep-imported", Tenants.Default, "bob", "key:k2");
        var hosts = Sourced("ep-host", Tenants.Default, "carol", "");
        await store.AppendAsync(CaptureRecordsOf(captured), Ct);
        await ImportAsync(store, imported, hosts);

        store = await ReopenTrackedAsync(store);

        Assert.Equal("key:k1/unit:alice", (await store.GetEpisodeAsync("ep-captured", Ct))!.Source);
        Assert.Equal("key:k2", (await store.GetEpisodeAsync(Tenants.Default, "ep-imported", Ct))!.Source);
        var read = await ReadAllAsync(store, new EpisodeQuery());
        Assert.Equal(["key:k1/unit:alice", "key:k2", ""], read.Select(e => e.Source));
        Assert.Equal(["key:k1/unit:alice", "key:k2", "unit:carol"], read.Select(e => e.EvidenceSource));
    }

    [Fact]
    public async Task A_keys_trust_to_assert_units_is_stored_and_changed_by_id_only()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k0000000001", "acme") with { TrustUnits = true }, Ct);
        await store.SaveApiKeyAsync(NewKey("k0000000002", "acme"), Ct);

        Assert.True((await store.GetApiKeyAsync("k0000000001", Ct))!.TrustUnits);
        Assert.False((await store.GetApiKeyAsync("k0000000002", Ct))!.TrustUnits);

        Assert.True(await store.SetApiKeyTrustAsync("k0000000002", trustUnits: true, Ct));
        Assert.True(await store.SetApiKeyTrustAsync("k0000000001", trustUnits: false, Ct));
        Assert.False(await store.SetApiKeyTrustAsync("k-unknown", trustUnits: true, Ct));

        store = await ReopenTrackedAsync(store);
        var keys = (await store.ListApiKeysAsync("acme", Ct)).ToDictionary(k => k.Id, k => k.TrustUnits);
        Assert.False(keys["k0000000001"]);
        Assert.True(keys["k0000000002"]);
    }

    [Fact]
    public async Task The_same_episode_id_may_exist_in_two_tenants_and_each_reads_its_own()
    {
        var store = await NewStoreAsync();
        await store.AppendAsync(CaptureRecordsOf(Sourced("ep-shared", "acme", "alice", "key:ka")), Ct);
        await ImportAsync(store, Sourced("ep-shared", "globex", "bob", "key:kg"));

        var acme = await store.GetEpisodeAsync("acme", "ep-shared", Ct);
        var globex = await store.GetEpisodeAsync("globex", "ep-shared", Ct);
        Assert.Equal(("acme", "alice"), (acme!.Tenant, acme.UnitKey));
        Assert.Equal(("globex", "bob"), (globex!.Tenant, globex.UnitKey));
        Assert.NotEqual(acme.Sequence, globex.Sequence);
        Assert.Null(await store.GetEpisodeAsync("initech", "ep-shared", Ct));
        Assert.Single(await ReadAllAsync(store, new EpisodeQuery { Tenant = "acme" }));
        Assert.Single(await ReadAllAsync(store, new EpisodeQuery { Tenant = "globex" }));

        // Within a tenant an id is still written once.
        var twice = await Assert.ThrowsAsync<StoreConflictException>(() => store.AppendAsync(CaptureRecordsOf(Sourced("ep-shared", "acme", "x", "")), Ct));
        Assert.Contains("ep-shared", twice.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<StoreConflictException>(() => ImportAsync(store, Sourced("ep-shared", "globex", "y", "")));
    }

    [Fact]
    public async Task Records_naming_a_tenant_reach_that_tenants_episode_and_unscoped_ones_refuse_a_shared_id()
    {
        var store = await NewStoreAsync();
        var running = Sourced("ep-shared", "acme", "alice", "") with { Steps = [], Outcomes = [], EndedAt = null };
        await store.AppendAsync([new EpisodeStarted(running), new EpisodeStarted(running with { Tenant = "globex" })], Ct);

        await store.AppendAsync(
        [
            new StepRecorded("ep-shared", new Step { Index = 0, Kind = StepKind.ToolCall, At = T0, ToolName = "find_order" }) { Tenant = "globex" },
            new OutcomeRecorded("ep-shared", Outcome.Failure(at: T0)) { Tenant = "globex" },
            new EpisodeEnded("ep-shared", T0.AddMinutes(1), []) { Tenant = "globex" },
        ], Ct);

        var globex = await store.GetEpisodeAsync("globex", "ep-shared", Ct);
        var acme = await store.GetEpisodeAsync("acme", "ep-shared", Ct);
        Assert.Single(globex!.Steps);
        Assert.NotNull(globex.EndedAt);
        Assert.False(globex.Succeeded);
        Assert.Empty(acme!.Steps);
        Assert.Null(acme.EndedAt);
        Assert.Empty(acme.Outcomes);

        // By id alone the store cannot tell whose episode is meant: it refuses, naming the id, and writes nothing.
        var ambiguous = await Assert.ThrowsAsync<InvalidOperationException>(() => store.AppendAsync([new OutcomeRecorded("ep-shared", Outcome.Success(at: T0))], Ct));
        Assert.Contains("ep-shared", ambiguous.Message, StringComparison.Ordinal);
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.GetEpisodeAsync("ep-shared", Ct));
        await Assert.ThrowsAsync<InvalidOperationException>(() => store.AddOutcomeAsync("ep-shared", Outcome.Success(at: T0), Ct));
        Assert.Empty((await store.GetEpisodeAsync("acme", "ep-shared", Ct))!.Outcomes);

        // A tenant that does not hold the id is told it is unknown, like any missing id.
        await Assert.ThrowsAsync<KeyNotFoundException>(() => store.AppendAsync([new OutcomeRecorded("ep-shared", Outcome.Success(at: T0)) { Tenant = "initech" }], Ct));
    }

    [Fact]
    public async Task Erasing_a_tenants_episode_leaves_another_tenants_episode_with_the_same_id()
    {
        var store = await NewStoreAsync();
        await ImportAsync(store, Sourced("ep-shared", "acme", "alice", ""), Sourced("ep-shared", "globex", "bob", ""), Sourced("ep-own", "acme", "alice", ""));

        await Assert.ThrowsAsync<InvalidOperationException>(() => store.DeleteEpisodesAsync(["ep-shared"], Ct));
        Assert.Equal(2, await store.DeleteEpisodesAsync("acme", ["ep-shared", "ep-own"], Ct));

        Assert.Null(await store.GetEpisodeAsync("acme", "ep-shared", Ct));
        Assert.NotNull(await store.GetEpisodeAsync("globex", "ep-shared", Ct));
        Assert.Equal(1, await store.DeleteEpisodesAsync(["ep-shared"], Ct)); // now only one tenant holds it
        Assert.Equal(0, await store.CountEpisodesAsync("globex", Ct));
    }

    [Fact]
    public async Task Each_tenant_reads_its_own_audit_chain_numbered_without_gaps_and_verifiable_on_its_own()
    {
        var store = await NewStoreAsync();
        var tenants = new[] { "acme", "globex", "acme", "acme", "initech", "globex", "acme" };
        var global = new List<AuditEntry>();
        for (var n = 0; n < tenants.Length; n++)
        {
            global.Add(await store.AppendAuditAsync(NewDraft(n, tenants[n]), Ct));
        }

        store = await ReopenTrackedAsync(store);
        AssertValidChain(await ReadAuditAsync(store));
        foreach (var tenant in tenants.Distinct())
        {
            var own = new List<AuditEntry>();
            await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, Ct))
            {
                own.Add(entry);
            }

            // Positions 1..n of the tenant's entries only, each hashed over the tenant's previous entry: no gap says
            // how many entries other tenants wrote in between.
            AssertValidChain(own);
            var mine = global.Where(e => e.Tenant == tenant).ToList();
            Assert.Equal(mine.Select(e => (e.Action, e.Subject, e.Reason, e.DetailsJson, e.At)), own.Select(e => (e.Action, e.Subject, e.Reason, e.DetailsJson, e.At)));
            Assert.All(own, e => Assert.Equal(tenant, e.Tenant));

            var tail = new List<AuditEntry>();
            await foreach (var entry in store.ReadTenantAuditAsync(tenant, 1, Ct))
            {
                tail.Add(entry);
            }

            Assert.Equal(own.Skip(1).Select(e => e.Hash), tail.Select(e => e.Hash));
        }

        Assert.Empty(await ReadTenantAuditListAsync(store, "nobody"));
        Assert.Equal([1L, 2L, 3L, 4L], (await ReadTenantAuditListAsync(store, "acme")).Select(e => e.Sequence));
    }

    private static async Task<List<AuditEntry>> ReadTenantAuditListAsync(ILoreStore store, string tenant)
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadTenantAuditAsync(tenant, 0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }
}
