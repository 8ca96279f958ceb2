using Xunit;

namespace Lore.StoreContract;

// The shared rollout tally: every host's judged canary episodes, each counted once, summed per share, arm, slice and unit.
public abstract partial class LoreStoreContract
{
    // The arm names as episodes record them (Lore's RolloutArms; this suite sees only the abstractions).
    private const string BaselineArm = "baseline";
    private const string CandidateArm = "candidate";

    private static RolloutOutcome Counted(string episode, string arm, string slice, string unit, double score, double share = 0.25, string candidate = "snap-c", string tenant = Tenants.Default)
        => new(tenant, candidate, share, episode, arm, slice, unit, score);

    [Fact]
    public async Task The_shared_tally_sums_each_units_episodes_per_share_arm_and_slice()
    {
        var store = await NewStoreAsync();

        await store.RecordRolloutOutcomesAsync(
        [
            Counted("e1", CandidateArm, "refunds", "u:1", 1),
            Counted("e2", CandidateArm, "refunds", "u:1", 0.5),
            Counted("e3", CandidateArm, "billing", "u:1", 0),
            Counted("e4", BaselineArm, "refunds", "u:2", 1),
            Counted("e5", BaselineArm, "refunds", "u:3", 1, share: 0.5),
        ], Ct);

        var rows = (await store.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct))
            .OrderBy(r => r.CanaryShare).ThenBy(r => r.Arm, StringComparer.Ordinal).ThenBy(r => r.Slice, StringComparer.Ordinal).ThenBy(r => r.UnitKey, StringComparer.Ordinal)
            .ToArray();

        Assert.Equal(4, rows.Length);
        Assert.Equal((0.25, BaselineArm, "refunds", "u:2", 1, 1.0, 1.0), (rows[0].CanaryShare, rows[0].Arm, rows[0].Slice, rows[0].UnitKey, rows[0].Episodes, rows[0].ScoreSum, rows[0].SquaredSum));
        Assert.Equal((0.25, CandidateArm, "billing", "u:1", 1, 0.0), (rows[1].CanaryShare, rows[1].Arm, rows[1].Slice, rows[1].UnitKey, rows[1].Episodes, rows[1].ScoreSum));
        Assert.Equal((0.25, CandidateArm, "refunds", "u:1", 2, 1.5, 1.25), (rows[2].CanaryShare, rows[2].Arm, rows[2].Slice, rows[2].UnitKey, rows[2].Episodes, rows[2].ScoreSum, rows[2].SquaredSum));
        Assert.Equal((0.5, BaselineArm, "u:3"), (rows[3].CanaryShare, rows[3].Arm, rows[3].UnitKey));
        Assert.True(rows[3].FirstSequence > rows[2].FirstSequence, "records are sequenced in the order they were written");
    }

    [Fact]
    public async Task An_episode_recorded_twice_or_again_after_a_restart_counts_once()
    {
        var store = await NewStoreAsync();

        await store.RecordRolloutOutcomesAsync([Counted("e1", CandidateArm, "refunds", "u:1", 1), Counted("e1", CandidateArm, "refunds", "u:1", 1)], Ct);
        var restarted = await ReopenTrackedAsync(store);
        await restarted.RecordRolloutOutcomesAsync([Counted("e1", CandidateArm, "refunds", "u:1", 0), Counted("e2", CandidateArm, "refunds", "u:1", 0)], Ct);

        var row = Assert.Single(await restarted.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct));
        Assert.Equal((2, 1.0), (row.Episodes, row.ScoreSum));
    }

    [Fact]
    public async Task The_shared_tally_of_one_candidate_or_tenant_is_not_mixed_with_another()
    {
        var store = await NewStoreAsync();

        await store.RecordRolloutOutcomesAsync(
        [
            Counted("e1", CandidateArm, "refunds", "u:1", 1),
            Counted("e1", CandidateArm, "refunds", "u:1", 1, candidate: "snap-d"),
            Counted("e1", CandidateArm, "refunds", "u:1", 1, tenant: "acme"),
        ], Ct);

        Assert.Single(await store.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct));
        Assert.Single(await store.ReadRolloutTallyAsync(Tenants.Default, "snap-d", Ct));
        Assert.Single(await store.ReadRolloutTallyAsync("acme", "snap-c", Ct));
        Assert.Empty(await store.ReadRolloutTallyAsync("acme", "snap-d", Ct));
    }

    [Theory]
    [InlineData("Arm")]
    [InlineData("Score")]
    [InlineData("CanaryShare")]
    [InlineData("UnitKey")]
    public async Task A_batch_with_an_invalid_outcome_is_refused_whole_naming_the_field(string field)
    {
        var store = await NewStoreAsync();
        var good = Counted("e1", CandidateArm, "refunds", "u:1", 1);
        var bad = field switch
        {
            "Arm" => good with { EpisodeId = "e2", Arm = "control" },
            "Score" => good with { EpisodeId = "e2", Score = 1.5 },
            "CanaryShare" => good with { EpisodeId = "e2", CanaryShare = double.NaN },
            _ => good with { EpisodeId = "e2", UnitKey = " " },
        };

        var error = await Assert.ThrowsAnyAsync<ArgumentException>(() => store.RecordRolloutOutcomesAsync([good, bad], Ct));

        Assert.Equal(field, error.ParamName);
        Assert.Contains("e2", error.Message, StringComparison.Ordinal);
        Assert.Empty(await store.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct));
    }

    [Fact]
    public async Task The_shared_tally_survives_reopening_the_store()
    {
        var store = await NewStoreAsync();
        await store.RecordRolloutOutcomesAsync([Counted("e1", BaselineArm, "billing", "u:9", 0.25)], Ct);

        var reopened = await ReopenTrackedAsync(store);

        var row = Assert.Single(await reopened.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct));
        Assert.Equal((1, 0.25, 0.0625), (row.Episodes, row.ScoreSum, row.SquaredSum));
    }
}
