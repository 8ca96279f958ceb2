using System.Text.RegularExpressions;
using Lore.Ingest;
using Lore.Learning;
using Lore.Simulation.Confounded;
using Lore.Testing;

namespace Lore.Benchmarks.LearningQuality;

/// <summary>
/// Is what learning serves right? Learns, with the default options, from real trajectories (the airline dev set in
/// ../shared/data) and scores every served lesson against a labelled file kept in the repository
/// (<c>airline-dev-labels.json</c>: true / false / noise, each with the policy line or trajectories that justify it);
/// then from synthetic confounded workplaces where the only true lessons are the planted tool-error recoveries.
/// Precision = served lessons labelled true / served; recall = true lessons the data supports that were served.
/// </summary>
internal static class LearningQualityBench
{
    public static async Task RunAsync(BenchReport report, bool quick)
    {
        report.Section("Learning quality: precision and recall of served lessons");
        await RealDataAsync(report);
        await ConfoundedAsync(report, quick ? 5 : 20);
    }

    private static async Task RealDataAsync(BenchReport report)
    {
        var labels = await LessonLabels.LoadAsync();
        var dataset = labels.Dataset;
        var path = SharedData.TryFind(dataset);
        if (path is null)
        {
            report.Line($"(skipped: ../shared/data/{dataset} is not beside the project)");
            return;
        }

        var supported = labels.Supported;
        var served = await LearnAsync(path, new Dictionary<string, string> { ["slice"] = "airline" });
        var labelled = served.Select(l => (Lesson: l, Label: labels.LabelOf(l.Text))).ToArray();
        var truths = labelled.Count(l => l.Label == "true");
        var found = supported.Count(s => served.Any(l => s.Pattern.IsMatch(l.Text)));

        report.Line($"Real trajectories: {dataset} (100 episodes, 25 tasks), imported with --label slice=airline, default LearningOptions and AdmissionPolicy.");
        report.Line("");
        report.Line("| measure | value |");
        report.Line("|---|---|");
        report.Line($"| lessons served | {served.Count} |");
        report.Line($"| precision (labelled true / served) | **{Ratio(truths, served.Count)}** |");
        report.Line($"| recall (supported true lessons served) | **{found} of {supported.Count}** ({Ratio(found, supported.Count)}) |");
        report.Line($"| served lessons recommending a state-changing call | {served.Count(l => (l.RecommendedTools ?? l.Scope.Tools).Any(t => new ToolCatalog().ChangesState(t)))} |");
        report.Line($"| served lessons without the slice scope | {served.Count(l => !l.Scope.EvidenceLabels.ContainsKey("slice"))} |");
        report.Line("");
        report.Line("| label | served lesson | evidence |");
        report.Line("|---|---|---|");
        foreach (var (lesson, label) in labelled)
        {
            var e = lesson.Evidence;
            report.Line($"| {label} | {lesson.Text.Replace("|", "\\|", StringComparison.Ordinal)} | {e.EpisodeCount} episodes, {e.DistinctTasks} tasks, {e.DistinctSources} sources; worked in {e.ExemplarCount} ({e.ExemplarTasks} tasks) |");
        }

        var sample = SharedData.TryFind("tau-bench-airline-gpt-4o-sample.json");
        if (sample is not null)
        {
            var fromSample = await LearnAsync(sample, []);
            report.Line("");
            report.Line($"The 40-episode sample (10 tasks; every recovery comes from one task's trials): {fromSample.Count} lessons served.");
        }
    }

    private static async Task ConfoundedAsync(BenchReport report, int seeds)
    {
        // The true lessons of the confounded workplace are the two planted recoveries; everything else it could
        // produce (a look-up blamed for hard bookings, a cancellation made a step, think) is wrong by construction.
        var truth = new[]
        {
            new Regex("^When book_reservation fails with \"payment amount does not add up.*call calculate first", RegexOptions.CultureInvariant),
            new Regex("^When find_user_id_by_email fails with \"user not found\", call find_user_id_by_name_zip instead\\.$", RegexOptions.CultureInvariant),
        };
        int served = 0, correct = 0, recalled = 0, wrongScope = 0;
        for (var seed = 1; seed <= seeds; seed++)
        {
            var lessons = await LearnEpisodesAsync(ConfoundedWorkplace.Episodes(seed));
            served += lessons.Count;
            correct += lessons.Count(l => truth.Any(t => t.IsMatch(l.Text)));
            recalled += truth.Count(t => lessons.Any(l => t.IsMatch(l.Text)));
            wrongScope += lessons.Count(l => !l.Scope.EvidenceLabels.TryGetValue("slice", out var slice)
                || l.Scope.Tools.Any(tool => !(slice == "airline" ? ConfoundedWorkplace.AirlineTools : ConfoundedWorkplace.RetailTools).Contains(tool)));
        }

        report.Line("");
        report.Line($"Synthetic confounded workplaces ({seeds} seeds; kinds of task of very different difficulty, 4 trials per task, state changes co-occurring with failure, a shared look-up tool across two slices, think everywhere):");
        report.Line("");
        report.Line("| measure | value |");
        report.Line("|---|---|");
        report.Line($"| lessons served | {served} ({(double)served / seeds:F1} per workplace) |");
        report.Line($"| precision | **{Ratio(correct, served)}** |");
        report.Line($"| recall of the two planted recoveries | **{Ratio(recalled, 2 * seeds)}** |");
        report.Line($"| served lessons outside their slice's tools or without a slice | {wrongScope} |");
    }

    private static Task<IReadOnlyList<Lesson>> LearnAsync(string file, Dictionary<string, string> labels)
        => ScratchStore.UseAsync(async store =>
        {
            var options = new ImportOptions();
            foreach (var (key, value) in labels)
            {
                options.Labels[key] = value;
            }

            await TrajectoryImporter.ImportFileAsync(file, store, options);
            return await ServedAsync(store);
        });

    private static Task<IReadOnlyList<Lesson>> LearnEpisodesAsync(IEnumerable<Episode> episodes)
        => ScratchStore.UseAsync(async store =>
        {
            await using (var import = await store.BeginImportAsync())
            {
                foreach (var episode in episodes)
                {
                    await import.AddAsync(episode);
                }

                await import.CommitAsync();
            }

            return await ServedAsync(store);
        });

    private static async Task<IReadOnlyList<Lesson>> ServedAsync(ILoreStore store)
    {
        var run = await new LearningPipeline(store, new LearningOptions()).RunAsync(Tenants.Default, "bench");
        return run.SnapshotId is null ? [] : (await store.GetSnapshotAsync(run.SnapshotId))!.Lessons;
    }

    private static string Ratio(int k, int n) => n == 0 ? "n/a (nothing served)" : $"{100.0 * k / n:F0}% ({k}/{n})";
}
