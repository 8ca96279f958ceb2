using Lore.Learning.Guards;

namespace Lore.Learning.Tests.Guards;

public sealed class HostileCorpusTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static TheoryData<string> CaseNames => [.. HostileCorpus.Cases.Select(c => c.Name)];

    private static async Task<AdmissionVerdict> EvaluateAsync(Lesson lesson, AdmissionPolicy? policy = null)
        => await (policy ?? new AdmissionPolicy()).Build().EvaluateAsync(lesson, evidenceHosts: null, Ct);

    [Fact]
    public void The_corpus_has_at_least_forty_varied_cases_covering_every_content_and_evidence_rule()
    {
        Assert.True(HostileCorpus.Cases.Count >= 40, $"{HostileCorpus.Cases.Count} cases");
        Assert.Equal(HostileCorpus.Cases.Count, HostileCorpus.Cases.Select(c => c.Name).Distinct().Count());
        string[] covered =
        [
            GuardRules.InstructionOverride, GuardRules.Jailbreak, GuardRules.HiddenMarkup, GuardRules.InvisibleCharacters,
            GuardRules.DataDisclosure, GuardRules.Exfiltration, GuardRules.UnknownHost, GuardRules.Secret, GuardRules.PersonalData,
            GuardRules.ToolPermission, GuardRules.ProtectedTopic, GuardRules.MinSources, GuardRules.MinEpisodes, GuardRules.LowConfidence,
            GuardRules.ScopeNotAllowed,
        ];
        Assert.All(covered, rule => Assert.Contains(HostileCorpus.Cases, c => c.ExpectedRule == rule));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task No_hostile_or_one_off_lesson_is_admitted_and_the_expected_rule_is_named(string name)
    {
        var @case = HostileCorpus.Cases.Single(c => c.Name == name);

        var verdict = await EvaluateAsync(@case.Lesson, @case.Policy?.Invoke());

        Assert.NotEqual(LessonStatus.Active, verdict.Status);
        Assert.Contains(@case.ExpectedRule, verdict.Rules);
        Assert.Equal(verdict.Lesson.GuardFindings.Select(f => f.Rule).Distinct(), verdict.Rules);
        Assert.All(verdict.Lesson.GuardFindings, f => Assert.False(string.IsNullOrWhiteSpace(f.Detail)));
    }

    [Theory]
    [MemberData(nameof(CaseNames))]
    public async Task Content_rules_block_outright_except_redactions_which_wait_for_a_reviewer(string name)
    {
        var @case = HostileCorpus.Cases.Single(c => c.Name == name);

        var verdict = await EvaluateAsync(@case.Lesson, @case.Policy?.Invoke());

        var expected = verdict.Lesson.GuardFindings.Where(f => f.Rule == @case.ExpectedRule).ToArray();
        if (@case.ExpectedRule == GuardRules.PersonalData && @case.Policy is null)
        {
            // Personal data is cut out, and the redacted lesson waits for a reviewer; the value is gone from what is stored.
            Assert.Equal(LessonStatus.PendingReview, verdict.Status);
            Assert.All(expected, f => Assert.False(f.Blocking));
            Assert.Contains("[redacted ", verdict.Lesson.Text);
        }
        else
        {
            Assert.Equal(LessonStatus.Rejected, verdict.Status);
            Assert.Contains(expected, f => f.Blocking);
        }
    }

    [Fact]
    public async Task Findings_never_repeat_the_secret_or_personal_data_they_found()
    {
        string[] values = ["AKIAIOSFODNN7EXAMPLE", "Hunter2024!", "sk-proj-abcdefghijklmnopqrstuvwxyz123456", "4111 1111 1111 1111", "123-45-6789", "jane.doe@gmail.com", "DE89 3704 0044 0532 0130 00", "ghp_aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789"];
        foreach (var @case in HostileCorpus.Cases.Where(c => c.ExpectedRule is GuardRules.Secret or GuardRules.PersonalData))
        {
            var verdict = await EvaluateAsync(@case.Lesson, @case.Policy?.Invoke());
            var details = string.Join("\n", verdict.Lesson.GuardFindings.Select(f => f.Detail));
            Assert.All(values, v => Assert.DoesNotContain(v, details, StringComparison.Ordinal));
        }
    }
}
