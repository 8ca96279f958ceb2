using System.Globalization;

namespace Lore;

/// <summary>One field that differs between two versions of a lesson or of the retrieval settings, as people read it.</summary>
public sealed record FieldChange(string Field, string Before, string After);

/// <summary>A lesson served by both snapshots whose served content differs.</summary>
public sealed record LessonChange(string LessonId, IReadOnlyList<FieldChange> Fields);

/// <summary>
/// What changed in what is served between two snapshots: lessons added, removed and changed (text, kind, trigger,
/// scope, confidence, evidence, extractor) and retrieval settings. It answers "what did this promotion change?".
/// </summary>
public sealed record SnapshotDiff(
    string FromId,
    string ToId,
    IReadOnlyList<Lesson> Added,
    IReadOnlyList<Lesson> Removed,
    IReadOnlyList<LessonChange> Changed,
    IReadOnlyList<FieldChange> Settings)
{
    /// <summary>True when both snapshots serve the same content.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsEmpty => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0 && Settings.Count == 0;

    /// <summary>Compares two snapshots (of any tenants; the caller decides whether that makes sense).</summary>
    public static SnapshotDiff Compare(Snapshot from, Snapshot to)
    {
        ArgumentNullException.ThrowIfNull(from);
        ArgumentNullException.ThrowIfNull(to);
        var before = from.Lessons.ToDictionary(l => l.Id, StringComparer.Ordinal);
        var after = to.Lessons.ToDictionary(l => l.Id, StringComparer.Ordinal);
        var added = to.Lessons.Where(l => !before.ContainsKey(l.Id)).OrderBy(l => l.Id, StringComparer.Ordinal).ToArray();
        var removed = from.Lessons.Where(l => !after.ContainsKey(l.Id)).OrderBy(l => l.Id, StringComparer.Ordinal).ToArray();
        var changed = new List<LessonChange>();
        foreach (var lesson in to.Lessons.OrderBy(l => l.Id, StringComparer.Ordinal))
        {
            if (before.TryGetValue(lesson.Id, out var old))
            {
                var fields = CompareLessons(old, lesson);
                if (fields.Count > 0)
                {
                    changed.Add(new LessonChange(lesson.Id, fields));
                }
            }
        }

        return new SnapshotDiff(from.Id, to.Id, added, removed, changed, CompareSettings(from.Settings, to.Settings));
    }

    private static List<FieldChange> CompareLessons(Lesson a, Lesson b)
    {
        var fields = new List<FieldChange>();
        void Field(string name, string before, string after)
        {
            if (!string.Equals(before, after, StringComparison.Ordinal))
            {
                fields.Add(new FieldChange(name, before, after));
            }
        }

        Field("text", a.Text, b.Text);
        Field("kind", a.Kind.ToString(), b.Kind.ToString());
        Field("trigger", LessonDescription.Trigger(a.Trigger), LessonDescription.Trigger(b.Trigger));
        Field("scope", LessonDescription.Scope(a.Scope), LessonDescription.Scope(b.Scope));
        Field("confidence", Number(a.Confidence), Number(b.Confidence));
        Field("evidence", LessonDescription.EvidenceCounts(a.Evidence), LessonDescription.EvidenceCounts(b.Evidence));
        Field("extractor", $"{a.Extractor.Name} {a.Extractor.Version}", $"{b.Extractor.Name} {b.Extractor.Version}");
        return fields;
    }

    private static List<FieldChange> CompareSettings(RetrievalSettings a, RetrievalSettings b)
    {
        var fields = new List<FieldChange>();
        void Field(string name, string before, string after)
        {
            if (!string.Equals(before, after, StringComparison.Ordinal))
            {
                fields.Add(new FieldChange(name, before, after));
            }
        }

        Field("topK", a.TopK.ToString(CultureInfo.InvariantCulture), b.TopK.ToString(CultureInfo.InvariantCulture));
        Field("minScore", a.MinScore.ToString("R", CultureInfo.InvariantCulture), b.MinScore.ToString("R", CultureInfo.InvariantCulture));
        Field("tokenBudget", a.TokenBudget.ToString(CultureInfo.InvariantCulture), b.TokenBudget.ToString(CultureInfo.InvariantCulture));
        Field("lexicalWeight", a.LexicalWeight.ToString("R", CultureInfo.InvariantCulture), b.LexicalWeight.ToString("R", CultureInfo.InvariantCulture));
        Field("sectionTitle", a.SectionTitle, b.SectionTitle);
        return fields;
    }

    /// <summary>Confidence to three decimals: finer differences are noise from re-scoring, not a change anyone acts on.</summary>
    private static string Number(double value) => value.ToString("0.000", CultureInfo.InvariantCulture);
}

/// <summary>The one-line descriptions of a lesson's parts that diffs, lineages and listings share.</summary>
internal static class LessonDescription
{
    public static string Trigger(LessonTrigger trigger) => trigger.Kind switch
    {
        TriggerKind.Always => "always",
        TriggerKind.Keywords => "keywords: " + string.Join(", ", trigger.Keywords),
        _ => "description: " + (trigger.Description ?? ""),
    };

    public static string Scope(LessonScope scope)
    {
        var parts = new List<string> { "tenant " + scope.Tenant };
        if (scope.UnitKey is { } unit)
        {
            parts.Add("unit " + unit);
        }

        if (scope.Labels.Count > 0)
        {
            parts.Add("labels " + string.Join(",", scope.Labels.Select(p => $"{p.Key}={p.Value}")));
        }

        if (scope.Tools.Count > 0)
        {
            parts.Add("tools " + string.Join(",", scope.Tools));
        }

        return string.Join("; ", parts);
    }

    public static string EvidenceCounts(LessonEvidence evidence)
        => string.Create(CultureInfo.InvariantCulture, $"{evidence.EpisodeCount} episodes from {evidence.DistinctSources} sources, support {evidence.Support}");
}
