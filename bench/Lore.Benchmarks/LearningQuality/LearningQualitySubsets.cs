using System.Globalization;
using System.Text.Json.Nodes;
using Lore.Ingest;
using Lore.Learning;
using Lore.Testing;

namespace Lore.Benchmarks.LearningQuality;

/// <summary>
/// Does the learning quality measured on the whole dev set generalise? Learns, with the default options, from many
/// subsets of the real trajectories (each half of the tasks, each pair of trials, single trials, seeded random task
/// subsets, the sample, dev and sample together, tasks relabelled into two slices) and prints every served lesson with
/// its label from <c>airline-dev-labels.json</c> and the evidence it cites, so a person can judge what a single
/// fortunate split would hide. Lessons no label matches are printed as "unlabelled" with their rationale.
/// </summary>
internal static class LearningQualitySubsets
{
    private sealed record Subset(string Name, Func<JsonNode, bool> Keep, Func<JsonNode, string?>? Slice = null, bool WithSample = false, bool SampleOnly = false);

    public static async Task RunAsync(BenchReport report, bool verbose)
    {
        report.Section("Learning quality across subsets of the real trajectories");
        var labels = await LessonLabels.LoadAsync();
        var devPath = SharedData.TryFind("tau-bench-airline-gpt-4o-dev.json");
        var samplePath = SharedData.TryFind("tau-bench-airline-gpt-4o-sample.json");
        if (devPath is null || samplePath is null)
        {
            report.Line("(skipped: ../shared/data is not beside the project)");
            return;
        }

        var dev = JsonNode.Parse(await File.ReadAllTextAsync(devPath))!.AsArray();
        var sample = JsonNode.Parse(await File.ReadAllTextAsync(samplePath))!.AsArray();
        static int Task(JsonNode r) => r["task_id"]!.GetValue<int>();
        static int Trial(JsonNode r) => r["trial"]!.GetValue<int>();

        var subsets = new List<Subset>
        {
            new("dev, all", _ => true),
            new("tasks 0-12", r => Task(r) <= 12),
            new("tasks 13-24", r => Task(r) >= 13),
        };
        for (var a = 0; a < 4; a++)
        {
            for (var b = a + 1; b < 4; b++)
            {
                var (x, y) = (a, b);
                subsets.Add(new($"trials {x},{y}", r => Trial(r) == x || Trial(r) == y));
            }
        }

        for (var t = 0; t < 4; t++)
        {
            var only = t;
            subsets.Add(new($"trial {only} alone", r => Trial(r) == only));
        }

        var random = new Random(20261206);
        for (var i = 0; i < 10; i++)
        {
            var tasks = Enumerable.Range(0, 25).OrderBy(_ => random.Next()).Take(15).ToHashSet();
            subsets.Add(new($"random 15 tasks #{i} ({string.Join(",", tasks.Order())})", r => tasks.Contains(Task(r))));
        }

        subsets.Add(new("dev + sample", _ => true, WithSample: true));
        subsets.Add(new("sample alone", _ => true, SampleOnly: true));
        subsets.Add(new("two slices: tasks 0-12 / 13-24", _ => true, r => Task(r) <= 12 ? "airline-a" : "airline-b"));
        subsets.Add(new("two slices: even / odd tasks", _ => true, r => Task(r) % 2 == 0 ? "airline-even" : "airline-odd"));

        var tally = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var subset in subsets)
        {
            var records = subset.SampleOnly ? [.. sample] : dev.Where(r => subset.Keep(r!)).ToList();
            if (subset.WithSample)
            {
                records.AddRange(sample);
            }

            var (served, pending, taskOf, rejected, run) = await LearnAsync(records!, subset.Slice ?? (_ => "airline"), verbose);
            string Tasks(IEnumerable<string> ids) => string.Join(",", ids.Select(id => taskOf.GetValueOrDefault(id, "?")).Distinct().Order(StringComparer.Ordinal));
            report.Line("");
            Console.Error.WriteLine($"^^ {subset.Name}");
            report.Line($"### {subset.Name}: {records.Count} episodes, {records.Select(r => Task(r!)).Distinct().Count()} tasks; {served.Count} served, {pending.Count} waiting for review");
            foreach (var lesson in served)
            {
                var label = labels.LabelOf(lesson.Text);
                tally[label] = tally.GetValueOrDefault(label) + 1;
                var e = lesson.Evidence;
                var slice = lesson.Scope.EvidenceLabels.TryGetValue("slice", out var s) ? s : "(none)";
                report.Line(string.Create(CultureInfo.InvariantCulture, $"- [{label}] {lesson.Text} — {e.EpisodeCount} episodes, {e.DistinctTasks} tasks, {e.DistinctSources} sources; worked in {e.ExemplarCount} ({e.ExemplarTasks} tasks); slice {slice}; confidence {lesson.Confidence:F2}"));
                report.Line($"  evidence tasks {Tasks(e.EpisodeIds)}; worked in tasks {Tasks(e.ExemplarEpisodeIds)}");
            }

            if (verbose)
            {
                foreach (var lesson in rejected)
                {
                    report.Line($"- (rejected) {lesson.Text} [evidence tasks {Tasks(lesson.Evidence.EpisodeIds)}; worked in {Tasks(lesson.Evidence.ExemplarEpisodeIds)}] {string.Join("; ", lesson.GuardFindings.Select(f => f.Rule + ": " + f.Detail))}");
                }

                foreach (var line in run.Dropped.Concat(run.Extractors.SelectMany(x => x.RejectionSamples.Select(r => x.Name + ": " + r))))
                {
                    report.Line($"- (dropped) {line}");
                }
            }

            foreach (var lesson in pending)
            {
                report.Line($"- (review) {lesson.Text} [tasks {Tasks(lesson.Evidence.EpisodeIds)}] — {lesson.Evidence.EpisodeCount} episodes, {lesson.Evidence.DistinctTasks} tasks; {string.Join("; ", lesson.GuardFindings.Select(f => f.Rule))}");
            }
        }

        report.Line("");
        report.Line("Served lessons by label over all subsets: " + string.Join(", ", tally.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} {p.Value}")));
    }

    private static Task<(IReadOnlyList<Lesson> Served, IReadOnlyList<Lesson> Pending, Dictionary<string, string> TaskOf, IReadOnlyList<Lesson> Rejected, LearningRun Run)> LearnAsync(IReadOnlyList<JsonNode> records, Func<JsonNode, string?> slice, bool verbose)
        => ScratchStore.UseAsync<(IReadOnlyList<Lesson>, IReadOnlyList<Lesson>, Dictionary<string, string>, IReadOnlyList<Lesson>, LearningRun)>(async store =>
        {
            // The importer reads files: each slice's records are written to one beside the store.
            var directory = Path.GetDirectoryName(store.Location)!;
            foreach (var group in records.GroupBy(r => slice(r) ?? ""))
            {
                var file = Path.Combine(directory, $"part-{group.Key}.json");
                await File.WriteAllTextAsync(file, new JsonArray([.. group.Select(r => r.DeepClone())]).ToJsonString());
                var options = new ImportOptions();
                if (group.Key.Length > 0)
                {
                    options.Labels["slice"] = group.Key;
                }

                await TrajectoryImporter.ImportFileAsync(file, store, options);
            }

            var run = await new LearningPipeline(store, new LearningOptions()).RunAsync(Tenants.Default, "bench");
            IReadOnlyList<Lesson> served = run.SnapshotId is null ? [] : (await store.GetSnapshotAsync(run.SnapshotId))!.Lessons;
            var pending = await store.ListLessonsAsync(new LessonQuery { Tenant = Tenants.Default, Status = LessonStatus.PendingReview });
            var taskOf = new Dictionary<string, string>(StringComparer.Ordinal);
            var episodes = new List<Episode>();
            await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = Tenants.Default }))
            {
                taskOf[episode.Id] = episode.Labels.GetValueOrDefault("task_id", "?") + "/" + episode.Labels.GetValueOrDefault("trial", "?");
                episodes.Add(episode);
            }

            if (verbose)
            {
                var analysis = new ContrastExtractor().Analyze(episodes);
                foreach (var p in analysis.Patterns.OrderBy(p => p.Q).Take(4))
                {
                    Console.Error.WriteLine(string.Create(CultureInfo.InvariantCulture, $"  contrast near-miss: {p.Description} q={p.Q:G3} p={p.P:G3} rr={p.Lift:F2} failedTasks={p.FailedTasks} passes={p.Passes} refusal={p.Refusal}"));
                }
            }

            var rejected = await store.ListLessonsAsync(new LessonQuery { Tenant = Tenants.Default, Status = LessonStatus.Rejected });
            return (served, pending, taskOf, rejected, run);
        });
}
