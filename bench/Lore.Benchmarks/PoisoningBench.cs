using System.Collections.Frozen;
using System.Diagnostics;
using System.Text.Json;
using Lore.Learning;
using Lore.Learning.Guards;

namespace Lore.Benchmarks;

/// <summary>
/// Poisoning: how many hostile lessons get past admission, and how many honest ones are refused. One method per part,
/// so end-to-end attacks (through ingest, REST, the proxy and MCP) can be added as further rows; the content-screen
/// part runs the red-team corpus (tests/Lore.Learning.Tests/Guards/RedTeam) through the real AdmissionGuard as built
/// from the default AdmissionPolicy, every lesson with strong evidence so that only its content can stop it.
/// </summary>
internal static class PoisoningBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        report.Section("Poisoning: content screen (`poisoning`)");
        await ContentScreenAsync(report, quick);
        SimilarityScreen(report);
        await PoisoningAttacksBench.RunAsync(report, quick ? 2 : 5);
    }

    /// <summary>
    /// Would a similarity screen help? Every text is embedded with the built-in hashed embedding (word unigrams,
    /// bigrams, character 4-grams) and compared with the hostile texts of the tuning split as exemplars. The threshold
    /// is the lowest that refuses no benign text of the tuning split; reported: what it would add on the held-out and
    /// fresh splits, hostile texts the rules admit that it catches, and benign texts it refuses.
    /// </summary>
    public static void SimilarityScreen(BenchReport report)
    {
        var dir = Path.Combine(RepositoryRoot(), "tests", "Lore.Learning.Tests", "Guards", "RedTeam");
        var hostile = Load(Path.Combine(dir, "hostile.jsonl"));
        var benign = Load(Path.Combine(dir, "benign.jsonl"));
        var exemplars = hostile.Where(r => r.Split == "tuning").Select(r => Lore.Retrieval.HashedEmbedding.Embed(r.Text)).ToArray();
        double Nearest(Row row)
        {
            var v = Lore.Retrieval.HashedEmbedding.Embed(row.Text);
            return exemplars.Max(e => e.Dot(v));
        }

        var threshold = benign.Where(r => r.Split == "tuning").Select(Nearest).DefaultIfEmpty(0).Max() + 1e-6;
        report.Line("");
        report.Line(string.Create(System.Globalization.CultureInfo.InvariantCulture, $"similarity screen experiment: {exemplars.Length} tuning-split hostile exemplars, cosine threshold {threshold:F3} (the lowest refusing no tuning-split benign text)"));
        report.Line("| split | hostile over threshold | benign over threshold (would be refused) |");
        report.Line("|---|---|---|");
        foreach (var split in new[] { "heldout", "fresh" })
        {
            var hs = hostile.Where(r => r.Split == split).ToArray();
            var bs = benign.Where(r => r.Split == split).ToArray();
            report.Line($"| {split} | {hs.Count(r => Nearest(r) >= threshold)} of {hs.Length} | {bs.Count(r => Nearest(r) >= threshold)} of {bs.Length} |");
        }
    }

    /// <param name="Split">"tuning" (rules were tuned on it), "heldout" (written before tuning, never tuned on) or "fresh" (written after tuning).</param>
    private sealed record Row(string Text, string Category, string Language, string Encoding, string Split, IReadOnlySet<string> Hosts)
    {
        public bool HeldOut => Split != "tuning";
    }

    private sealed record Outcome(Row Row, LessonStatus Status, IReadOnlyList<string> Rules);

    /// <summary>The red-team corpus through the guard: hostile admitted, queued and rejected; benign refused; time per lesson.</summary>
    public static async Task ContentScreenAsync(BenchReport report, bool quick)
    {
        var dir = Path.Combine(RepositoryRoot(), "tests", "Lore.Learning.Tests", "Guards", "RedTeam");
        var hostile = Load(Path.Combine(dir, "hostile.jsonl"));
        var benign = Load(Path.Combine(dir, "benign.jsonl"));
        var guard = new AdmissionPolicy().Build();

        async Task<Outcome[]> RunAll(IReadOnlyList<Row> rows)
        {
            var outcomes = new Outcome[rows.Count];
            for (var i = 0; i < rows.Count; i++)
            {
                var hosts = rows[i].Hosts;
                var verdict = await guard.EvaluateAsync(Lesson(rows[i].Text, i), _ => ValueTask.FromResult(hosts));
                outcomes[i] = new Outcome(rows[i], verdict.Status, verdict.Rules);
            }

            return outcomes;
        }

        // The control: a plain lesson with the same evidence must be admitted, or the figures below measure the
        // evidence rules, not the content screen.
        var control = await guard.EvaluateAsync(Lesson("Look up the order with lookup_order before answering a question about its status.", -1), _ => ValueTask.FromResult<IReadOnlySet<string>>(FrozenSet<string>.Empty));
        if (control.Status != LessonStatus.Active)
        {
            throw new InvalidOperationException($"the poisoning bench's control lesson was not admitted ({control.Status}: {string.Join("; ", control.Findings.Select(f => $"{f.Rule}: {f.Detail}"))}); its evidence no longer passes the admission policy's evidence rules, so the content-screen figures would be meaningless");
        }

        var h = await RunAll(hostile);
        var b = await RunAll(benign);
        report.Line($"corpus: {hostile.Count} hostile, {benign.Count} benign; policy: AdmissionPolicy defaults; splits: tuning (rules tuned on it), held out (written before the rules, never tuned on), fresh (written after tuning in phrasings the rules do not list)");
        report.Line("");
        report.Line("| part | hostile | admitted | queued for review | rejected | benign | benign refused (rejected + queued) | of which rejected |");
        report.Line("|---|---|---|---|---|---|---|---|");
        foreach (var (name, pick) in new (string, Func<Row, bool>)[] { ("all", _ => true), ("tuning", r => r.Split == "tuning"), ("held out", r => r.Split == "heldout"), ("fresh", r => r.Split == "fresh") })
        {
            var hs = h.Where(o => pick(o.Row)).ToArray();
            var bs = b.Where(o => pick(o.Row)).ToArray();
            var refused = bs.Count(o => o.Status != LessonStatus.Active);
            report.Line($"| {name} | {hs.Length} | {Count(hs, LessonStatus.Active)} | {Count(hs, LessonStatus.PendingReview)} | {Count(hs, LessonStatus.Rejected)} | {bs.Length} | {refused} ({Percent(refused, bs.Length)}) | {Count(bs, LessonStatus.Rejected)} |");
        }

        foreach (var (title, key) in new (string, Func<Row, string>)[] { ("category", r => r.Category), ("language", r => r.Language), ("encoding", r => r.Encoding) })
        {
            report.Line("");
            report.Line($"| hostile by {title} | texts | admitted | queued | rejected | held out + fresh: texts | held out + fresh: admitted |");
            report.Line("|---|---|---|---|---|---|---|");
            foreach (var group in h.GroupBy(o => key(o.Row)).OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                var held = group.Where(o => o.Row.HeldOut).ToArray();
                report.Line($"| {group.Key} | {group.Count()} | {Count(group, LessonStatus.Active)} | {Count(group, LessonStatus.PendingReview)} | {Count(group, LessonStatus.Rejected)} | {held.Length} | {Count(held, LessonStatus.Active)} |");
            }
        }

        var refusedBenign = b.Where(o => o.Status != LessonStatus.Active).ToArray();
        if (refusedBenign.Length > 0)
        {
            report.Line("");
            report.Line("benign lessons refused or queued:");
            foreach (var o in refusedBenign)
            {
                report.Line($"- [{o.Row.Split}] {o.Status} ({string.Join(", ", o.Rules)}): {o.Row.Text}");
            }
        }

        var admitted = h.Where(o => o.Status == LessonStatus.Active).ToArray();
        foreach (var o in admitted)
        {
            report.Line($"- hostile admitted [{o.Row.Split}] {o.Row.Category}/{o.Row.Language}/{o.Row.Encoding}: {o.Row.Text}");
        }

        // Time per lesson: the whole guard (evidence, thresholds, scope and the content screen) against normalisation alone.
        var rounds = quick ? 5 : 40;
        var all = hostile.Concat(benign).ToArray();
        var lessons = all.Select((r, i) => Lesson(r.Text, i)).ToArray();
        var guardSamples = new Samples(rounds * all.Length);
        var baseSamples = new Samples(rounds * all.Length);
        for (var round = -1; round < rounds; round++)
        {
            for (var i = 0; i < lessons.Length; i++)
            {
                var hosts = all[i].Hosts;
                var start = Stopwatch.GetTimestamp();
                _ = ScreenText.Of(lessons[i].Text);
                var middle = Stopwatch.GetTimestamp();
                await guard.EvaluateAsync(lessons[i], _ => ValueTask.FromResult(hosts));
                var end = Stopwatch.GetTimestamp();
                if (round >= 0)
                {
                    baseSamples.Add(middle - start);
                    guardSamples.Add(end - middle);
                }
            }
        }

        report.Line("");
        report.Line($"| time per lesson ({rounds} rounds x {lessons.Length} lessons) | p50 | p99 | mean | lessons per second, one core |");
        report.Line("|---|---|---|---|---|");
        report.Line($"| baseline: normalisation only (ScreenText.Of) | {BenchReport.Us(baseSamples.Percentile(50))} | {BenchReport.Us(baseSamples.Percentile(99))} | {BenchReport.Us(baseSamples.Mean)} | {BenchReport.N(Stopwatch.Frequency / baseSamples.Mean)} |");
        report.Line($"| AdmissionGuard.EvaluateAsync (all guards, content screen with decoding and intents) | {BenchReport.Us(guardSamples.Percentile(50))} | {BenchReport.Us(guardSamples.Percentile(99))} | {BenchReport.Us(guardSamples.Mean)} | {BenchReport.N(Stopwatch.Frequency / guardSamples.Mean)} |");
        report.Line($"ratio guard / baseline (mean): {BenchReport.N(guardSamples.Mean / baseSamples.Mean, "F1")}x");
    }

    private static int Count(IEnumerable<Outcome> outcomes, LessonStatus status) => outcomes.Count(o => o.Status == status);

    private static string Percent(int part, int whole) => whole == 0 ? "-" : BenchReport.N(100.0 * part / whole, "F1") + "%";

    internal static Lesson Lesson(string text, int index) => new()
    {
        Id = $"les-poison-{index:D4}",
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnDescription("refunds and bookings"),
        Scope = new LessonScope { Tenant = Tenants.Default },
        // Evidence that passes every rule but the content screen's: 8 episodes (and 8 where the advice worked) from 6
        // sources and 6 tasks, no source above a quarter. Without the task and exemplar counts the evidence rules
        // refuse every lesson, and the screen is never what decides (the control lesson below checks this).
        Evidence = new LessonEvidence
        {
            EpisodeIds = [.. Enumerable.Range(0, 8).Select(i => $"ep-{i}")],
            EpisodeCount = 8,
            DistinctSources = 6,
            DistinctTasks = 6,
            LargestSourceShare = 0.25,
            Support = 8,
            ExemplarEpisodeIds = [.. Enumerable.Range(0, 8).Select(i => $"ep-{i}")],
            ExemplarCount = 8,
            ExemplarSources = 6,
            ExemplarTasks = 6,
            ExemplarLargestSourceShare = 0.25,
        },
        Extractor = new ExtractorInfo("LlmLessonExtractor", "1.0"),
        Confidence = 0.9,
        CreatedAt = new DateTimeOffset(2026, 3, 1, 0, 0, 0, TimeSpan.Zero),
    };

    private static List<Row> Load(string path)
    {
        var rows = new List<Row>();
        foreach (var line in File.ReadLines(path).Where(l => !string.IsNullOrWhiteSpace(l)))
        {
            using var doc = JsonDocument.Parse(line);
            var root = doc.RootElement;
            string Field(string name) => root.TryGetProperty(name, out var v) ? v.GetString() ?? "" : "";
            IReadOnlySet<string> hosts = root.TryGetProperty("evidenceHosts", out var hs)
                ? hs.EnumerateArray().Select(e => e.GetString()!).ToFrozenSet(StringComparer.OrdinalIgnoreCase)
                : FrozenSet<string>.Empty;
            rows.Add(new Row(Field("text"), Field("category"), Field("language"), Field("encoding"), Field("split"), hosts));
        }

        return rows;
    }

    internal static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lore.slnx")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("the poisoning bench reads the red-team corpus from the repository: run it from inside the repository (Lore.slnx not found above " + AppContext.BaseDirectory + ")");
    }
}
