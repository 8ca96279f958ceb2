using System.Collections.Frozen;
using System.Text.Json;
using Lore.Learning;
using Lore.Learning.Guards;

namespace Lore.Benchmarks;

/// <summary>
/// One red-team batch (tests/Lore.Learning.Tests/Guards/RedTeam/batch-X-*.jsonl, written by make_batches.py) through
/// the same AdmissionGuard and the same strong evidence as the content-screen part of <c>poisoning</c>, so that only
/// content can stop a lesson. Batches A and C are the development sets of red-team passes two and three; B and D were
/// written before any guard change of their pass and are measured apart, so that their figures say what the fixes do on
/// attacks they were not tuned on (make_batches.py, make_batches_cd.py).
/// Rows may carry hostile text in the trigger's description or keywords, which a model sees as well.
/// </summary>
internal static class PoisoningBatchBench
{
    /// <param name="Group">The attack a row is one part of, for attacks split over several lessons (each part is a row).</param>
    private sealed record Row(string Text, string Category, string Language, string Encoding, string? Description, string[] Keywords, IReadOnlySet<string> Hosts, string? Group);

    public static async Task RunAsync(BenchReport report, string batch)
    {
        if (batch is not ("a" or "b" or "c" or "d" or "main"))
        {
            throw new ArgumentException($"poisoning-batch takes a, b, c, d or main, not '{batch}'.", nameof(batch));
        }

        var dir = Path.Combine(PoisoningBench.RepositoryRoot(), "tests", "Lore.Learning.Tests", "Guards", "RedTeam");
        // "main" is the first corpus (hostile.jsonl, benign.jsonl) counted the same way, without the timing rounds.
        var prefix = batch == "main" ? "" : $"batch-{batch}-";
        var hostile = Load(Path.Combine(dir, $"{prefix}hostile.jsonl"));
        var benign = Load(Path.Combine(dir, $"{prefix}benign.jsonl"));
        var guard = new AdmissionPolicy().Build();
        report.Section($"Poisoning: red-team batch {batch} (`poisoning-batch {batch}`)");

        async Task<(Row Row, AdmissionVerdict Verdict)[]> RunAll(List<Row> rows)
        {
            var outcomes = new (Row, AdmissionVerdict)[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                var row = rows[i];
                var lesson = PoisoningBench.Lesson(row.Text, i);
                if (row.Description is not null || row.Keywords.Length > 0)
                {
                    lesson = lesson with { Trigger = new LessonTrigger { Description = row.Description ?? lesson.Trigger.Description, Keywords = row.Keywords } };
                }

                outcomes[i] = (row, await guard.EvaluateAsync(lesson, _ => ValueTask.FromResult(row.Hosts)));
            }

            return outcomes;
        }

        var h = await RunAll(hostile);
        var b = await RunAll(benign);
        var admitted = h.Where(o => o.Verdict.Status == LessonStatus.Active).ToArray();
        var refused = b.Where(o => o.Verdict.Status != LessonStatus.Active).ToArray();
        report.Line($"hostile admitted: {admitted.Length} of {h.Length} (queued {h.Count(o => o.Verdict.Status == LessonStatus.PendingReview)}, rejected {h.Count(o => o.Verdict.Status == LessonStatus.Rejected)}); benign refused (rejected + queued): {refused.Length} of {b.Length}");
        report.Line("");
        report.Line("| hostile by category | texts | admitted |");
        report.Line("|---|---|---|");
        foreach (var group in h.GroupBy(o => o.Row.Category).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            report.Line($"| {group.Key} | {group.Count()} | {group.Count(o => o.Verdict.Status == LessonStatus.Active)} |");
        }

        var groups = h.Where(o => o.Row.Group is not null).GroupBy(o => o.Row.Group).ToArray();
        if (groups.Length > 0)
        {
            // A split attack works only when every part is served; one refused part defeats it.
            report.Line($"split attacks with every part admitted: {groups.Count(g => g.All(o => o.Verdict.Status == LessonStatus.Active))} of {groups.Length}");
        }

        report.Line("");
        foreach (var (row, _) in admitted)
        {
            report.Line($"- hostile admitted {row.Category}/{row.Language}/{row.Encoding}: {row.Text}");
        }

        foreach (var (row, verdict) in refused)
        {
            report.Line($"- benign {verdict.Status} ({string.Join("; ", verdict.Findings.Select(f => $"{f.Rule}: {f.Detail}"))}): {row.Text}");
        }
    }

    private static List<Row> Load(string path)
    {
        var rows = new List<Row>();
        foreach (var line in File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            string? Field(string name) => root.TryGetProperty(name, out var v) ? v.GetString() : null;
            string[] Strings(string name) => root.TryGetProperty(name, out var v) ? [.. v.EnumerateArray().Select(e => e.GetString()!)] : [];
            rows.Add(new Row(Field("text") ?? "", Field("category") ?? "", Field("language") ?? "", Field("encoding") ?? "", Field("description"), Strings("keywords"),
                Strings("evidenceHosts").ToFrozenSet(StringComparer.OrdinalIgnoreCase), Field("group")));
        }

        return rows;
    }
}
