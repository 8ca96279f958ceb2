using System.Text.Json;
using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.Cli.Tests;

public sealed class RolloutCommandTests : IAsyncLifetime
{
    private readonly TempDirectory _dir = new();
    private Snapshot _stable = null!;
    private Snapshot _candidate = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private string Store => _dir.File("lore.db");

    public async ValueTask InitializeAsync()
    {
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        _stable = Snapshot.Create(null, Tenants.Default, [Lesson("les-lookup", "Look up the order before any refund.")], new RetrievalSettings(), "test", "stable", at);
        _candidate = Snapshot.Create(_stable.Id, Tenants.Default, [.. _stable.Lessons, Lesson("les-amount", "Read the refund amount back first.")], new RetrievalSettings(), "test", "candidate", at);
        await using var store = SqliteLoreStore.Open(Store);
        await store.SaveSnapshotAsync(_stable, Ct);
        await store.SaveSnapshotAsync(_candidate, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, _stable.Id, Ct);
    }

    public ValueTask DisposeAsync()
    {
        _dir.Dispose();
        return ValueTask.CompletedTask;
    }

    [Fact]
    public async Task Canary_promote_and_rollback_act_at_once_and_each_is_audited_with_its_actor_and_reason()
    {
        var canary = await CliRunner.RunAsync("canary", _candidate.Id, "--share", "0.2", "--store", Store, "--actor", "alice", "--reason", "try the amount lesson");
        Assert.True(canary.ExitCode == 0, canary.Error);
        Assert.Contains("20.0 %", canary.Out, StringComparison.Ordinal);
        var state = await StateAsync();
        Assert.Equal((_candidate.Id, RolloutStage.Canary, 0.2), (state.CandidateSnapshotId, state.Stage, state.CanaryShare));

        var grow = await CliRunner.RunAsync("canary", "--share", "0.5", "--store", Store, "--actor", "alice", "--json");
        Assert.True(grow.ExitCode == 0, grow.Error);
        Assert.Equal(0.5, JsonDocument.Parse(grow.Out).RootElement.GetProperty("after").GetProperty("canaryShare").GetDouble());

        var promote = await CliRunner.RunAsync("promote", "--store", Store, "--actor", "alice", "--reason", "healthy for a day");
        Assert.True(promote.ExitCode == 0, promote.Error);
        Assert.Equal(_candidate.Id, (await StateAsync()).StableSnapshotId);

        var rollback = await CliRunner.RunAsync("rollback", "--to", _stable.Id, "--store", Store, "--actor", "bob", "--reason", "refund complaints");
        Assert.True(rollback.ExitCode == 0, rollback.Error);
        Assert.Contains($"every unit gets {_stable.Id}", rollback.Out, StringComparison.Ordinal);
        state = await StateAsync();
        Assert.Equal((_stable.Id, (string?)null, "bob"), (state.StableSnapshotId, state.CandidateSnapshotId, state.UpdatedBy));

        var audit = await AuditAsync();
        Assert.Equal(
            [
                (AuditActions.SnapshotCanary, "alice", "try the amount lesson"),
                (AuditActions.SnapshotCanary, "alice", "canary started by an operator"),
                (AuditActions.SnapshotPromoted, "alice", "healthy for a day"),
                (AuditActions.SnapshotRolledBack, "bob", "refund complaints"),
            ],
            audit.Select(e => (e.Action, e.Actor, e.Reason)));
    }

    [Fact]
    public async Task Freeze_pins_what_is_served_and_promotion_is_refused_until_unfrozen()
    {
        Assert.Equal(0, (await CliRunner.RunAsync("canary", _candidate.Id, "--share", "0.1", "--store", Store)).ExitCode);
        var freeze = await CliRunner.RunAsync("freeze", "--store", Store, "--actor", "carol", "--reason", "incident 42");
        Assert.True(freeze.ExitCode == 0, freeze.Error);

        var promote = await CliRunner.RunAsync("promote", "--store", Store, "--actor", "alice");

        Assert.Equal(1, promote.ExitCode);
        Assert.Contains("frozen", promote.Error, StringComparison.Ordinal);
        Assert.Contains("incident 42", promote.Error, StringComparison.Ordinal);
        Assert.Single(promote.Error.Trim().Split('\n'));
        Assert.Equal(_stable.Id, (await StateAsync()).StableSnapshotId);

        var again = await CliRunner.RunAsync("freeze", "--store", Store, "--reason", "still");
        Assert.Contains("Already frozen", again.Out, StringComparison.Ordinal);
        var unfreeze = await CliRunner.RunAsync("unfreeze", "--store", Store, "--actor", "carol", "--reason", "resolved");
        Assert.True(unfreeze.ExitCode == 0, unfreeze.Error);
        Assert.Equal(0, (await CliRunner.RunAsync("promote", "--store", Store, "--actor", "alice")).ExitCode);
        Assert.Equal(_candidate.Id, (await StateAsync()).StableSnapshotId);
        Assert.Equal(
            [AuditActions.SnapshotCanary, AuditActions.Frozen, AuditActions.Unfrozen, AuditActions.SnapshotPromoted],
            (await AuditAsync()).Select(e => e.Action));
    }

    [Theory]
    [InlineData("rollback")]
    [InlineData("freeze")]
    [InlineData("unfreeze")]
    public async Task Commands_that_need_a_reason_refuse_to_run_without_one_and_change_nothing(string command)
    {
        var before = await StateAsync();

        var result = await CliRunner.RunAsync(command, "--store", Store);

        Assert.Equal(2, result.ExitCode);
        Assert.Contains("--reason is required", result.Error, StringComparison.Ordinal);
        Assert.Equal(before, await StateAsync());
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task Rollback_with_nothing_to_roll_back_and_canary_without_a_share_fail_with_one_line()
    {
        var rollback = await CliRunner.RunAsync("rollback", "--store", Store, "--reason", "just in case");
        var canary = await CliRunner.RunAsync("canary", _candidate.Id, "--store", Store);
        var unknown = await CliRunner.RunAsync("canary", "snap-0000000000000000", "--share", "0.1", "--store", Store);

        Assert.Equal(1, rollback.ExitCode);
        Assert.Contains("no candidate", rollback.Error, StringComparison.Ordinal);
        Assert.Equal(2, canary.ExitCode);
        Assert.Contains("--share", canary.Error, StringComparison.Ordinal);
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("snap-0000000000000000", unknown.Error, StringComparison.Ordinal);
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task Rollout_status_evaluates_the_running_canary_per_slice_from_stored_episodes()
    {
        Assert.Equal(0, (await CliRunner.RunAsync("canary", _candidate.Id, "--share", "0.5", "--store", Store)).ExitCode);
        await using (var store = SqliteLoreStore.Open(Store))
        {
            // 150 episodes per arm and slice; the candidate fails twice as often on "refunds", by a wrong refund.
            await using var import = await store.BeginImportAsync(Ct);
            var random = new Random(5);
            var now = DateTimeOffset.UtcNow.AddMinutes(1);
            for (var i = 0; i < 600; i++)
            {
                var candidate = i % 2 == 0;
                var slice = i % 4 < 2 ? "refunds" : "shipping";
                var rate = candidate && slice == "refunds" ? 0.4 : 0.8;
                await import.AddAsync(new Episode
                {
                    Id = $"ep-{i}",
                    UnitKey = $"user-{i}",
                    Task = "ticket",
                    Labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("slice", slice),
                    StartedAt = now,
                    EndedAt = now,
                    Arm = candidate ? RolloutArms.Candidate : RolloutArms.Baseline,
                    SnapshotId = candidate ? _candidate.Id : _stable.Id,
                    Outcomes = [random.NextDouble() < rate ? Outcome.Success(at: now) : Outcome.Failure(at: now) with { Category = rate < 0.5 ? "wrong_refund" : null }],
                }, Ct);
            }

            await import.CommitAsync(Ct);
        }

        var status = await CliRunner.RunAsync("rollout", "status", "--store", Store, "--json");
        var text = await CliRunner.RunAsync("rollout", "status", "--store", Store);

        Assert.True(status.ExitCode == 0, status.Error);
        var evaluation = JsonDocument.Parse(status.Out).RootElement.GetProperty("evaluation");
        Assert.Equal("rollback", evaluation.GetProperty("action").GetString());
        Assert.Equal("refunds", evaluation.GetProperty("evidence")[0].GetProperty("slice").GetString());
        Assert.Equal(600, evaluation.GetProperty("overall").GetProperty("comparison").GetProperty("baseline").GetProperty("episodes").GetInt32()
            + evaluation.GetProperty("overall").GetProperty("comparison").GetProperty("candidate").GetProperty("episodes").GetInt32());
        Assert.Contains("refunds", text.Out, StringComparison.Ordinal);
        Assert.Contains("regressed on slice 'refunds'", text.Out, StringComparison.Ordinal);

        // The failure modes: the wrong refund is new under the candidate and grew; the table and the sentence say so.
        var grown = JsonDocument.Parse(status.Out).RootElement.GetProperty("failureShift").GetProperty("modes").EnumerateArray()
            .Single(m => m.GetProperty("mode").GetString() == "category: wrong refund" && m.GetProperty("slice").GetString() == "(all)");
        Assert.Equal(("grew", true), (grown.GetProperty("change").GetString(), grown.GetProperty("isNew").GetBoolean()));
        Assert.Contains("category: wrong refund", text.Out, StringComparison.Ordinal);
        Assert.Contains("The candidate shifted errors", text.Out, StringComparison.Ordinal);

        // Status only reports: acting is the monitor's or an operator's call.
        Assert.Equal(_candidate.Id, (await StateAsync()).CandidateSnapshotId);
    }

    private static Lesson Lesson(string id, string text) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnDescription(text),
        Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
    };

    private async Task<RolloutState> StateAsync()
    {
        await using var store = SqliteLoreStore.Open(Store);
        return await store.GetRolloutAsync(Tenants.Default, Ct);
    }

    private async Task<List<AuditEntry>> AuditAsync()
    {
        await using var store = SqliteLoreStore.Open(Store);
        var entries = new List<AuditEntry>();
        await foreach (var entry in store.ReadAuditAsync(0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }
}
