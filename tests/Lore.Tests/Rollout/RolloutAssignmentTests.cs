using Lore.Rollout;
using Lore.Sqlite;
using Xunit;

namespace Lore.Tests.Rollout;

public sealed class RolloutAssignmentTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Outside_a_rollout_every_episode_gets_the_stable_snapshot_and_no_arm()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await using var episode = scenario.Runtime.BeginEpisode("anything", unitKey: "user-1");

        Assert.Null(episode.Arm);
        Assert.Equal(scenario.Stable.Id, episode.SnapshotId);
    }

    [Fact]
    public async Task Every_episode_records_the_arm_and_snapshot_its_unit_was_assigned()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "test", "half the units", scenario.Candidate.Id, Ct);

        var ids = new Dictionary<string, string>();
        for (var i = 0; i < 200; i++)
        {
            var unit = $"user-{i}";
            await using var episode = scenario.Runtime.BeginEpisode("refund an order", unitKey: unit);
            ids[episode.Id] = unit;
        }

        await scenario.Runtime.FlushAsync(Ct);
        var arms = new Dictionary<string, int>();
        await foreach (var stored in scenario.Store.ReadEpisodesAsync(new EpisodeQuery { WithoutSteps = true }, Ct))
        {
            var expectCandidate = UnitPosition.Of(Tenants.Default, ids[stored.Id]) < 0.5;
            Assert.Equal(expectCandidate ? RolloutArms.Candidate : RolloutArms.Baseline, stored.Arm);
            Assert.Equal(expectCandidate ? scenario.Candidate.Id : scenario.Stable.Id, stored.SnapshotId);
            arms[stored.Arm!] = arms.GetValueOrDefault(stored.Arm!) + 1;
        }

        Assert.Equal(200, arms.Values.Sum());
        Assert.InRange(arms[RolloutArms.Candidate], 60, 140);
    }

    [Fact]
    public async Task A_unit_keeps_its_arm_across_episodes_and_across_processes()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.3, "test", "a third", scenario.Candidate.Id, Ct);

        // A second runtime on the same database stands for another process.
        await using var other = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(scenario.Store.Location) }, Ct);
        for (var i = 0; i < 300; i++)
        {
            var unit = $"customer-{i}";
            var first = await ArmAsync(scenario.Runtime, unit);
            Assert.Equal(first, await ArmAsync(scenario.Runtime, unit));
            Assert.Equal(first, await ArmAsync(other, unit));
        }
    }

    [Fact]
    public async Task Growing_the_canary_keeps_every_candidate_unit_in_the_candidate_arm()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.1, "test", "start small", scenario.Candidate.Id, Ct);
        var atTen = new List<string>();
        for (var i = 0; i < 2_000; i++)
        {
            if (scenario.Runtime.Rollout.Assign($"user-{i}", "ep").Arm == RolloutArms.Candidate)
            {
                atTen.Add($"user-{i}");
            }
        }

        var grown = await scenario.Runtime.Rollout.CanaryAsync(0.3, "test", "grow", cancellationToken: Ct);

        Assert.True(grown.Changed);
        Assert.Equal(scenario.Candidate.Id, grown.After.CandidateSnapshotId);
        Assert.All(atTen, unit => Assert.Equal(RolloutArms.Candidate, scenario.Runtime.Rollout.Assign(unit, "ep").Arm));
        var atThirty = Enumerable.Range(0, 2_000).Count(i => scenario.Runtime.Rollout.Assign($"user-{i}", "ep").Arm == RolloutArms.Candidate);
        Assert.InRange(atTen.Count, 200 - 4.5 * Math.Sqrt(2_000 * 0.09), 200 + 4.5 * Math.Sqrt(2_000 * 0.09));
        Assert.InRange(atThirty, 600 - 4.5 * Math.Sqrt(2_000 * 0.21), 600 + 4.5 * Math.Sqrt(2_000 * 0.21));
    }

    [Fact]
    public async Task Episodes_without_a_unit_key_count_as_their_own_units_and_spread_over_both_arms()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "test", "half", scenario.Candidate.Id, Ct);

        var candidate = 0;
        for (var i = 0; i < 400; i++)
        {
            await using var episode = scenario.Runtime.BeginEpisode("anonymous task");
            candidate += episode.Arm == RolloutArms.Candidate ? 1 : 0;
        }

        Assert.InRange(candidate, 200 - 4.5 * 10, 200 + 4.5 * 10);
    }

    [Fact]
    public async Task An_episode_keeps_the_arm_and_snapshot_it_began_with_when_the_rollout_changes()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(1.0, "test", "everyone", scenario.Candidate.Id, Ct);
        await using var running = scenario.Runtime.BeginEpisode("refund an order", unitKey: "user-1");

        await scenario.Runtime.Rollout.RollbackAsync("test", "changed my mind", cancellationToken: Ct);
        await using var next = scenario.Runtime.BeginEpisode("refund an order", unitKey: "user-1");

        Assert.Equal(RolloutArms.Candidate, running.Arm);
        Assert.Equal(scenario.Candidate.Id, running.SnapshotId);
        Assert.Null(next.Arm);
        Assert.Equal(scenario.Stable.Id, next.SnapshotId);
    }

    private static async Task<string?> ArmAsync(LoreRuntime runtime, string unit)
    {
        await using var episode = runtime.BeginEpisode("refund an order", unitKey: unit);
        return episode.Arm;
    }
}
