using System.Globalization;
using Lore.Learning.Extraction;
using Lore.Learning.Statistics;
using Lore.Learning.Text;

namespace Lore.Learning;

/// <summary>Thresholds of the <see cref="ContrastExtractor"/>; a pattern must pass all of them to become a candidate.</summary>
public sealed class ContrastExtractorOptions
{
    /// <summary>Judged episodes that must show a pattern before it is tested at all.</summary>
    public int MinSupport { get; set; } = 5;

    /// <summary>The Mantel-Haenszel risk ratio of failure with the pattern, within kinds of task, must reach this.</summary>
    public double MinLift { get; set; } = 1.5;

    /// <summary>False discovery rate: Benjamini-Hochberg adjusted one-sided stratified p-values must be at most this.</summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>z of the Wilson interval reported for the pattern's failure rate (1.96: 95%).</summary>
    public double IntervalZ { get; set; } = 1.96;

    /// <summary>The failing episodes with the pattern must come from at least this many distinct tasks.</summary>
    public int MinTasks { get; set; } = 3;

    /// <summary>At most this many candidates per run, the most significant first.</summary>
    public int MaxCandidates { get; set; } = 25;

    /// <summary>Test "A called before B" patterns.</summary>
    public bool OrderPatterns { get; set; } = true;

    /// <summary>Test "B called without a prior A" patterns, for pairs where A usually comes first.</summary>
    public bool PreconditionPatterns { get; set; } = true;

    /// <summary>Test argument shapes: a key missing, null, empty, zero, negative, or a list of one or several items.</summary>
    public bool ArgumentPatterns { get; set; } = true;

    /// <summary>Throws naming the first option that is out of range.</summary>
    public ContrastExtractorOptions Validate()
    {
        if (MinSupport < 2) throw new ArgumentOutOfRangeException(nameof(MinSupport), MinSupport, "MinSupport must be at least 2.");
        if (double.IsNaN(MinLift) || MinLift < 1) throw new ArgumentOutOfRangeException(nameof(MinLift), MinLift, "MinLift must be at least 1.");
        if (Alpha is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(Alpha), Alpha, "Alpha must lie in (0, 1].");
        if (double.IsNaN(IntervalZ) || IntervalZ < 0) throw new ArgumentOutOfRangeException(nameof(IntervalZ), IntervalZ, "IntervalZ must not be negative.");
        if (MinTasks < 1) throw new ArgumentOutOfRangeException(nameof(MinTasks), MinTasks, "MinTasks must be at least 1.");
        if (MaxCandidates < 1) throw new ArgumentOutOfRangeException(nameof(MaxCandidates), MaxCandidates, "MaxCandidates must be at least 1.");
        return this;
    }
}

/// <summary>
/// Finds step patterns that go with failure, without a model, comparing like with like. For every judged episode it
/// lists features (tool order "A before B", a missing precondition "B without a prior A", argument shapes), then asks
/// whether episodes with the feature fail more often than episodes without it <em>within the same kind of task</em>:
/// a Cochran-Mantel-Haenszel test stratified by task (the <c>task_id</c> label or task text, when the task recurs) or
/// else by the set of state-changing tools the episode called (what it set out to do). A pattern that only separates
/// hard kinds of task from easy ones is not significant within them and is not a lesson. Every lesson states a claim
/// "call X before Y", where X must be a read-only tool (never a state change, never a no-op such as <c>think</c>);
/// claims that discourage a read, and argument-shape warnings, additionally need significance across repeated trials
/// of the same tasks. Evidence counts distinct tasks, never trials. Benjamini-Hochberg over every pattern tested.
/// </summary>
public sealed class ContrastExtractor : ILessonExtractor
{
    internal const string KeyPrefix = "contrast:";

    private readonly ContrastExtractorOptions _options;
    private readonly ToolCatalog _tools;

    /// <summary>An extractor with the given thresholds (defaults when null) and tool catalog (which tools change state).</summary>
    public ContrastExtractor(ContrastExtractorOptions? options = null, ToolCatalog? tools = null)
    {
        _options = (options ?? new ContrastExtractorOptions()).Validate();
        _tools = tools ?? new ToolCatalog();
    }

    /// <inheritdoc />
    public ExtractorInfo Info { get; } = new(nameof(ContrastExtractor), "2.0");

    /// <inheritdoc />
    public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var analysis = Analyze(batch.Episodes, cancellationToken);
        var candidates = analysis.Patterns
            .Where(p => p.Passes)
            .OrderBy(p => p.Q).ThenByDescending(p => p.Lift).ThenBy(p => p.Description, StringComparer.Ordinal)
            .Take(_options.MaxCandidates)
            .Select(p => ToCandidate(batch.Tenant, analysis, p))
            .ToArray();
        var refused = analysis.Patterns.Where(p => p.Refusal is not null && p.Q <= _options.Alpha).ToArray();

        // A significant order pattern reverses the opposite claim ("call Y before X" when doing Y before X now fails
        // more often within kinds of task), even when its own claim may not be served: the served lesson is retired.
        var contradicted = analysis.Patterns
            .Where(p => p.Claim is { } && p.Q <= _options.Alpha && p.Lift >= _options.MinLift && p.Strata > 0 && p.FailedTasks >= _options.MinTasks && p.FailedSources >= 2 && p.FailedLargestShare <= 2.0 / 3 + 1e-9)
            .Select(p => new ClaimContradiction(
                KeyPrefix + $"precede:{analysis.Names[p.Claim!.Value.Y]}>{analysis.Names[p.Claim.Value.X]}",
                string.Create(CultureInfo.InvariantCulture, $"{p.Description}: within kinds of task, episodes that called {analysis.Names[p.Claim.Value.Y]} before {analysis.Names[p.Claim.Value.X]} failed more often (risk ratio {p.Lift:F2}, q = {p.Q:G3}, {p.FailedTasks} tasks, {p.FailedSources} sources)")))
            .ToArray();
        return Task.FromResult(new ExtractionResult(candidates, refused.Length, [.. refused.Take(5).Select(p => $"{p.Description}: {p.Refusal}")]) { Contradicted = contradicted });
    }

    /// <summary>The full table: baseline and every tested pattern with its statistics (for reports and tests).</summary>
    internal ContrastAnalysis Analyze(IReadOnlyList<Episode> episodes, CancellationToken cancellationToken = default)
    {
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var nameList = new List<string>();
        int Intern(string name)
        {
            if (!names.TryGetValue(name, out var id))
            {
                id = nameList.Count;
                names[name] = id;
                nameList.Add(name);
            }

            return id;
        }

        // Pass 1: per judged episode, first/last position of each tool and each call's argument kinds; no-op tools are
        // not steps.
        var judged = new List<EpisodeFacts>();
        var precedence = new Dictionary<(int A, int B), int>();
        var keysOfTool = new Dictionary<int, HashSet<int>>();
        var taskCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var episode in episodes)
        {
            if (episode.Succeeded is not { } succeeded)
            {
                continue;
            }

            if ((judged.Count & 255) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var facts = new EpisodeFacts(episode, !succeeded, Consolidation.EvidenceLedger.TaskKey(episode));
            taskCounts[facts.Task] = taskCounts.GetValueOrDefault(facts.Task) + 1;
            var calls = ToolCalls.Of(episode);
            var position = 0;
            var writes = new SortedSet<string>(StringComparer.Ordinal);
            for (var i = 0; i < calls.Count; i++)
            {
                if (_tools.IsNoOp(calls[i].Name))
                {
                    continue;
                }

                if (_tools.ChangesState(calls[i].Name))
                {
                    writes.Add(calls[i].Name);
                }

                var tool = Intern(calls[i].Name);
                facts.First.TryAdd(tool, position);
                facts.Last[tool] = position;
                position++;
                if (_options.ArgumentPatterns)
                {
                    var args = ParsedArguments.Parse(calls[i].ArgumentsJson, withValues: false);
                    var kinds = new Dictionary<int, int>();
                    if (!keysOfTool.TryGetValue(tool, out var keys))
                    {
                        keysOfTool[tool] = keys = [];
                    }

                    foreach (var (key, value) in args.Values)
                    {
                        var keyId = Intern(key);
                        kinds[keyId] = Intern(value.Kind);
                        keys.Add(keyId);
                    }

                    facts.Calls.Add((tool, kinds));
                }
            }

            facts.Writes = string.Join(",", writes);
            if (_options.PreconditionPatterns)
            {
                foreach (var (a, firstA) in facts.First)
                {
                    foreach (var (b, firstB) in facts.First)
                    {
                        if (firstA < firstB)
                        {
                            precedence[(a, b)] = precedence.GetValueOrDefault((a, b)) + 1;
                        }
                    }
                }
            }

            judged.Add(facts);
        }

        // Strata: the task itself when it recurs (trials of one task), else what the episode set out to change.
        var strata = new Dictionary<string, int>(StringComparer.Ordinal);
        var repeatedTasks = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var facts in judged)
        {
            var repeated = taskCounts[facts.Task] >= 2;
            var key = repeated ? "task:" + facts.Task : "writes:" + facts.Writes;
            if (!strata.TryGetValue(key, out var id))
            {
                strata[key] = id = strata.Count;
            }

            facts.Stratum = id;
            if (repeated)
            {
                if (!repeatedTasks.TryGetValue(facts.Task, out var taskStratum))
                {
                    repeatedTasks[facts.Task] = taskStratum = repeatedTasks.Count;
                }

                facts.TaskStratum = taskStratum;
            }
        }

        var stratumTotals = new (int Total, int Failed)[strata.Count];
        var taskTotals = new (int Total, int Failed)[repeatedTasks.Count];
        foreach (var facts in judged)
        {
            stratumTotals[facts.Stratum] = (stratumTotals[facts.Stratum].Total + 1, stratumTotals[facts.Stratum].Failed + (facts.Failed ? 1 : 0));
            if (facts.TaskStratum >= 0)
            {
                taskTotals[facts.TaskStratum] = (taskTotals[facts.TaskStratum].Total + 1, taskTotals[facts.TaskStratum].Failed + (facts.Failed ? 1 : 0));
            }
        }

        // Which (tool, key) pairs vary in shape across calls (a key present in some calls and absent in others counts).
        var absent = Intern("absent");
        var shapes = new Dictionary<(int Tool, int Key), HashSet<int>>();
        foreach (var facts in judged)
        {
            foreach (var (tool, kinds) in facts.Calls)
            {
                foreach (var key in keysOfTool[tool])
                {
                    if (!shapes.TryGetValue((tool, key), out var seen))
                    {
                        shapes[(tool, key)] = seen = [];
                    }

                    seen.Add(kinds.GetValueOrDefault(key, absent));
                }
            }
        }

        var preconditionsOf = precedence
            .Where(p => p.Value >= _options.MinSupport)
            .GroupBy(p => p.Key.B, p => p.Key.A)
            .ToDictionary(g => g.Key, g => g.ToArray());

        // Pass 2: features per episode, counted overall and per stratum.
        var stats = new Dictionary<Feature, FeatureCounts>();
        var features = new HashSet<Feature>();
        for (var e = 0; e < judged.Count; e++)
        {
            var facts = judged[e];
            features.Clear();
            if (_options.OrderPatterns)
            {
                foreach (var (a, firstA) in facts.First)
                {
                    foreach (var (b, lastB) in facts.Last)
                    {
                        if (a != b && firstA < lastB)
                        {
                            features.Add(new Feature(FeatureKind.Order, a, b, 0));
                        }
                    }
                }
            }

            if (_options.PreconditionPatterns)
            {
                foreach (var (b, firstB) in facts.First)
                {
                    if (!preconditionsOf.TryGetValue(b, out var preconditions))
                    {
                        continue;
                    }

                    foreach (var a in preconditions)
                    {
                        if (!facts.First.TryGetValue(a, out var firstA) || firstA > firstB)
                        {
                            features.Add(new Feature(FeatureKind.MissingPrecondition, a, b, 0));
                        }
                    }
                }
            }

            foreach (var (tool, kinds) in facts.Calls)
            {
                foreach (var key in keysOfTool[tool])
                {
                    if (shapes[(tool, key)].Count > 1)
                    {
                        features.Add(new Feature(FeatureKind.Argument, tool, key, kinds.GetValueOrDefault(key, absent)));
                    }
                }
            }

            var mix = SplitMix((ulong)e);
            foreach (var feature in features)
            {
                if (!stats.TryGetValue(feature, out var counts))
                {
                    stats[feature] = counts = new FeatureCounts();
                }

                counts.Add(facts, mix);
            }

            facts.Features = [.. features];
        }

        var total = judged.Count;
        var failed = judged.Count(f => f.Failed);
        var baseline = total == 0 ? 0 : (double)failed / total;
        var tested = stats
            .Where(s => s.Value.Episodes >= _options.MinSupport && s.Value.Episodes < total)
            .GroupBy(s => (s.Value.Hash, s.Value.Episodes, s.Value.Failures))
            .Select(g =>
            {
                var representative = g.OrderBy(s => s.Key.Kind).ThenBy(s => Describe(s.Key, nameList), StringComparer.Ordinal).First();
                return (Feature: representative.Key, Counts: representative.Value, Aliases: g.Count() - 1);
            })
            .ToList();

        var stratified = tested.Select(t => MantelHaenszel.Test(t.Counts.Tables(stratumTotals, byTask: false))).ToArray();
        var withinTask = tested.Select(t => MantelHaenszel.Test(t.Counts.Tables(taskTotals, byTask: true))).ToArray();
        var qValues = Proportions.BenjaminiHochberg([.. stratified.Select(r => r.P)]);
        var withinQ = Proportions.BenjaminiHochberg([.. withinTask.Select(r => r.P)]);
        var informative = failed > 0 && failed < total;
        var patterns = new List<ContrastPattern>(tested.Count);
        for (var i = 0; i < tested.Count; i++)
        {
            var (feature, counts, aliases) = tested[i];
            var rate = (double)counts.Failures / counts.Episodes;
            var interval = Proportions.Wilson(counts.Failures, counts.Episodes, _options.IntervalZ);
            var claim = Claim(feature, nameList);
            var refusal = Refusal(feature, claim, counts, stratified[i], withinTask[i], withinQ[i], nameList);
            var passes = informative
                && qValues[i] <= _options.Alpha
                && stratified[i].RiskRatio >= _options.MinLift
                && refusal is null;
            patterns.Add(new ContrastPattern(
                feature,
                Describe(feature, nameList),
                ToolsOf(feature, nameList),
                counts.Episodes,
                counts.Failures,
                rate,
                stratified[i].RiskRatio,
                interval,
                stratified[i].P,
                qValues[i],
                aliases,
                passes,
                counts.FailedTasks.Count,
                stratified[i].InformativeStrata,
                withinTask[i].InformativeStrata,
                withinQ[i],
                claim,
                refusal,
                counts.FailedSources.Count,
                counts.Failures == 0 ? 0 : (double)counts.FailedSources.Values.Max() / counts.Failures));
        }

        patterns.Sort((x, y) => x.P != y.P ? x.P.CompareTo(y.P) : string.CompareOrdinal(x.Description, y.Description));
        return new ContrastAnalysis(total, failed, baseline, patterns, judged, nameList, strata.Count);
    }

    /// <summary>
    /// The order a pattern argues for, as (X, Y) meaning "call X before Y": a missing precondition A of B argues for
    /// A before B; A called before B going with failure argues for B before A. Argument shapes argue for no order.
    /// </summary>
    private static (int X, int Y)? Claim(Feature feature, IReadOnlyList<string> names) => feature.Kind switch
    {
        FeatureKind.MissingPrecondition => (feature.A, feature.B),
        FeatureKind.Order => (feature.B, feature.A),
        _ => null,
    };

    /// <summary>Why a statistically interesting pattern still may not become a lesson; null when it may.</summary>
    private string? Refusal(Feature feature, (int X, int Y)? claim, FeatureCounts counts, StratifiedResult stratified, StratifiedResult withinTask, double withinQ, IReadOnlyList<string> names)
    {
        if (counts.FailedTasks.Count < _options.MinTasks)
        {
            return $"its failures come from {counts.FailedTasks.Count} distinct tasks, below MinTasks {_options.MinTasks}";
        }

        if (stratified.InformativeStrata == 0)
        {
            return "no kind of task shows episodes both with and without it, so it cannot be told apart from the kind of task";
        }

        var discourages = feature.Kind == FeatureKind.Argument;
        if (claim is { } c)
        {
            var first = names[c.X];
            var then = names[c.Y];
            if (!_tools.IsRead(first))
            {
                return $"it would make {first}, a {(_tools.IsNoOp(first) ? "no-op" : "state-changing")} tool, a step to take before {then}";
            }

            // "Call X before Y" when Y is a read too discourages reading Y early: it needs evidence within tasks.
            discourages = feature.Kind == FeatureKind.Order && _tools.IsRead(then);
        }

        if (discourages && (withinTask.InformativeStrata < _options.MinTasks || withinQ > _options.Alpha || withinTask.RiskRatio < _options.MinLift))
        {
            return $"it discourages {(feature.Kind == FeatureKind.Argument ? "an argument shape" : "a read")}, which needs significance across trials of at least {_options.MinTasks} repeated tasks ({withinTask.InformativeStrata} informative, q = {withinQ.ToString("G3", CultureInfo.InvariantCulture)})";
        }

        return null;
    }

    private LessonCandidate ToCandidate(string tenant, ContrastAnalysis analysis, ContrastPattern pattern)
    {
        var withFeature = analysis.Episodes.Where(f => f.Features.Contains(pattern.Feature)).ToArray();
        var (kind, text, key, tools, recommended) = Advice(pattern, analysis.Names);
        var exemplars = Exemplars(analysis, pattern);
        return new LessonCandidate
        {
            Key = KeyPrefix + key,
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords([.. Tokens.Keywords(tools, [])]),
            Scope = new LessonScope { Tenant = tenant, Tools = tools },
            RecommendedTools = recommended,
            Evidence = new LessonEvidence
            {
                EpisodeIds = withFeature.Select(f => f.Episode.Id).ToArray(),
                EpisodeCount = withFeature.Length,
                Support = pattern.Episodes,
                Lift = double.IsFinite(pattern.Lift) ? pattern.Lift : null,
                IntervalLow = pattern.Interval.Low,
                IntervalHigh = pattern.Interval.High,
                ExemplarEpisodeIds = exemplars,
                ExemplarCount = exemplars.Count,
            },
            Confidence = 1 - pattern.Q,
            Extractor = Info,
            Rationale = string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Description}: {pattern.Failures} of {pattern.Episodes} episodes failed ({pattern.FailureRate:P0}) in {pattern.FailedTasks} distinct tasks, against a crude baseline of {analysis.Failed} of {analysis.Judged} ({analysis.Baseline:P0}); within kinds of task (Cochran-Mantel-Haenszel over {pattern.Strata} informative of {analysis.Strata} strata) risk ratio {pattern.Lift:F2}, one-sided p = {pattern.P:G3}, Benjamini-Hochberg q = {pattern.Q:G3} over {analysis.Patterns.Count} patterns tested{(pattern.Aliases > 0 ? $" ({pattern.Aliases} other patterns were shown by exactly the same episodes)" : "")}; {exemplars.Count} successful episodes followed the advice."),
        };
    }

    /// <summary>Successful episodes that did what the lesson advises: X before Y for an order claim; the tool called in another shape for an argument warning.</summary>
    private static IReadOnlyList<string> Exemplars(ContrastAnalysis analysis, ContrastPattern pattern)
    {
        var feature = pattern.Feature;
        var claim = Claim(feature, analysis.Names);
        var ids = new List<string>();
        foreach (var facts in analysis.Episodes)
        {
            if (facts.Failed)
            {
                continue;
            }

            var follows = claim is { } c
                ? facts.First.TryGetValue(c.X, out var x) && facts.First.TryGetValue(c.Y, out var y) && x < y
                : facts.First.ContainsKey(feature.A) && !facts.Features.Contains(feature);
            if (follows)
            {
                ids.Add(facts.Episode.Id);
            }
        }

        return ids;
    }

    private static (LessonKind Kind, string Text, string Key, string[] Tools, string[] Recommended) Advice(ContrastPattern pattern, IReadOnlyList<string> names)
    {
        var feature = pattern.Feature;
        if (Claim(feature, names) is { } c)
        {
            var (first, then) = (names[c.X], names[c.Y]);
            return (
                LessonKind.Guideline,
                $"Call {first} before calling {then}: in the same kind of task, episodes that called {then} without {first} first failed more often ({pattern.FailedTasks} tasks).",
                $"precede:{first}>{then}",
                [first, then],
                [first]);
        }

        var tool = names[feature.A];
        var key = names[feature.B];
        var shape = names[feature.C] switch
        {
            "absent" => $"without the {key} argument",
            "null" => $"{key} set to null",
            "empty string" => $"an empty {key}",
            "zero" => $"{key} set to 0",
            "negative" => $"a negative {key}",
            "empty list" => $"{key} as an empty list",
            "one-item list" => $"{key} as a list of one item",
            "list" => $"{key} as a list of several items",
            var other => $"{key} as {(other.StartsWith('o') ? "an" : "a")} {other}",
        };
        return (LessonKind.AntiPattern, $"Avoid calling {tool} with {shape}: across trials of the same tasks, such calls went with failure.", pattern.Description, [tool], []);
    }

    internal static string Describe(Feature feature, IReadOnlyList<string> names) => feature.Kind switch
    {
        FeatureKind.Order => $"order:{names[feature.A]}>{names[feature.B]}",
        FeatureKind.MissingPrecondition => $"missing:{names[feature.A]}>{names[feature.B]}",
        _ => $"argument:{names[feature.A]}.{names[feature.B]}={names[feature.C]}",
    };

    private static string[] ToolsOf(Feature feature, IReadOnlyList<string> names)
        => feature.Kind == FeatureKind.Argument ? [names[feature.A]] : [names[feature.A], names[feature.B]];

    private static ulong SplitMix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}

/// <summary>What kind of step pattern a feature is; the order is the preference when several show the same episodes.</summary>
internal enum FeatureKind
{
    MissingPrecondition,
    Order,
    Argument,
}

/// <summary>A feature over interned names: (kind, tool A, tool B or argument key, value kind).</summary>
internal readonly record struct Feature(FeatureKind Kind, int A, int B, int C);

internal sealed class FeatureCounts
{
    private readonly Dictionary<int, (int With, int FailedWith)> _byStratum = [];
    private readonly Dictionary<int, (int With, int FailedWith)> _byTask = [];

    public int Episodes { get; private set; }

    public int Failures { get; private set; }

    /// <summary>Order-independent hash of the episodes showing the feature, to find features with identical episode sets.</summary>
    public ulong Hash { get; private set; }

    /// <summary>Distinct tasks among the failing episodes with the feature.</summary>
    public HashSet<string> FailedTasks { get; } = new(StringComparer.Ordinal);

    /// <summary>Failing episodes with the feature, per evidence source.</summary>
    public Dictionary<string, int> FailedSources { get; } = new(StringComparer.Ordinal);

    public void Add(EpisodeFacts facts, ulong mix)
    {
        Episodes++;
        Hash += mix;
        var failed = facts.Failed ? 1 : 0;
        Failures += failed;
        if (facts.Failed)
        {
            FailedTasks.Add(facts.Task);
            FailedSources[facts.Episode.EvidenceSource] = FailedSources.GetValueOrDefault(facts.Episode.EvidenceSource) + 1;
        }

        var s = _byStratum.GetValueOrDefault(facts.Stratum);
        _byStratum[facts.Stratum] = (s.With + 1, s.FailedWith + failed);
        if (facts.TaskStratum >= 0)
        {
            var t = _byTask.GetValueOrDefault(facts.TaskStratum);
            _byTask[facts.TaskStratum] = (t.With + 1, t.FailedWith + failed);
        }
    }

    /// <summary>The 2x2 table of every stratum (or every repeated task) in which the feature occurs.</summary>
    public IEnumerable<StratumTable> Tables((int Total, int Failed)[] totals, bool byTask)
    {
        foreach (var (stratum, (with, failedWith)) in byTask ? _byTask : _byStratum)
        {
            yield return new StratumTable(failedWith, with, totals[stratum].Failed, totals[stratum].Total);
        }
    }
}

/// <summary>What pass 1 learns about one judged episode.</summary>
internal sealed class EpisodeFacts(Episode episode, bool failed, string task)
{
    public Episode Episode { get; } = episode;

    public bool Failed { get; } = failed;

    /// <summary>The task the episode counts toward (trials of one task share it).</summary>
    public string Task { get; } = task;

    /// <summary>The state-changing tools the episode called, sorted and joined: what it set out to do.</summary>
    public string Writes { get; set; } = "";

    /// <summary>The stratum of the main test: the task when it recurs, else <see cref="Writes"/>.</summary>
    public int Stratum { get; set; }

    /// <summary>The stratum of the within-task test, or -1 when the task does not recur.</summary>
    public int TaskStratum { get; set; } = -1;

    /// <summary>Position (among non-no-op tool calls) of each tool's first call.</summary>
    public Dictionary<int, int> First { get; } = [];

    public Dictionary<int, int> Last { get; } = [];

    public List<(int Tool, Dictionary<int, int> Kinds)> Calls { get; } = [];

    public HashSet<Feature> Features { get; set; } = [];
}

/// <summary>One tested pattern with its statistics.</summary>
internal sealed record ContrastPattern(
    Feature Feature,
    string Description,
    string[] Tools,
    int Episodes,
    int Failures,
    double FailureRate,
    double Lift,
    Interval Interval,
    double P,
    double Q,
    int Aliases,
    bool Passes,
    int FailedTasks,
    int Strata,
    int TaskStrata,
    double WithinTaskQ,
    (int X, int Y)? Claim,
    string? Refusal,
    int FailedSources,
    double FailedLargestShare);

/// <summary>The baseline and every tested pattern, most significant first.</summary>
internal sealed record ContrastAnalysis(int Judged, int Failed, double Baseline, IReadOnlyList<ContrastPattern> Patterns, IReadOnlyList<EpisodeFacts> Episodes, IReadOnlyList<string> Names, int Strata);
