using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Rollout;

public sealed class ContinuousEvaluationTests
{
    private const string Harmful = "les-refund-skip";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A candidate that helps every ticket a little (a greeting lesson) and makes refunds fail far more often (a bad
    /// refund lesson): about as good as the baseline overall, much worse on one slice.
    /// </summary>
    private static Task<RolloutScenario> HarmfulCandidateAsync(Action<LoreOptions>? configure = null)
        => RolloutScenario.OpenAsync(
            [
                Lesson(Harmful, "Refund at once; skip looking the order up.", LessonTrigger.OnDescription(RolloutScenario.RefundTask)),
                Lesson("les-greet", "Greet the customer by name and restate the request.", LessonTrigger.Always),
            ],
            configure);

    /// <summary>Lesson experiments on: each lesson withheld from 30% of the units it is eligible for; a pass every 100 episodes.</summary>
    private static void Holdout(LoreOptions options)
    {
        options.Rollout.AttributionEvery = 100;
        options.Evaluation.LessonHoldoutShare = 0.3;
    }

    private static double HarmOnRefunds(string slice, IReadOnlyCollection<string> injected)
        => injected.Contains(Harmful) ? 0.45 : injected.Contains("les-greet") ? 0.95 : 0.8;

    [Theory]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(9)]
    public async Task A_canary_worse_on_one_slice_is_rolled_back_at_once_with_the_slice_and_effect_in_the_audit_log(int seed)
    {
        await using var scenario = await HarmfulCandidateAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary the new refund lesson", scenario.Candidate.Id, Ct);
        var desk = new SimulatedDesk(scenario, seed, HarmOnRefunds);

        var harmfulInjected = 0;
        while (desk.Episodes < 4_000 && scenario.Runtime.Rollout.State.CandidateSnapshotId is not null)
        {
            var episode = await desk.RunAsync(desk.Episodes);
            harmfulInjected += episode.InjectedLessonIds.Contains(Harmful) ? 1 : 0;

            // The monitor tallies through the shared store in the background: let it catch up now and then, so a
            // loaded machine does not run the desk past the point the regression was already detected.
            if (desk.Episodes % 50 == 0)
            {
                await scenario.Runtime.Monitor.WhenIdleAsync();
            }
        }

        // The next episode is served the stable snapshot before the store has even been written.
        await using (var next = scenario.Runtime.BeginEpisode(RolloutScenario.RefundTask, unitKey: "user-1"))
        {
            Assert.Null(next.Arm);
            Assert.Equal(scenario.Stable.Id, next.SnapshotId);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.True(harmfulInjected >= 100, $"the harmful lesson reached the model {harmfulInjected} times in {desk.Episodes} episodes ({string.Join(", ", desk.ByArm)}): {scenario.Runtime.Monitor.LastDecision?.Reason}");
        Assert.True(desk.Episodes < 4_000, "the regression was never detected");
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Stable.Id, (string?)null, RolloutStage.None), (state.StableSnapshotId, state.CandidateSnapshotId, state.Stage));
        Assert.Equal("rollout-monitor", state.UpdatedBy);

        var entry = Assert.Single(await scenario.AuditAsync(), e => e.Action == AuditActions.SnapshotRolledBack);
        Assert.Equal(("rollout-monitor", scenario.Candidate.Id), (entry.Actor, entry.Subject));
        Assert.Contains("slice 'refunds'", entry.Reason, StringComparison.Ordinal);
        var evidence = RolloutScenario.Details(entry).GetProperty("evidence");
        Assert.Equal("refunds", evidence.GetProperty("slice").GetString());
        Assert.InRange(evidence.GetProperty("effect").GetDouble(), -0.6, -0.15);
        Assert.True(evidence.GetProperty("intervalHigh").GetDouble() < 0, "the interval excludes no effect");
        Assert.True(evidence.GetProperty("pValue").GetDouble() <= evidence.GetProperty("alpha").GetDouble());
        Assert.True(evidence.GetProperty("baselineEpisodes").GetInt32() >= 100);
        Assert.True(evidence.GetProperty("candidateEpisodes").GetInt32() >= 100);
        Assert.Equal(EvaluationAction.Rollback, scenario.Runtime.Monitor.LastDecision?.Action);
    }

    [Fact]
    public async Task A_frozen_tenant_takes_no_automatic_action_on_a_regression()
    {
        await using var scenario = await HarmfulCandidateAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        await scenario.Runtime.Rollout.FreezeAsync("carol", "incident 42: pin everything", Ct);
        var desk = new SimulatedDesk(scenario, seed: 7, HarmOnRefunds);

        for (var i = 0; i < 1_500; i++)
        {
            await desk.RunAsync(i);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.Equal(EvaluationAction.Rollback, scenario.Runtime.Monitor.LastDecision?.Action);
        Assert.StartsWith($"roll back candidate {scenario.Candidate.Id}", scenario.Runtime.Monitor.LastSuppressed, StringComparison.Ordinal);
        Assert.Equal(scenario.Candidate.Id, scenario.Runtime.Rollout.State.CandidateSnapshotId);
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Candidate.Id, RolloutStage.Canary, true), (state.CandidateSnapshotId, state.Stage, state.Frozen));
        Assert.DoesNotContain(await scenario.AuditAsync(), e => e.Action == AuditActions.SnapshotRolledBack);
        Assert.True(desk.ByArm[RolloutArms.Candidate] > 500, "the candidate kept being served");
    }

    [Fact]
    public async Task With_automatic_rollback_off_a_regression_is_left_to_an_operator()
    {
        await using var scenario = await HarmfulCandidateAsync(o => o.Rollout.AutoRollback = false);
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        var desk = new SimulatedDesk(scenario, seed: 11, HarmOnRefunds);

        for (var i = 0; i < 1_500; i++)
        {
            await desk.RunAsync(i);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.Equal(EvaluationAction.Rollback, scenario.Runtime.Monitor.LastDecision?.Action);
        Assert.Equal(scenario.Candidate.Id, (await scenario.Store.GetRolloutAsync(Tenants.Default, Ct)).CandidateSnapshotId);
    }

    [Fact]
    public async Task A_canary_better_overall_and_worse_nowhere_is_promoted_when_the_policy_allows_after_its_minimum_episodes()
    {
        var helpful = Lesson("les-greet", "Greet the customer by name and restate the request.", LessonTrigger.Always);
        await using var scenario = await RolloutScenario.OpenAsync([helpful], o =>
        {
            o.Rollout.AutoPromote = true;
            o.Rollout.MinimumCanaryEpisodes = 1_000;
        });
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary the greeting", scenario.Candidate.Id, Ct);
        var desk = new SimulatedDesk(scenario, seed: 3, (_, injected) => injected.Contains("les-greet") ? 0.85 : 0.6);

        while (desk.Episodes < 4_000 && scenario.Runtime.Rollout.State.Stage == RolloutStage.Canary)
        {
            await desk.RunAsync(desk.Episodes);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.True(state.CandidateSnapshotId is null, $"not promoted after {desk.Episodes} episodes ({string.Join(", ", desk.ByArm)}): {scenario.Runtime.Monitor.LastDecision?.Reason}");
        Assert.Equal((scenario.Candidate.Id, (string?)null), (state.StableSnapshotId, state.CandidateSnapshotId));
        var entry = Assert.Single(await scenario.AuditAsync(), e => e.Action == AuditActions.SnapshotPromoted);
        Assert.Equal("rollout-monitor", entry.Actor);
        var overall = RolloutScenario.Details(entry).GetProperty("evidence").GetProperty("overall");
        var counted = overall.GetProperty("baseline").GetProperty("episodes").GetInt32() + overall.GetProperty("candidate").GetProperty("episodes").GetInt32();
        Assert.True(counted >= 1_000, $"promoted after {counted} canary episodes, before the policy's minimum");
        Assert.True(overall.GetProperty("effect").GetDouble() > 0.1);
    }

    [Fact]
    public async Task Without_automatic_promotion_a_better_canary_keeps_running()
    {
        var helpful = Lesson("les-greet", "Greet the customer by name and restate the request.", LessonTrigger.Always);
        await using var scenario = await RolloutScenario.OpenAsync([helpful]);
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        var desk = new SimulatedDesk(scenario, seed: 3, (_, injected) => injected.Contains("les-greet") ? 0.85 : 0.6);

        for (var i = 0; i < 1_200; i++)
        {
            await desk.RunAsync(i);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.Equal(EvaluationAction.Promote, scenario.Runtime.Monitor.LastDecision?.Action);
        Assert.Equal(RolloutStage.Canary, (await scenario.Store.GetRolloutAsync(Tenants.Default, Ct)).Stage);
    }

    [Fact]
    public async Task A_judgement_that_arrives_after_a_canary_episode_ended_is_counted_once_for_its_arm()
    {
        await using var scenario = await RolloutScenario.OpenAsync();
        await scenario.Runtime.Rollout.CanaryAsync(0.5, "alice", "canary", scenario.Candidate.Id, Ct);
        var (episode, _) = await scenario.RunAsync("user-1");
        Assert.Equal(0, scenario.Runtime.Monitor.CanaryEpisodes);

        await scenario.Runtime.RecordOutcomeAsync(episode.Id, Outcome.Failure(OutcomeSource.User, "user-1"), Ct);
        await scenario.Runtime.RecordOutcomeAsync(episode.Id, Outcome.Success(OutcomeSource.User, "user-1"), Ct);

        Assert.Equal(1, scenario.Runtime.Monitor.CanaryEpisodes);
        Assert.Equal(2, (await scenario.Store.GetEpisodeAsync(episode.Id, Ct))?.Outcomes.Count);
    }

    [Fact]
    public async Task A_shadow_candidate_moves_into_canary_after_the_configured_shadow_episodes()
    {
        await using var scenario = await RolloutScenario.OpenAsync(configure: o =>
        {
            o.Rollout.ShadowEpisodes = 30;
            o.Rollout.CanaryShare = 0.2;
        });
        await scenario.Runtime.Rollout.ShadowAsync(scenario.Candidate.Id, "alice", "watch first", Ct);
        var desk = new SimulatedDesk(scenario, seed: 5, (_, _) => 0.8);

        for (var i = 0; i < 29; i++)
        {
            await desk.RunAsync(i);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.Equal(RolloutStage.Shadow, scenario.Runtime.Rollout.State.Stage);

        await desk.RunAsync(29);
        await scenario.Runtime.Monitor.WhenIdleAsync();

        var state = await scenario.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((scenario.Candidate.Id, RolloutStage.Canary, 0.2), (state.CandidateSnapshotId, state.Stage, state.CanaryShare));
        var entry = (await scenario.AuditAsync())[^1];
        Assert.Equal((AuditActions.SnapshotCanary, "rollout-monitor"), (entry.Action, entry.Actor));
    }

    [Fact]
    public async Task A_lesson_that_harms_the_episodes_it_reaches_is_retired_alone_through_a_new_snapshot()
    {
        // Served: a neutral lesson for every ticket and one that harms the tickets mentioning "expedite".
        var neutral = Lesson("les-greet", "Greet the customer by name.", LessonTrigger.Always);
        var harmful = Lesson("les-expedite", "When asked to expedite, promise delivery tomorrow.", LessonTrigger.OnKeywords("expedite"));
        await using var scenario = await RolloutScenario.OpenAsync(configure: Holdout, stableLessons: [neutral, harmful]);
        var desk = new SimulatedDesk(scenario, seed: 13, (_, injected) => injected.Contains("les-expedite") ? 0.4 : 0.8);

        var reached = 0;
        while (desk.Episodes < 3_000 && scenario.Runtime.CurrentSnapshot?.Id == scenario.Stable.Id)
        {
            var i = desk.Episodes;
            var slice = i % 2 == 0 ? "refunds" : "shipping";
            var task = i % 4 < 2 ? $"please expedite ticket {i} for {slice}" : $"handle ticket {i} for {slice}";
            var episode = await desk.RunAsync(i, task, slice);
            reached += episode.InjectedLessonIds.Contains("les-expedite") ? 1 : 0;
            if (desk.Episodes % 100 == 0)
            {
                await scenario.Runtime.Monitor.WhenIdleAsync();
            }
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.True(reached >= 100, $"the harmful lesson reached the model {reached} times");
        var child = scenario.Runtime.CurrentSnapshot;
        Assert.NotNull(child);
        Assert.Equal(scenario.Stable.Id, child.ParentId);
        Assert.Equal(["les-greet"], child.Lessons.Select(l => l.Id));
        var retired = await scenario.Store.GetLessonAsync("les-expedite", Ct);
        Assert.Equal(LessonStatus.Retired, retired?.Status);
        Assert.NotNull(retired?.RetiredAt);
        Assert.Contains("harmful", retired!.RetiredReason, StringComparison.Ordinal);
        Assert.True(retired.Effect!.Delta < -0.2);

        var audit = await scenario.AuditAsync();
        var retirement = Assert.Single(audit, e => e.Action == AuditActions.LessonRetired);
        Assert.Equal(("rollout-monitor", "les-expedite"), (retirement.Actor, retirement.Subject));
        var details = RolloutScenario.Details(retirement);
        Assert.Equal(child.Id, details.GetProperty("snapshot").GetString());
        Assert.True(details.GetProperty("pValue").GetDouble() <= details.GetProperty("alpha").GetDouble());
        Assert.Contains(audit, e => e.Action == AuditActions.SnapshotCreated && e.Subject == child.Id);
        Assert.Contains(audit, e => e.Action == AuditActions.SnapshotPromoted && e.Subject == child.Id);
    }

    [Fact]
    public async Task A_harmful_lesson_of_a_frozen_tenant_is_reported_but_not_retired()
    {
        var neutral = Lesson("les-greet", "Greet the customer by name.", LessonTrigger.Always);
        var harmful = Lesson("les-expedite", "When asked to expedite, promise delivery tomorrow.", LessonTrigger.OnKeywords("expedite"));
        await using var scenario = await RolloutScenario.OpenAsync(configure: Holdout, stableLessons: [neutral, harmful]);
        await scenario.Runtime.Rollout.FreezeAsync("carol", "audit in progress", Ct);
        var desk = new SimulatedDesk(scenario, seed: 13, (_, injected) => injected.Contains("les-expedite") ? 0.4 : 0.8);

        for (var i = 0; i < 1_200; i++)
        {
            var slice = i % 2 == 0 ? "refunds" : "shipping";
            await desk.RunAsync(i, i % 4 < 2 ? $"please expedite ticket {i}" : $"handle ticket {i}", slice);
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        Assert.StartsWith("retire lesson les-expedite", scenario.Runtime.Monitor.LastSuppressed, StringComparison.Ordinal);
        Assert.Equal(scenario.Stable.Id, scenario.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(LessonStatus.Active, (await scenario.Store.GetLessonAsync("les-expedite", Ct))?.Status ?? LessonStatus.Active);
        Assert.DoesNotContain(await scenario.AuditAsync(), e => e.Action == AuditActions.LessonRetired);
    }

    [Fact]
    public async Task A_lesson_without_effect_that_retrieval_sends_to_hard_tickets_is_not_retired()
    {
        // Tickets mentioning "expedite" are hard (0.4) whether or not the lesson is there; the rest succeed at 0.9. A
        // with/without comparison calls the lesson harmful; the holdout experiment compares like with like.
        var neutral = Lesson("les-greet", "Greet the customer by name.", LessonTrigger.Always);
        var inert = Lesson("les-expedite", "When asked to expedite, say the request is noted.", LessonTrigger.OnKeywords("expedite"));
        await using var scenario = await RolloutScenario.OpenAsync(configure: Holdout, stableLessons: [neutral, inert]);
        var hard = false;
        var desk = new SimulatedDesk(scenario, seed: 17, (_, _) => hard ? 0.4 : 0.9);

        for (var i = 0; i < 2_000; i++)
        {
            hard = i % 4 < 2;
            var slice = i % 2 == 0 ? "refunds" : "shipping";
            await desk.RunAsync(i, hard ? $"please expedite ticket {i} for {slice}" : $"handle ticket {i} for {slice}", slice);
            if (i % 100 == 99)
            {
                await scenario.Runtime.Monitor.WhenIdleAsync();
            }
        }

        await scenario.Runtime.Monitor.WhenIdleAsync();
        await scenario.Runtime.FlushAsync(Ct);
        var episodes = new List<Episode>();
        await foreach (var episode in scenario.Store.ReadEpisodesAsync(new EpisodeQuery(), Ct))
        {
            episodes.Add(episode);
        }

        var observational = new RolloutEvaluator().AttributeLessons(episodes).Single(a => a.LessonId == "les-expedite");
        Assert.True(observational.Effect < -0.2, $"the confounded comparison shows a large 'effect' ({observational.Describe()})");
        Assert.Equal(scenario.Stable.Id, scenario.Runtime.CurrentSnapshot?.Id);
        Assert.Equal(LessonStatus.Active, (await scenario.Store.GetLessonAsync("les-expedite", Ct))?.Status ?? LessonStatus.Active);
        Assert.DoesNotContain(await scenario.AuditAsync(), e => e.Action == AuditActions.LessonRetired);
        Assert.Contains(episodes, e => e.Steps.Any(s => s.WithheldLessonIds.Contains("les-expedite")));
    }
}
