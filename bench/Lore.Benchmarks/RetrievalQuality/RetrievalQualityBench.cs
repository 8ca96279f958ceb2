using System.Collections.Immutable;
using System.Diagnostics;
using System.Text.Json;
using Lore.Embeddings.MiniLM;
using Lore.Retrieval;

namespace Lore.Benchmarks.RetrievalQuality;

/// <summary>
/// Retrieval relevance, not speed alone: a labelled set of lessons and tasks (retrieval-labels.json) scored by
/// recall@5 and nDCG@5 for BM25 only, the built-in hashed embedding, MiniLM, and the hybrids, per kind of task
/// (worded like the lesson, paraphrased with no shared word, real airline and workplace tasks); then index build
/// time, retained memory and query latency of each vector half per lesson count.
/// </summary>
internal static class RetrievalQualityBench
{
    private const int K = 5;

    private static readonly Method[] Methods =
    [
        new("BM25 only", 1.0, Dense: false),
        new("hashed embedding only", 0.0, Dense: false),
        new("BM25 + hashed (the default)", 0.5, Dense: false),
        new("MiniLM only", 0.0, Dense: true),
        new("BM25 + MiniLM (hybrid, lexical weight 0.5: the default)", 0.5, Dense: true),
        new("BM25 + MiniLM (hybrid, lexical weight 0.3)", 0.3, Dense: true),
        new("BM25 + MiniLM (hybrid, lexical weight 0.2)", 0.2, Dense: true),
    ];

    public static async Task RunAsync(BenchReport report, bool quick)
    {
        var set = LabelledSet.Load(Path.Combine(AppContext.BaseDirectory, "RetrievalQuality", "retrieval-labels.json"));
        var loadStarted = Stopwatch.GetTimestamp();
        using var minilm = new MiniLmEmbeddingGenerator();
        var loadTime = Stopwatch.GetElapsedTime(loadStarted);
        var embeddings = new LessonEmbeddingCache(minilm, keepBuilds: 1_000);
        var queryVectors = (await minilm.GenerateAsync(set.Queries.Select(q => q.Task))).Select(e => e.Vector).ToArray();

        report.Section($"Retrieval quality ({set.Lessons.Count} labelled lessons, {set.Queries.Count} labelled tasks; recall@{K} / nDCG@{K})");
        report.Line($"MiniLM model load: {loadTime.TotalSeconds:F1} s. Kinds: lexical = worded like the lesson; paraphrase = no content word in common with the relevant lesson (checked on load); airline = first user message of tau-bench airline dev tasks; workplace = simulated workplace tickets.");
        foreach (var distractors in new[] { 0, 1_000 })
        {
            report.Line("");
            report.Line(distractors == 0 ? "Labelled lessons only:" : $"With {distractors:N0} synthetic distractor lessons beside them:");
            var kinds = set.Queries.Select(q => q.Kind).Distinct().ToArray();
            report.Line($"| method | {string.Join(" | ", kinds.Select(k => $"{k} ({set.Queries.Count(q => q.Kind == k)})"))} | all ({set.Queries.Count}) |");
            report.Line($"|---|{string.Concat(Enumerable.Repeat("---|", kinds.Length + 1))}");
            var lessons = set.Lessons.Concat(SyntheticLessons.Create(distractors, seed: 5)).ToArray();
            foreach (var method in Methods)
            {
                var index = await BuildAsync(lessons, method, embeddings);
                var scores = set.Queries.Select((q, i) => Score(index, q, method.Dense ? queryVectors[i] : default)).ToArray();
                string Cell(IEnumerable<int> which)
                {
                    var picked = which.Select(i => scores[i]).ToArray();
                    return $"{picked.Average(s => s.Recall):P0} / {picked.Average(s => s.Ndcg):F2}";
                }

                var cells = kinds.Select(k => Cell(Enumerable.Range(0, set.Queries.Count).Where(i => set.Queries[i].Kind == k)));
                report.Line($"| {method.Name} | {string.Join(" | ", cells)} | {Cell(Enumerable.Range(0, set.Queries.Count))} |");
            }
        }

        await CostAsync(report, quick, set, minilm);
    }

    /// <summary>Build time, retained memory and per-query latency of each vector half at growing lesson counts.</summary>
    private static async Task CostAsync(BenchReport report, bool quick, LabelledSet set, MiniLmEmbeddingGenerator minilm)
    {
        report.Section("Retrieval cost per lesson count (labelled lessons plus synthetic ones; hybrid weights)");
        report.Line("| lessons | vector half | index build | retained memory | per lesson | retrieval p50 | retrieval p99 | query embedding p50 | query embedding p99 |");
        report.Line("|---|---|---|---|---|---|---|---|---|");
        var texts = set.Queries.Select(q => q.Task).ToArray();
        foreach (var count in quick ? new[] { 1_000 } : [1_000, 10_000])
        {
            var lessons = set.Lessons.Concat(SyntheticLessons.Create(count - set.Lessons.Count, seed: 9)).ToArray();
            foreach (var dense in new[] { false, true })
            {
                var method = new Method("cost", 0.5, dense);

                // A fresh cache each time, so the build embeds every lesson (what a first load of the snapshot costs).
                var cache = dense ? new LessonEmbeddingCache(minilm, keepBuilds: 1) : null;
                var before = GC.GetTotalMemory(forceFullCollection: true);
                var started = Stopwatch.GetTimestamp();
                var index = await BuildAsync(lessons, method, cache);
                var build = Stopwatch.GetElapsedTime(started);
                var retained = GC.GetTotalMemory(forceFullCollection: true) - before;

                var embedding = new Samples(texts.Length * 2);
                var vectors = new ReadOnlyMemory<float>[texts.Length];
                if (dense)
                {
                    // Each query alone, as a model call embeds it (twice over, distinct texts: no cache helps).
                    for (var round = 0; round < 2; round++)
                    {
                        for (var i = 0; i < texts.Length; i++)
                        {
                            var t = Stopwatch.GetTimestamp();
                            vectors[i] = (await minilm.GenerateAsync([round == 0 ? texts[i] : texts[i] + " please"]))[0].Vector;
                            embedding.Add(Stopwatch.GetTimestamp() - t);
                        }
                    }
                }

                var retrieval = new Samples(texts.Length * 20);
                for (var round = 0; round < 20; round++)
                {
                    for (var i = 0; i < texts.Length; i++)
                    {
                        var query = new RetrievalQuery { Task = texts[i] };
                        var t = Stopwatch.GetTimestamp();
                        index.Retrieve(query, dense ? vectors[i].Span : default);
                        retrieval.Add(Stopwatch.GetTimestamp() - t);
                    }
                }

                GC.KeepAlive(index);
                GC.KeepAlive(cache);

                // Released before the next row's "before" reading, or that row would count this index as freed.
                index = null!;
                cache = null;
                report.Line($"| {count:N0} | {(dense ? "MiniLM" : "hashed")} | {build.TotalMilliseconds:N0} ms | {retained / 1_048_576.0:F1} MB | {retained / (double)count / 1024:F1} KB | " +
                            $"{BenchReport.Us(retrieval.Percentile(50))} | {BenchReport.Us(retrieval.Percentile(99))} | " +
                            (dense ? $"{BenchReport.Us(embedding.Percentile(50))} | {BenchReport.Us(embedding.Percentile(99))} |" : "- | - |"));
            }
        }

        report.Line("Retained memory of a MiniLM index counts the lesson vectors twice: the dense matrix and the content-hash cache that lets the next snapshot skip unchanged lessons.");
    }

    private static async Task<LessonIndex> BuildAsync(IReadOnlyList<Lesson> lessons, Method method, LessonEmbeddingCache? embeddings)
    {
        // Every lesson that scores above zero competes for the five places: no minimum score, no token budget.
        var settings = new RetrievalSettings { TopK = K, MinScore = 1e-6, TokenBudget = 100_000, LexicalWeight = method.LexicalWeight };
        var snapshot = Snapshot.Create(null, Tenants.Default, lessons, settings, "bench", "retrieval quality", DateTimeOffset.UnixEpoch);
        return method.Dense ? await LessonIndex.BuildAsync(snapshot, embeddings) : LessonIndex.Build(snapshot);
    }

    private static (double Recall, double Ndcg) Score(LessonIndex index, LabelledQuery query, ReadOnlyMemory<float> vector)
    {
        var result = index.Retrieve(new RetrievalQuery { Task = query.Task }, vector.Span);
        var ranked = result.Lessons.Select(l => l.Lesson.Id).Take(K).ToArray();
        var relevant = query.Relevant.ToHashSet(StringComparer.Ordinal);
        var hits = ranked.Count(relevant.Contains);
        double dcg = 0;
        for (var i = 0; i < ranked.Length; i++)
        {
            dcg += relevant.Contains(ranked[i]) ? 1 / Math.Log2(i + 2) : 0;
        }

        var ideal = Enumerable.Range(0, Math.Min(K, relevant.Count)).Sum(i => 1 / Math.Log2(i + 2));
        return ((double)hits / Math.Min(K, relevant.Count), dcg / ideal);
    }

    private sealed record Method(string Name, double LexicalWeight, bool Dense);

    private sealed record LabelledQuery(string Kind, string Task, string[] Relevant);

    /// <summary>The committed labelled set, checked on load: ids resolve, and paraphrases really share no word.</summary>
    private sealed class LabelledSet
    {
        public required IReadOnlyList<Lesson> Lessons { get; init; }

        public required IReadOnlyList<LabelledQuery> Queries { get; init; }

        public static LabelledSet Load(string path)
        {
            using var document = JsonDocument.Parse(File.ReadAllText(path));
            var root = document.RootElement;
            var lessons = root.GetProperty("lessons").EnumerateArray().Select(e => new Lesson
            {
                Id = e.GetProperty("id").GetString()!,
                Kind = LessonKind.Guideline,
                Text = e.GetProperty("text").GetString()!,
                Trigger = LessonTrigger.OnDescription(e.GetProperty("description").GetString()!),
                Scope = new LessonScope { Tenant = Tenants.Default, Labels = ImmutableSortedDictionary<string, string>.Empty },
                Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
                Extractor = new ExtractorInfo("labelled", "1"),
                Confidence = 0.9,
                CreatedAt = DateTimeOffset.UnixEpoch,
            }).ToArray();
            var byId = lessons.ToDictionary(l => l.Id, StringComparer.Ordinal);
            var queries = root.GetProperty("queries").EnumerateArray().Select(e => new LabelledQuery(
                e.GetProperty("kind").GetString()!,
                e.GetProperty("task").GetString()!,
                [.. e.GetProperty("relevant").EnumerateArray().Select(r => r.GetString()!)])).ToArray();
            foreach (var query in queries)
            {
                foreach (var id in query.Relevant)
                {
                    if (!byId.TryGetValue(id, out var lesson))
                    {
                        throw new InvalidDataException($"{path}: task '{query.Task}' names lesson '{id}', which the file does not define.");
                    }

                    if (query.Kind == "paraphrase")
                    {
                        var shared = TextTokenizer.Tokens(query.Task).Intersect(TextTokenizer.Tokens(LessonIndex.DocumentText(lesson)), StringComparer.Ordinal).ToArray();
                        if (shared.Length > 0)
                        {
                            throw new InvalidDataException($"{path}: paraphrase '{query.Task}' shares {string.Join(", ", shared)} with lesson '{id}'; a paraphrase must share no content word.");
                        }
                    }
                }
            }

            return new LabelledSet { Lessons = lessons, Queries = queries };
        }
    }
}
