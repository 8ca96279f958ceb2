namespace Lore;

/// <summary>
/// The words people read for a lesson's admission status, applying the store's rule that a lesson with a retirement
/// date counts as retired unless it was rejected: one wording for the CLI, the REST API and the dashboard.
/// </summary>
public static class LessonStatusNames
{
    /// <summary>"active", "pending review", "rejected" or "retired".</summary>
    public static string Of(Lesson lesson)
    {
        ArgumentNullException.ThrowIfNull(lesson);
        return lesson.Status switch
        {
            LessonStatus.Rejected => "rejected",
            LessonStatus.PendingReview => "pending review",
            _ when lesson.IsRetired || lesson.Status == LessonStatus.Retired => "retired",
            _ => "active",
        };
    }
}
