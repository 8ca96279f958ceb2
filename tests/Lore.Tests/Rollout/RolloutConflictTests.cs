using Lore.Sqlite;
using Lore.Testing;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Rollout;

/// <summary>Two hosts changing one tenant's rollout at once: every change is compare-and-swap, re-read and re-decided on a lost race.</summary>
public sealed class RolloutConflictTests : IAsyncLifetime
{
    private readonly TempDirectory _directory = new();
    private readonly Snapshot _stable = Snapshot(SupportDesk(), reason: "stable");
    private Snapshot _candidate = null!;
    private Snapshot _other = null!;
    private InterferingStore _store = null!;
    private SqliteLoreStore _rival = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _candidate = Snapshot([.. _stable.Lessons, Lesson("les-extra", "Read the refund amount back to the customer.")], parent: _stable.Id, reason: "candidate");
        _other = Snapshot([.. _stable.Lessons, Lesson("les-other", "Offer store credit before a refund.")], parent: _stable.Id, reason: "other");
        var path = _directory.File("lore.db");
        _store = new InterferingStore(SqliteLoreStore.Open(path));
        foreach (var snapshot in new[] { _stable, _candidate, _other })
        {
            await _store.SaveSnapshotAsync(snapshot, Ct);
        }

        await _store.SetActiveSnapshotAsync(Tenants.Default, _stable.Id, Ct);
        _rival = SqliteLoreStore.Open(path);
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        await _rival.DisposeAsync();
        _directory.Dispose();
    }

    /// <summary>"Another host" changes the rollout just before the next save of <paramref name="store"/>, once, with a controller of its own.</summary>
    private void RivalBeforeNextSave(InterferingStore store, Func<RolloutController, Task> change)
    {
        var next = store.RolloutSaves + 1;
        store.BeforeSaveRollout = async save =>
        {
            if (save == next)
            {
                await change(new RolloutController(_rival, Tenants.Default));
            }
        };
    }

    [Fact]
    public async Task A_promotion_that_loses_the_race_to_a_share_change_reads_again_and_still_promotes()
    {
        var controller = new RolloutController(_store, Tenants.Default);
        await controller.CanaryAsync(0.1, "alice", "start", _candidate.Id, Ct);
        var versionBefore = (await _store.GetRolloutAsync(Tenants.Default, Ct)).Version;
        RivalBeforeNextSave(_store, rival => rival.CanaryAsync(0.3, "bob", "grow", cancellationToken: Ct));
        var saves = _store.RolloutSaves;

        var promoted = await controller.PromoteAsync("alice", "healthy", Ct);

        Assert.Equal(1, _store.Conflicts);
        Assert.Equal(versionBefore + 2, promoted.After.Version);
        Assert.Equal(0.3, promoted.Before.CanaryShare);
        Assert.Equal(_candidate.Id, promoted.After.StableSnapshotId);
        Assert.Equal(2, _store.RolloutSaves - saves);
        var audit = await ReadAuditAsync();
        Assert.Equal([AuditActions.SnapshotCanary, AuditActions.SnapshotCanary, AuditActions.SnapshotPromoted], audit.Select(e => e.Action));
        Assert.Equal(["alice", "bob", "alice"], audit.Select(e => e.Actor));
    }

    [Fact]
    public async Task A_promotion_that_loses_the_race_to_a_freeze_is_refused_and_saves_nothing()
    {
        var controller = new RolloutController(_store, Tenants.Default);
        await controller.CanaryAsync(0.1, "alice", "start", _candidate.Id, Ct);
        RivalBeforeNextSave(_store, rival => rival.FreezeAsync("carol", "incident", Ct));

        var error = await Assert.ThrowsAsync<RolloutRefusedException>(() => controller.PromoteAsync("alice", "healthy", Ct));

        Assert.Contains("frozen", error.Message, StringComparison.Ordinal);
        var state = await _store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((_stable.Id, _candidate.Id, true), (state.StableSnapshotId, state.CandidateSnapshotId, state.Frozen));
        Assert.DoesNotContain(await ReadAuditAsync(), e => e.Action == AuditActions.SnapshotPromoted);
    }

    [Fact]
    public async Task An_automatic_rollback_that_finds_its_candidate_already_replaced_leaves_the_new_one_alone()
    {
        var store = new InterferingStore(SqliteLoreStore.Open(_store.Location));
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = store }, Ct);
        await runtime.Rollout.CanaryAsync(0.5, "alice", "start", _candidate.Id, Ct);
        RivalBeforeNextSave(store, rival => rival.CanaryAsync(0.5, "bob", "try the other one instead", _other.Id, Ct));

        // What the monitor does on a regression: swap locally at once, then write the store if the candidate is still it.
        Assert.True(runtime.Rollout.RollbackLocally(_candidate.Id));
        var transition = await runtime.Rollout.RollbackAsync("rollout-monitor", "regressed", toSnapshotId: null, expectedCandidate: _candidate.Id, evidence: null, Ct);

        Assert.False(transition.Changed);
        Assert.Equal(1, store.Conflicts);
        Assert.Equal(_other.Id, (await _store.GetRolloutAsync(Tenants.Default, Ct)).CandidateSnapshotId);
        Assert.Equal(_other.Id, runtime.Rollout.State.CandidateSnapshotId);
        Assert.DoesNotContain(await ReadAuditAsync(), e => e.Action == AuditActions.SnapshotRolledBack);
    }

    [Fact]
    public async Task A_change_that_keeps_losing_gives_up_with_the_conflict_after_a_bounded_number_of_tries()
    {
        var controller = new RolloutController(_store, Tenants.Default);
        await controller.CanaryAsync(0.1, "alice", "start", _candidate.Id, Ct);
        var share = 0.1;
        _store.BeforeSaveRollout = async _ =>
        {
            share += 0.01;
            await new RolloutController(_rival, Tenants.Default).CanaryAsync(share, "bob", "again", cancellationToken: Ct);
        };

        await Assert.ThrowsAsync<StoreConflictException>(() => controller.PromoteAsync("alice", "healthy", Ct));

        Assert.Equal(8, _store.Conflicts);
        Assert.Equal(_stable.Id, (await _store.GetRolloutAsync(Tenants.Default, Ct)).StableSnapshotId);
    }

    [Fact]
    public async Task Hosts_changing_the_share_at_the_same_time_each_get_their_change_saved_once_and_audited()
    {
        await new RolloutController(_store, Tenants.Default).CanaryAsync(0.05, "alice", "start", _candidate.Id, Ct);
        var hosts = Enumerable.Range(0, 6).Select(i => (Store: SqliteLoreStore.Open(_store.Location), Share: 0.1 + i * 0.1)).ToArray();
        try
        {
            var changes = await Task.WhenAll(hosts.Select(h => Task.Run(() => new RolloutController(h.Store, Tenants.Default).CanaryAsync(h.Share, $"host-{h.Share:0.0}", "concurrent", cancellationToken: Ct), Ct)));

            Assert.All(changes, c => Assert.True(c.Changed));
            Assert.Equal(changes.Length, changes.Select(c => c.After.Version).Distinct().Count());
            var final = await _store.GetRolloutAsync(Tenants.Default, Ct);
            Assert.Equal(changes.MaxBy(c => c.After.Version)!.After.CanaryShare, final.CanaryShare);
            Assert.Equal(7, (await ReadAuditAsync()).Count(e => e.Action == AuditActions.SnapshotCanary));
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.Store.DisposeAsync();
            }
        }
    }

    private async Task<List<AuditEntry>> ReadAuditAsync()
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in _store.ReadAuditAsync(0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }
}
