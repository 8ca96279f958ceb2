using Xunit;

namespace Lore.StoreContract;

// Rollouts: one versioned state per tenant whose stable snapshot is the active snapshot; saves compare and swap.
public abstract partial class LoreStoreContract
{
    /// <summary>A store with two snapshots of the default tenant (stable and candidate) and one of "acme".</summary>
    private async Task<(ILoreStore Store, Snapshot Stable, Snapshot Candidate, Snapshot Foreign)> RolloutStoreAsync()
    {
        var store = await NewStoreAsync();
        var stable = NewSnapshot(parentId: null, minute: 1);
        var candidate = NewSnapshot(parentId: stable.Id, minute: 2);
        var foreign = NewSnapshot(parentId: null, tenant: "acme", minute: 3);
        foreach (var snapshot in new[] { stable, candidate, foreign })
        {
            await store.SaveSnapshotAsync(snapshot, Ct);
        }

        return (store, stable, candidate, foreign);
    }

    [Fact]
    public async Task A_tenant_that_never_had_a_rollout_gets_version_0_and_nothing_to_serve()
    {
        var store = await NewStoreAsync();

        var rollout = await store.GetRolloutAsync("acme", Ct);

        Assert.Equal("acme", rollout.Tenant);
        Assert.Equal(0, rollout.Version);
        Assert.Null(rollout.StableSnapshotId);
        Assert.Null(rollout.CandidateSnapshotId);
        Assert.Equal(RolloutStage.None, rollout.Stage);
        Assert.False(rollout.Frozen);
    }

    [Fact]
    public async Task Setting_the_active_snapshot_makes_it_the_rollouts_stable_snapshot_and_bumps_the_version()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();

        await store.SetActiveSnapshotAsync(Tenants.Default, stable.Id, Ct);
        var first = await store.GetRolloutAsync(Tenants.Default, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, candidate.Id, Ct);
        var second = await store.GetRolloutAsync(Tenants.Default, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, null, Ct);
        var third = await store.GetRolloutAsync(Tenants.Default, Ct);

        Assert.Equal((stable.Id, 1L), (first.StableSnapshotId, first.Version));
        Assert.Equal((candidate.Id, 2L), (second.StableSnapshotId, second.Version));
        Assert.Equal((null, 3L), (third.StableSnapshotId, third.Version));
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Saving_a_rollout_makes_its_stable_snapshot_the_active_one_and_returns_what_is_stored()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var state = new RolloutState
        {
            Tenant = Tenants.Default,
            StableSnapshotId = stable.Id,
            CandidateSnapshotId = candidate.Id,
            Stage = RolloutStage.Canary,
            CanaryShare = 0.125,
            Frozen = true,
            FrozenReason = "incident 42",
            UpdatedBy = "cli:alice",
        };

        var saved = await store.SaveRolloutAsync(state, expectedVersion: 0, Ct);

        Assert.Equal(1, saved.Version);
        Assert.NotEqual(default, saved.UpdatedAt);
        Assert.Equal(Canonical(state with { Version = 1, UpdatedAt = saved.UpdatedAt }), Canonical(saved));
        Assert.Equal(Canonical(saved), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
        Assert.Equal(stable.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        var listed = await store.ListSnapshotsAsync(Tenants.Default, Ct);
        Assert.Equal([stable.Id], listed.Where(s => s.IsActive).Select(s => s.Id));
    }

    [Fact]
    public async Task Each_save_increments_the_version_and_promotion_moves_the_active_snapshot()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var shadow = await store.SaveRolloutAsync(new RolloutState
        {
            Tenant = Tenants.Default, StableSnapshotId = stable.Id, CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Shadow,
        }, 0, Ct);
        var canary = await store.SaveRolloutAsync(shadow with { Stage = RolloutStage.Canary, CanaryShare = 0.1 }, shadow.Version, Ct);
        Assert.Equal(stable.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));

        var promoted = await store.SaveRolloutAsync(
            canary with { StableSnapshotId = candidate.Id, CandidateSnapshotId = null, Stage = RolloutStage.None, CanaryShare = 0 }, canary.Version, Ct);

        Assert.Equal([1L, 2L, 3L], new[] { shadow.Version, canary.Version, promoted.Version });
        Assert.Equal(candidate.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(Canonical(promoted), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
    }

    [Fact]
    public async Task Saving_against_a_stale_version_throws_a_conflict_naming_tenant_and_versions_and_changes_nothing()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var first = await store.SaveRolloutAsync(new RolloutState { Tenant = Tenants.Default, StableSnapshotId = stable.Id }, 0, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, stable.Id, Ct); // another writer: version 2 now

        var stale = await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveRolloutAsync(
            first with { CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Shadow }, first.Version, Ct));
        var fromNothing = await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveRolloutAsync(
            new RolloutState { Tenant = Tenants.Default, StableSnapshotId = candidate.Id }, 0, Ct));
        var fromFuture = await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveRolloutAsync(
            new RolloutState { Tenant = "acme" }, 4, Ct));

        Assert.Contains("'default'", stale.Message, StringComparison.Ordinal);
        Assert.Contains("2", stale.Message, StringComparison.Ordinal);
        Assert.Contains("1", stale.Message, StringComparison.Ordinal);
        Assert.Contains("0", fromNothing.Message, StringComparison.Ordinal);
        Assert.Contains("'acme'", fromFuture.Message, StringComparison.Ordinal);
        Assert.Contains("4", fromFuture.Message, StringComparison.Ordinal);
        var current = await store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((stable.Id, (string?)null, RolloutStage.None, 2L), (current.StableSnapshotId, current.CandidateSnapshotId, current.Stage, current.Version));
        Assert.Equal(0, (await store.GetRolloutAsync("acme", Ct)).Version);
    }

    [Fact]
    public async Task Of_two_saves_racing_from_the_same_version_exactly_one_wins()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var start = await store.SaveRolloutAsync(new RolloutState { Tenant = Tenants.Default, StableSnapshotId = stable.Id }, 0, Ct);
        var contenders = Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            try
            {
                return await store.SaveRolloutAsync(
                    start with { CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Canary, CanaryShare = i / 10.0, UpdatedBy = $"host-{i}" }, start.Version, Ct);
            }
            catch (StoreConflictException)
            {
                return null;
            }
        }, Ct)).ToList();

        var results = await Task.WhenAll(contenders);

        var winner = Assert.Single(results, r => r is not null);
        Assert.Equal(2, winner!.Version);
        Assert.Equal(Canonical(winner), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
    }

    [Fact]
    public async Task A_rollout_naming_an_unknown_or_foreign_snapshot_is_refused_naming_it()
    {
        var (store, stable, candidate, foreign) = await RolloutStoreAsync();
        await store.SetActiveSnapshotAsync(Tenants.Default, stable.Id, Ct);
        var current = await store.GetRolloutAsync(Tenants.Default, Ct);

        var unknownStable = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveRolloutAsync(
            current with { StableSnapshotId = "snap-ffffffffffffffff" }, current.Version, Ct));
        var foreignCandidate = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveRolloutAsync(
            current with { CandidateSnapshotId = foreign.Id, Stage = RolloutStage.Shadow }, current.Version, Ct));
        var foreignStable = await Assert.ThrowsAsync<KeyNotFoundException>(() => store.SaveRolloutAsync(
            new RolloutState { Tenant = "acme", StableSnapshotId = candidate.Id }, 0, Ct));

        Assert.Contains("snap-ffffffffffffffff", unknownStable.Message, StringComparison.Ordinal);
        Assert.Contains(foreign.Id, foreignCandidate.Message, StringComparison.Ordinal);
        Assert.Contains(candidate.Id, foreignStable.Message, StringComparison.Ordinal);
        Assert.Equal(Canonical(current), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
        Assert.Equal(0, (await store.GetRolloutAsync("acme", Ct)).Version);
        Assert.Null(await store.GetActiveSnapshotIdAsync("acme", Ct));
    }

    public static TheoryData<string> InconsistentRollouts =>
    [
        "shadow without candidate",
        "canary without candidate",
        "none with candidate",
        "negative share",
        "share above one",
        "share not a number",
        "candidate is stable",
        "undefined stage",
        "empty tenant",
    ];

    [Theory]
    [MemberData(nameof(InconsistentRollouts))]
    public async Task An_inconsistent_rollout_is_refused_and_changes_nothing(string defect)
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var current = await store.SaveRolloutAsync(new RolloutState { Tenant = Tenants.Default, StableSnapshotId = stable.Id }, 0, Ct);
        var canary = current with { CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Canary, CanaryShare = 0.2 };
        var state = defect switch
        {
            "shadow without candidate" => current with { Stage = RolloutStage.Shadow },
            "canary without candidate" => current with { Stage = RolloutStage.Canary, CanaryShare = 0.2 },
            "none with candidate" => canary with { Stage = RolloutStage.None },
            "negative share" => canary with { CanaryShare = -0.01 },
            "share above one" => canary with { CanaryShare = 1.01 },
            "share not a number" => canary with { CanaryShare = double.NaN },
            "candidate is stable" => canary with { CandidateSnapshotId = stable.Id },
            "undefined stage" => canary with { Stage = (RolloutStage)7 },
            "empty tenant" => canary with { Tenant = "" },
            _ => throw new ArgumentOutOfRangeException(nameof(defect), defect, null),
        };

        await Assert.ThrowsAnyAsync<ArgumentException>(() => store.SaveRolloutAsync(state, current.Version, Ct));

        Assert.Equal(Canonical(current), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
    }

    [Fact]
    public async Task The_whole_share_range_and_both_stages_with_a_candidate_are_accepted()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var state = await store.SaveRolloutAsync(new RolloutState { Tenant = Tenants.Default, StableSnapshotId = stable.Id }, 0, Ct);

        foreach (var (stage, share) in new[] { (RolloutStage.Shadow, 0.0), (RolloutStage.Canary, 0.0), (RolloutStage.Canary, 1.0), (RolloutStage.Canary, 0.5) })
        {
            state = await store.SaveRolloutAsync(state with { CandidateSnapshotId = candidate.Id, Stage = stage, CanaryShare = share }, state.Version, Ct);
            Assert.Equal(Canonical(state), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
        }

        // A tenant with no stable snapshot yet can still shadow its first candidate.
        var first = await store.SaveRolloutAsync(
            new RolloutState { Tenant = Tenants.Default, CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Shadow }, state.Version, Ct);
        Assert.Null(first.StableSnapshotId);
        Assert.Null(await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
    }

    [Fact]
    public async Task Setting_the_candidate_as_active_promotes_it_and_ends_the_rollout()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var canary = await store.SaveRolloutAsync(new RolloutState
        {
            Tenant = Tenants.Default, StableSnapshotId = stable.Id, CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Canary, CanaryShare = 0.3,
            Frozen = true, FrozenReason = "audit",
        }, 0, Ct);

        await store.SetActiveSnapshotAsync(Tenants.Default, candidate.Id, Ct);

        var after = await store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((candidate.Id, (string?)null, RolloutStage.None, canary.Version + 1), (after.StableSnapshotId, after.CandidateSnapshotId, after.Stage, after.Version));
        Assert.True(after.Frozen); // freezing is the rollout's policy, not changed by a pointer move
    }

    [Fact]
    public async Task Setting_another_snapshot_active_keeps_the_candidate_in_its_stage()
    {
        var (store, stable, candidate, _) = await RolloutStoreAsync();
        var third = NewSnapshot(parentId: stable.Id, minute: 4);
        await store.SaveSnapshotAsync(third, Ct);
        var shadow = await store.SaveRolloutAsync(new RolloutState
        {
            Tenant = Tenants.Default, StableSnapshotId = stable.Id, CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Shadow,
        }, 0, Ct);

        await store.SetActiveSnapshotAsync(Tenants.Default, third.Id, Ct);

        var after = await store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((third.Id, candidate.Id, RolloutStage.Shadow, 2L), (after.StableSnapshotId, after.CandidateSnapshotId, after.Stage, after.Version));
        Assert.Equal(shadow.Version + 1, after.Version);
    }

    [Fact]
    public async Task Rollouts_are_kept_per_tenant_and_survive_reopening()
    {
        var (store, stable, candidate, foreign) = await RolloutStoreAsync();
        var ours = await store.SaveRolloutAsync(new RolloutState
        {
            Tenant = Tenants.Default, StableSnapshotId = stable.Id, CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Shadow, UpdatedBy = "learning",
        }, 0, Ct);
        var theirs = await store.SaveRolloutAsync(new RolloutState { Tenant = "acme", StableSnapshotId = foreign.Id, Frozen = true, FrozenReason = "audit" }, 0, Ct);

        store = await ReopenTrackedAsync(store);

        Assert.Equal(Canonical(ours), Canonical(await store.GetRolloutAsync(Tenants.Default, Ct)));
        Assert.Equal(Canonical(theirs), Canonical(await store.GetRolloutAsync("acme", Ct)));
        Assert.Equal(stable.Id, await store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Equal(foreign.Id, await store.GetActiveSnapshotIdAsync("acme", Ct));
        Assert.Equal(0, (await store.GetRolloutAsync("globex", Ct)).Version);
    }
}
