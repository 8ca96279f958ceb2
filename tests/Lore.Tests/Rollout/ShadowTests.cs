using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Rollout;

public sealed class ShadowTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Shadow_injects_nothing_of_the_candidate_but_records_what_it_would_have_injected()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        var (plain, stableSection) = await scenario.RunAsync("user-1");
        var stableInjected = plain.InjectedLessonIds.ToArray();
        var shadow = await scenario.Runtime.Rollout.ShadowAsync(scenario.Candidate.Id, "test", "watch it first", Ct);

        var (episode, section) = await scenario.RunAsync("user-1");

        Assert.True(shadow.Changed);
        Assert.Equal(RolloutStage.Shadow, shadow.After.Stage);
        Assert.Equal(stableSection, section);
        Assert.DoesNotContain("Read the refund amount back", section, StringComparison.Ordinal);
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        Assert.Equal(RolloutArms.Baseline, stored.Arm);
        Assert.Equal(scenario.Stable.Id, stored.SnapshotId);
        Assert.DoesNotContain("les-refund-amount", stored.InjectedLessonIds);
        var call = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Contains("les-refund-amount", call.ShadowLessonIds);
        Assert.Contains("les-refund-lookup", call.ShadowLessonIds);
        Assert.Contains("les-refund-lookup", stableInjected);
        Assert.Equal(stableInjected, call.InjectedLessonIds);
        Assert.Equal(stableInjected, stored.InjectedLessonIds);
    }

    [Fact]
    public async Task Shadow_of_a_first_snapshot_sends_the_model_exactly_what_the_caller_wrote()
    {
        await using var scenario = await RolloutScenario.OpenAsync(stableLessons: []);
        await scenario.Runtime.Rollout.ShadowAsync(scenario.Candidate.Id, "test", "first snapshot", Ct);

        var (episode, section) = await scenario.RunAsync("user-7");

        Assert.Null(section);
        var sent = scenario.Model.Requests[^1];
        Assert.Equal([ChatRole.System, ChatRole.User], sent.Select(m => m.Role));
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        Assert.Empty(stored.InjectedLessonIds);
        Assert.Equal(["les-refund-amount"], Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall).ShadowLessonIds);
    }

    [Fact]
    public async Task Outside_shadow_model_calls_record_no_would_be_lessons()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(1.0, "test", "everyone", scenario.Candidate.Id, Ct);

        var (episode, section) = await scenario.RunAsync("user-1");

        Assert.Contains("Read the refund amount back", section, StringComparison.Ordinal);
        var stored = await scenario.Host.StoredEpisodeAsync(episode.Id);
        Assert.Empty(Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall).ShadowLessonIds);
    }
}
