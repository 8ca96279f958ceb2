namespace Lore.Learning.Tests.Guards;

public sealed class AdmissionPolicyTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public void The_defaults_ask_three_episodes_from_two_sources_and_two_tasks_with_no_source_over_two_thirds_and_have_thresholds_for_every_kind()
    {
        var policy = new AdmissionPolicy().Validate();

        Assert.Equal((3, 2, 2), (policy.MinEpisodes, policy.MinDistinctSources, policy.MinDistinctTasks));
        Assert.Equal(2.0 / 3, policy.MaxSourceShare, 6);
        Assert.True(policy.RequireExemplars);
        Assert.Equal([ToolEffect.StateChanging, ToolEffect.MoneyMoving, ToolEffect.PermissionChanging], policy.ReviewToolEffects.Order());
        Assert.Equal(Enum.GetValues<LessonKind>().Order(), policy.Kinds.Keys.Order());
        Assert.Equal((SensitiveDataHandling.Redact, SensitiveDataHandling.Reject), (policy.PersonalData, policy.Secrets));
        Assert.NotNull(new LearningOptions().Admission);
    }

    [Fact]
    public void A_bad_setting_is_named()
    {
        Assert.Equal("MinDistinctSources", Assert.Throws<ArgumentOutOfRangeException>(() => new AdmissionPolicy { MinDistinctSources = 0 }.Validate()).ParamName);
        var noThresholds = new AdmissionPolicy();
        noThresholds.Kinds.Remove(LessonKind.UserFact);
        Assert.Contains("UserFact", Assert.Throws<ArgumentException>(() => noThresholds.Validate()).Message);
        var inverted = new AdmissionPolicy();
        inverted.Kinds[LessonKind.Guideline] = new KindThresholds { AdmitConfidence = 0.5, ReviewConfidence = 0.7 };
        Assert.Contains("Kinds[Guideline].ReviewConfidence", Assert.Throws<ArgumentOutOfRangeException>(() => inverted.Validate()).Message);
        var url = new AdmissionPolicy();
        url.KnownHosts.Add("https://api.example.com/v1");
        Assert.Contains("not a host name", Assert.Throws<ArgumentException>(() => url.Validate()).Message);
        var topic = new AdmissionPolicy();
        topic.ProtectedTopics.Add("x");
        Assert.Contains("ProtectedTopics", Assert.Throws<ArgumentException>(() => topic.Validate()).Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => new LearningOptions { Admission = new AdmissionPolicy { MinEpisodes = 0 } }.Validate());
    }

    [Fact]
    public async Task The_built_guard_is_frozen_against_later_changes_to_the_policy()
    {
        var policy = new AdmissionPolicy();
        var guard = policy.Build();
        policy.ProtectedTopics.Add("refund");
        policy.MinDistinctSources = 50;

        var verdict = await guard.EvaluateAsync(HostileCorpus.Strong("Call lookup_order before refund_order."), null, Ct);

        Assert.Equal(LessonStatus.Active, verdict.Status);
    }

    [Fact]
    public async Task A_user_fact_scoped_to_its_unit_needs_no_other_sources_but_still_its_episodes()
    {
        var guard = new AdmissionPolicy().Build();
        Lesson Fact(int episodes, string? unit) => HostileCorpus.Strong("Prefers window seats on long flights.", LessonKind.UserFact) with
        {
            Scope = new LessonScope { UnitKey = unit },
            Evidence = new LessonEvidence { EpisodeIds = [.. Enumerable.Range(0, episodes).Select(i => $"ep-{i}")], EpisodeCount = episodes, DistinctSources = 1, Support = episodes },
        };

        Assert.Equal(LessonStatus.Active, (await guard.EvaluateAsync(Fact(4, "customer-7"), null, Ct)).Status);
        Assert.Equal([GuardRules.MinEpisodes, GuardRules.LowSupport], (await guard.EvaluateAsync(Fact(2, "customer-7"), null, Ct)).Rules);
        Assert.Equal([GuardRules.MinSources, GuardRules.MinTasks], (await guard.EvaluateAsync(Fact(4, null), null, Ct)).Rules);
    }

    [Fact]
    public async Task Adaptation_scopes_allow_by_tenant_labels_extractor_and_kind_first_match_wins_and_can_require_approval()
    {
        var policy = new AdmissionPolicy();
        var approval = new AdaptationScope { Tenant = Tenants.Default, RequireApproval = true };
        approval.Kinds.Add(LessonKind.Procedure);
        var refunds = new AdaptationScope { Tenant = Tenants.Default };
        refunds.Labels["slice"] = "refunds";
        policy.Scopes.Add(approval);
        policy.Scopes.Add(refunds);
        var guard = policy.Build();
        var inRefunds = HostileCorpus.Strong("Call lookup_order before refund_order.") with { Scope = new LessonScope { Labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("slice", "refunds") } };

        Assert.Equal(LessonStatus.Active, (await guard.EvaluateAsync(inRefunds, null, Ct)).Status);
        Assert.Equal([GuardRules.ScopeNotAllowed], (await guard.EvaluateAsync(inRefunds with { Scope = new LessonScope() }, null, Ct)).Rules);
        Assert.Equal([GuardRules.ScopeNotAllowed], (await guard.EvaluateAsync(inRefunds with { Scope = inRefunds.Scope with { Tenant = "acme" } }, null, Ct)).Rules);
        var procedure = await guard.EvaluateAsync(inRefunds with { Kind = LessonKind.Procedure, Scope = new LessonScope() }, null, Ct);
        Assert.Equal((LessonStatus.PendingReview, GuardRules.ScopeRequiresApproval), (procedure.Status, Assert.Single(procedure.Rules)));
    }

    [Fact]
    public async Task Kinds_and_tools_that_always_need_a_reviewer_are_queued_even_when_everything_else_passes()
    {
        var policy = new AdmissionPolicy();
        policy.ReviewKinds.Add(LessonKind.Procedure);
        policy.ReviewTools.Add("refund_order");
        var guard = policy.Build();

        var byText = await guard.EvaluateAsync(HostileCorpus.Strong("Call lookup_order before refund_order."), null, Ct);
        var byScope = await guard.EvaluateAsync(HostileCorpus.Strong("Look the order up first.") with { Scope = new LessonScope { Tools = ["refund_order"] } }, null, Ct);
        var byKind = await guard.EvaluateAsync(HostileCorpus.Strong("Look the order up first.", LessonKind.Procedure), null, Ct);
        var neither = await guard.EvaluateAsync(HostileCorpus.Strong("Call hold_seat before book_flight."), null, Ct);

        Assert.Equal((LessonStatus.PendingReview, GuardRules.ReviewTool), (byText.Status, Assert.Single(byText.Rules)));
        // refund_order in scope is also a tool the lesson would make the agent call, and it changes state.
        Assert.Equal(LessonStatus.PendingReview, byScope.Status);
        Assert.Equal([GuardRules.ToolEffect, GuardRules.ReviewTool], byScope.Rules);
        Assert.Equal((LessonStatus.PendingReview, GuardRules.ReviewKind), (byKind.Status, Assert.Single(byKind.Rules)));
        Assert.Equal(LessonStatus.Active, neither.Status);
    }

    [Fact]
    public async Task Confidence_thresholds_are_per_kind()
    {
        var guard = new AdmissionPolicy().Build();
        Lesson At(double confidence, LessonKind kind) => HostileCorpus.Strong("Look the order up first.", kind) with { Confidence = confidence };

        Assert.Equal(LessonStatus.Active, (await guard.EvaluateAsync(At(0.55, LessonKind.ToolGuide), null, Ct)).Status);
        Assert.Equal(LessonStatus.PendingReview, (await guard.EvaluateAsync(At(0.55, LessonKind.Guideline), null, Ct)).Status);
        Assert.Equal(LessonStatus.Rejected, (await guard.EvaluateAsync(At(0.55, LessonKind.UserFact) with { Scope = new LessonScope { UnitKey = "u" } }, null, Ct)).Status);
        Assert.Equal(LessonStatus.Rejected, (await guard.EvaluateAsync(At(double.NaN, LessonKind.ToolGuide), null, Ct)).Status);
    }
}
