using Lore.Tests.Rollout;
using Xunit;

namespace Lore.Tests.Audit;

/// <summary>
/// The one resolver of snapshot names the CLI (diff, replay) and the REST API share: an id, "stable" or "candidate"
/// becomes the tenant's snapshot, and an unknown name, an alias with nothing behind it or another tenant's snapshot is
/// refused with a message that says what was asked for.
/// </summary>
public sealed class SnapshotNamesTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Stable_candidate_and_ids_resolve_to_the_tenants_snapshots()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.2, "alice", "try it", scenario.Candidate.Id, Ct);

        Assert.Equal(scenario.Stable.Id, (await SnapshotNames.ResolveAsync(scenario.Store, "stable", Tenants.Default, Ct)).Id);
        Assert.Equal(scenario.Candidate.Id, (await SnapshotNames.ResolveAsync(scenario.Store, " candidate ", Tenants.Default, Ct)).Id);
        Assert.Equal(scenario.Stable.Id, (await SnapshotNames.ResolveAsync(scenario.Store, scenario.Stable.Id, Tenants.Default, Ct)).Id);
    }

    [Fact]
    public async Task An_alias_with_no_snapshot_behind_it_is_refused_naming_the_alias_and_tenant()
    {
        await using var scenario = await RolloutScenario.OpenAsync();

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => SnapshotNames.ResolveAsync(scenario.Store, "candidate", Tenants.Default, Ct));
        Assert.Contains("no candidate snapshot in rollout", error.Message, StringComparison.Ordinal);
        Assert.Contains($"'{Tenants.Default}'", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("snap-does-not-exist", Tenants.Default)]
    [InlineData(null, "other")]
    public async Task An_unknown_id_or_another_tenants_snapshot_is_refused_naming_the_id(string? id, string tenant)
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var name = id ?? scenario.Stable.Id;

        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => SnapshotNames.ResolveAsync(scenario.Store, name, tenant, Ct));
        Assert.Contains($"No snapshot '{name}' for tenant '{tenant}'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_empty_name_is_refused_as_an_argument()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var error = await Assert.ThrowsAsync<ArgumentException>(() => SnapshotNames.ResolveAsync(scenario.Store, " ", Tenants.Default, Ct));
        Assert.Contains("'stable' or 'candidate'", error.Message, StringComparison.Ordinal);
    }
}
