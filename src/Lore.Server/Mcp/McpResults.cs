using System.Text.Json;
using System.Text.Json.Serialization;

namespace Lore.Server.Mcp;

// What the MCP tools return, as structured content (and the same JSON as text). Field names are snake_case like the
// tools' arguments, so an agent can pass episode_id and lesson ids straight back; an absent value is written as null
// (no snapshot yet, no rollout arm) rather than left out, so the shape never changes under the agent.

/// <summary>The lessons that apply to a task now, with the snapshot and arm they come from.</summary>
internal sealed record Guidelines(
    [property: JsonPropertyName("episode_id")] string EpisodeId,
    [property: JsonPropertyName("snapshot_id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SnapshotId,
    [property: JsonPropertyName("arm"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Arm,
    [property: JsonPropertyName("section"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Section,
    [property: JsonPropertyName("lessons")] IReadOnlyList<GuidelineLesson> Lessons);

/// <summary>One lesson picked for the task and how well it matched.</summary>
internal sealed record GuidelineLesson(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("score")] double Score);

/// <summary>An episode stored by record_trajectory.</summary>
internal sealed record RecordedEpisode(
    [property: JsonPropertyName("episode_id")] string EpisodeId,
    [property: JsonPropertyName("task")] string Task,
    [property: JsonPropertyName("unit")] string Unit,
    [property: JsonPropertyName("steps")] int Steps,
    [property: JsonPropertyName("snapshot_id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SnapshotId,
    [property: JsonPropertyName("arm"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Arm,
    [property: JsonPropertyName("lesson_ids")] IReadOnlyList<string> LessonIds,
    [property: JsonPropertyName("score"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] double? Score);

/// <summary>An outcome added by record_outcome.</summary>
internal sealed record RecordedOutcome(
    [property: JsonPropertyName("episode_id")] string EpisodeId,
    [property: JsonPropertyName("score")] double Score,
    [property: JsonPropertyName("source")] string Source,
    [property: JsonPropertyName("succeeded")] bool Succeeded);

/// <summary>Lessons of the snapshot serving the tenant.</summary>
internal sealed record LessonList(
    [property: JsonPropertyName("snapshot_id"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? SnapshotId,
    [property: JsonPropertyName("total")] int Total,
    [property: JsonPropertyName("lessons")] IReadOnlyList<LessonSummary> Lessons);

/// <summary>One lesson as list_lessons shows it: what it says and where it applies.</summary>
internal sealed record LessonSummary(
    [property: JsonPropertyName("id")] string Id,
    [property: JsonPropertyName("kind")] string Kind,
    [property: JsonPropertyName("text")] string Text,
    [property: JsonPropertyName("confidence")] double Confidence,
    [property: JsonPropertyName("unit"), JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Unit,
    [property: JsonPropertyName("labels")] IReadOnlyDictionary<string, string> Labels,
    [property: JsonPropertyName("tools")] IReadOnlyList<string> Tools)
{
    public static LessonSummary From(Lesson lesson) => new(
        lesson.Id,
        KindName(lesson.Kind),
        lesson.Text,
        lesson.Confidence,
        lesson.Scope.UnitKey,
        lesson.Scope.Labels,
        lesson.Scope.Tools);

    /// <summary>The kind as Lore's JSON spells it everywhere else (camelCase).</summary>
    public static string KindName(LessonKind kind) => JsonNamingPolicy.CamelCase.ConvertName(kind.ToString());
}
