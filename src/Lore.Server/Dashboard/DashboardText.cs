using System.Globalization;

namespace Lore.Server.Dashboard;

/// <summary>The words the dashboard uses for the engine's states and audit actions.</summary>
internal static class DashboardText
{
    public static string Action(string action) => action switch
    {
        AuditActions.SnapshotCreated => "created",
        AuditActions.SnapshotShadow => "shadow",
        AuditActions.SnapshotCanary => "canary",
        AuditActions.CanaryGatePassed => "canary gate passed",
        AuditActions.CanaryGateFailed => "canary gate failed",
        AuditActions.SnapshotPromoted => "promoted",
        AuditActions.SnapshotRolledBack => "rolled back",
        AuditActions.Frozen => "frozen",
        AuditActions.Unfrozen => "unfrozen",
        AuditActions.LessonAdmitted => "lesson admitted",
        AuditActions.LessonRejected => "lesson quarantined",
        AuditActions.LessonQueuedForReview => "lesson queued for review",
        AuditActions.LessonRetired => "lesson retired",
        AuditActions.LessonAuthored => "lesson written",
        AuditActions.LessonEdited => "lesson edited",
        AuditActions.LessonPinned => "lesson pinned",
        AuditActions.LessonUnpinned => "lesson unpinned",
        AuditActions.ScreenOverridden => "content screen overridden",
        AuditActions.ReviewApproved => "review approved",
        AuditActions.ReviewRejected => "review rejected",
        AuditActions.ConfigurationChanged => "configuration changed",
        AuditActions.EpisodesDeleted => "episodes deleted",
        AuditActions.RetentionApplied => "retention applied",
        AuditActions.LearningRequested => "learning requested",
        AuditActions.ApiKeyCreated => "API key created",
        AuditActions.ApiKeyRevoked => "API key revoked",
        _ => action,
    };

    /// <summary>A CSS class per kind of event, so a rollback reads red and a promotion green at a glance.</summary>
    public static string Tone(string action) => action switch
    {
        AuditActions.SnapshotRolledBack or AuditActions.LessonRejected or AuditActions.CanaryGateFailed or AuditActions.ReviewRejected => "bad",
        AuditActions.SnapshotPromoted or AuditActions.ReviewApproved or AuditActions.CanaryGatePassed => "good",
        AuditActions.SnapshotCanary or AuditActions.SnapshotShadow or AuditActions.LessonQueuedForReview => "warn",
        AuditActions.Frozen or AuditActions.Unfrozen => "info",
        _ => "plain",
    };

    /// <summary>The filter's words for a status, the same as <see cref="LessonStatusNames"/>.</summary>
    public static string Status(LessonStatus status) => status switch
    {
        LessonStatus.Active => "active",
        LessonStatus.PendingReview => "pending review",
        LessonStatus.Rejected => "rejected",
        LessonStatus.Retired => "retired",
        _ => status.ToString(),
    };

    /// <summary>A lesson's status as <see cref="LessonStatusNames"/> words it (the CLI and the REST API say the same), as a value to filter on.</summary>
    public static LessonStatus EffectiveStatus(Lesson lesson) => LessonStatusNames.Of(lesson) switch
    {
        "rejected" => LessonStatus.Rejected,
        "pending review" => LessonStatus.PendingReview,
        "retired" => LessonStatus.Retired,
        _ => LessonStatus.Active,
    };

    public static string Kind(LessonKind kind) => kind switch
    {
        LessonKind.ToolGuide => "tool guide",
        LessonKind.AntiPattern => "anti-pattern",
        LessonKind.UserFact => "user fact",
        _ => kind.ToString().ToLowerInvariant(),
    };

    public static string Arm(string? arm) => arm switch
    {
        null => "no rollout",
        RolloutArms.Baseline => "baseline",
        RolloutArms.Candidate => "candidate",
        _ => arm,
    };

    public static string Outcome(double? score) => score switch
    {
        null => "not judged",
        >= 0.5 => "success",
        _ => "failure",
    };

    /// <summary>The measured effect as "+12.5 pts (63% of 40 with, 51% of 210 without)".</summary>
    public static string Effect(LessonEffect? effect)
    {
        if (effect is null)
        {
            return "not measured";
        }

        var points = (effect.Delta * 100).ToString("+0.0;-0.0;0.0", CultureInfo.InvariantCulture);
        return $"{points} pts ({H.Percent(effect.WithSuccessRate)} of {effect.WithCount} with, {H.Percent(effect.WithoutSuccessRate)} of {effect.WithoutCount} without)";
    }

    public static string Scope(LessonScope scope)
    {
        var parts = new List<string>();
        if (!string.IsNullOrEmpty(scope.UnitKey))
        {
            parts.Add($"unit {scope.UnitKey}");
        }

        parts.AddRange(scope.Labels.Select(l => $"{l.Key}={l.Value}"));
        if (scope.Tools.Count > 0)
        {
            parts.Add("tools " + string.Join(", ", scope.Tools));
        }

        return parts.Count == 0 ? "everywhere" : string.Join("; ", parts);
    }

    public static string Trigger(LessonTrigger trigger) => trigger.Kind switch
    {
        TriggerKind.Always => "always",
        TriggerKind.Keywords => "keywords: " + string.Join(", ", trigger.Keywords),
        _ => "tasks like: " + (trigger.Description ?? ""),
    };
}
