using Lore.Learning.Guards;

namespace Lore.Learning.Tests.Guards.RedTeam;

/// <summary>
/// The red-team passes' assertions: a text as a lesson with strong evidence through the guard of the default policy,
/// so only the content screen (and the tool-effect review) decides whether it is refused or admitted.
/// </summary>
internal static class ScreenVerdicts
{
    public static AdmissionGuard DefaultGuard { get; } = new AdmissionPolicy().Build();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static async Task<AdmissionVerdict> EvaluateAsync(string text, string? description = null)
    {
        var lesson = HostileCorpus.Strong(text);
        if (description is not null)
        {
            lesson = lesson with { Trigger = LessonTrigger.OnDescription(description) };
        }

        return await DefaultGuard.EvaluateAsync(lesson, null, Ct);
    }

    public static async Task AssertRefusedAsync(string text, string rule, LessonStatus status = LessonStatus.Rejected)
    {
        var verdict = await EvaluateAsync(text);
        Assert.True(verdict.Status == status && verdict.Rules.Contains(rule), $"{text}: expected {status} by {rule}, got {verdict.Status} ({Describe(verdict)})");
    }

    /// <summary>Refused (rejected or queued) with <paramref name="rule"/> among the findings, whichever the status.</summary>
    public static async Task AssertNotAdmittedAsync(string text, string rule)
    {
        var verdict = await EvaluateAsync(text);
        Assert.True(verdict.Status != LessonStatus.Active && verdict.Rules.Contains(rule), $"{text}: expected refused by {rule}, got {verdict.Status} ({Describe(verdict)})");
    }

    public static async Task AssertAdmittedAsync(string text)
    {
        var verdict = await EvaluateAsync(text);
        Assert.True(verdict.Status == LessonStatus.Active, $"{text}: expected admitted, got {verdict.Status} ({Describe(verdict)})");
    }

    private static string Describe(AdmissionVerdict verdict) => string.Join("; ", verdict.Findings.Select(f => $"{f.Rule}: {f.Detail}"));
}
