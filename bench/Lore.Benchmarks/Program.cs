using Lore.Benchmarks;

// A bench command rather than BenchmarkDotNet: the figures we care about are tail latencies (p50/p99 per call)
// and throughputs of whole passes, each compared with a baseline measured in the same run.
// Helper processes of the proxy section (the simulated upstream, the load generator) are this binary started again.
if (await Lore.Benchmarks.Serving.BenchChild.RunIfHelperAsync(args) is { } helper)
{
    return helper;
}

var which = args.Length > 0 ? args[0] : "all";
var quick = args.Contains("--quick");
var report = new BenchReport();
report.Header();

if (which is "all" or "overhead") await OverheadBench.RunAsync(report, quick);
if (which is "all" or "retrieval") await RetrievalBench.RunAsync(report, quick);
if (which is "all" or "ingest") await IngestBench.RunAsync(report, quick);
if (which is "all" or "learn") await LearningBench.RunAsync(report, quick);
if (which is "all" or "evaluation") await EvaluationBench.RunAsync(report, quick);
if (which is "all" or "lesson-experiment") await LessonExperimentBench.RunAsync(report, quick);
if (which is "all" or "rollback") await RollbackBench.RunAsync(report, quick);
if (which is "all" or "propagation") await PropagationBench.RunAsync(report, quick);
if (which is "all" or "proxy") await Lore.Benchmarks.Serving.ProxyBench.RunAsync(report, quick);
if (which is "all" or "postgres-ingest") await Lore.Benchmarks.PostgreSql.PostgresIngestBench.RunAsync(report, quick);
if (which is "all" or "learning-quality") await Lore.Benchmarks.LearningQuality.LearningQualityBench.RunAsync(report, quick);
if (which is "learning-quality-subsets") await Lore.Benchmarks.LearningQuality.LearningQualitySubsets.RunAsync(report, args.Contains("--verbose"));
if (which is "all" or "poisoning") await PoisoningBench.RunAsync(report, quick);
if (which is "poisoning-batch") await PoisoningBatchBench.RunAsync(report, args.Length > 1 ? args[1] : "a");
if (which is "all" or "retrieval-quality") await Lore.Benchmarks.RetrievalQuality.RetrievalQualityBench.RunAsync(report, quick);
if (which is "overhead-minilm") await OverheadBench.RunAsync(report, quick, minilm: true);
if (which is "all" or "error-shift") await ErrorShiftBench.RunAsync(report, quick);

if (which is not ("learning-quality-subsets" or "poisoning-batch" or "error-shift" or "retrieval-quality" or "overhead-minilm" or "learning-quality" or "poisoning" or "lesson-experiment" or "postgres-ingest" or "all" or "overhead" or "retrieval" or "ingest" or "learn" or "evaluation" or "rollback" or "propagation" or "proxy"))
{
    Console.Error.WriteLine($"unknown benchmark '{which}': expected all, overhead, retrieval, ingest, learn, evaluation, lesson-experiment, rollback, propagation, proxy, postgres-ingest, learning-quality, learning-quality-subsets, poisoning, poisoning-batch [a|b|c|d|main], retrieval-quality, overhead-minilm or error-shift");
    return 2;
}

return 0;
