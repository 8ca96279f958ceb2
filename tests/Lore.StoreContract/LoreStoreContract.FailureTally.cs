using Xunit;

namespace Lore.StoreContract;

// The failure modes in the shared rollout tally: each judged canary episode's mode, counted per share, arm, slice, unit and mode.
public abstract partial class LoreStoreContract
{
    [Fact]
    public async Task The_shared_tally_counts_failures_per_mode_and_unit_and_leaves_successes_out()
    {
        var store = await NewStoreAsync();

        await store.RecordRolloutOutcomesAsync(
        [
            Counted("e1", CandidateArm, "refunds", "u:1", 0) with { FailureMode = "category: wrong refund" },
            Counted("e2", CandidateArm, "refunds", "u:1", 0) with { FailureMode = "category: wrong refund" },
            Counted("e3", CandidateArm, "refunds", "u:1", 0) with { FailureMode = "after transfer_to_human" },
            Counted("e4", CandidateArm, "refunds", "u:1", 1),
            Counted("e5", BaselineArm, "billing", "u:2", 0) with { FailureMode = "category: wrong refund" },
        ], Ct);

        var rows = (await store.ReadRolloutFailureTallyAsync(Tenants.Default, "snap-c", Ct))
            .OrderBy(r => r.Arm, StringComparer.Ordinal).ThenBy(r => r.FailureMode, StringComparer.Ordinal).ToArray();

        Assert.Equal(3, rows.Length);
        Assert.Equal((BaselineArm, "billing", "u:2", "category: wrong refund", 1), (rows[0].Arm, rows[0].Slice, rows[0].UnitKey, rows[0].FailureMode, rows[0].Episodes));
        Assert.Equal((CandidateArm, "after transfer_to_human", 1), (rows[1].Arm, rows[1].FailureMode, rows[1].Episodes));
        Assert.Equal((CandidateArm, "category: wrong refund", 2, 0.25), (rows[2].Arm, rows[2].FailureMode, rows[2].Episodes, rows[2].CanaryShare));
        Assert.True(rows[2].FirstSequence < rows[1].FirstSequence, "the first record of a mode orders it");
        Assert.Equal(4, Assert.Single(await store.ReadRolloutTallyAsync(Tenants.Default, "snap-c", Ct), r => r.Arm == CandidateArm).Episodes);
    }

    [Fact]
    public async Task An_outcomes_category_and_reason_survive_the_store_and_a_blank_failure_mode_is_refused()
    {
        var store = await NewStoreAsync();
        var outcome = new Outcome(0, OutcomeSource.User, "ops@example.com", "looked at it") { Category = "wrong_refund", Reason = "refunded twice" };
        await using (var import = await store.BeginImportAsync(Ct))
        {
            await import.AddAsync(new Episode { Id = "ep-cat", StartedAt = DateTimeOffset.UtcNow, EndedAt = DateTimeOffset.UtcNow, Outcomes = [outcome] }, Ct);
            await import.CommitAsync(Ct);
        }

        await store.AppendAsync([new OutcomeRecorded("ep-cat", Outcome.Failure() with { Category = "second", Reason = null })], Ct);

        var stored = await store.GetEpisodeAsync(Tenants.Default, "ep-cat", Ct);
        Assert.Equal(("wrong_refund", "refunded twice"), (stored!.Outcomes[0].Category, stored.Outcomes[0].Reason));
        Assert.Equal(("second", (string?)null), (stored.Outcomes[1].Category, stored.Outcomes[1].Reason));

        var error = await Assert.ThrowsAsync<ArgumentException>(() => store.RecordRolloutOutcomesAsync([Counted("e9", CandidateArm, "refunds", "u:1", 0) with { FailureMode = "" }], Ct));
        Assert.Contains("failure mode", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_failure_mode_an_outcome_was_judged_with_survives_import_capture_and_a_later_outcome()
    {
        var store = await NewStoreAsync();
        var imported = new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found", FailureMode = "label: wrong desk" };
        await using (var import = await store.BeginImportAsync(Ct))
        {
            await import.AddAsync(new Episode { Id = "ep-judged", StartedAt = DateTimeOffset.UtcNow, EndedAt = DateTimeOffset.UtcNow, Outcomes = [imported] }, Ct);
            await import.CommitAsync(Ct);
        }

        await store.AppendAsync([new OutcomeRecorded("ep-judged", Outcome.Failure(OutcomeSource.User) with { FailureMode = "label: refund without approval" })], Ct);
        await store.AddOutcomeAsync("ep-judged", Outcome.Success(OutcomeSource.Evaluator), Ct);
        await store.AddOutcomeAsync("ep-judged", Outcome.Failure(OutcomeSource.Evaluator) with { FailureMode = "label: handed to a human" }, Ct);

        var stored = await store.GetEpisodeAsync(Tenants.Default, "ep-judged", Ct);
        Assert.Equal(["label: wrong desk", "label: refund without approval", null, "label: handed to a human"], stored!.Outcomes.Select(o => o.FailureMode));
        Assert.Equal("order_not_found", stored.Outcomes[0].Category);
    }
}
