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

    /// <summary>Failure rate with the pattern divided by the baseline failure rate must reach this.</summary>
    public double MinLift { get; set; } = 1.2;

    /// <summary>False discovery rate: Benjamini-Hochberg adjusted one-sided Fisher p-values must be at most this.</summary>
    public double Alpha { get; set; } = 0.05;

    /// <summary>z of the Wilson interval of the pattern's failure rate, whose lower bound must lie above the baseline (1.96: 95%).</summary>
    public double IntervalZ { get; set; } = 1.96;

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
        if (MaxCandidates < 1) throw new ArgumentOutOfRangeException(nameof(MaxCandidates), MaxCandidates, "MaxCandidates must be at least 1.");
        return this;
    }
}

/// <summary>
/// Finds step patterns that go with failure, without a model: for every judged episode it lists features (tool order
/// "A before B", a missing precondition "B without a prior A", argument shapes such as a missing key or an empty list),
/// then compares the failure rate of episodes with each feature against the baseline. A pattern becomes a candidate
/// only when it is supported by enough episodes, its lift reaches the threshold, the lower bound of its Wilson interval
/// lies above the baseline, and a one-sided Fisher exact test survives Benjamini-Hochberg correction over every
/// pattern tested. Patterns shown by exactly the same episodes are tested once. Linear in the steps of the batch
/// (times the number of distinct tools an episode uses, for order pairs).
/// </summary>
public sealed class ContrastExtractor : ILessonExtractor
{
    internal const string KeyPrefix = "contrast:";

    private readonly ContrastExtractorOptions _options;

    public ContrastExtractor(ContrastExtractorOptions? options = null)
        => _options = (options ?? new ContrastExtractorOptions()).Validate();

    public ExtractorInfo Info { get; } = new(nameof(ContrastExtractor), "1.0");

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
        return Task.FromResult(new ExtractionResult(candidates));
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

        // Pass 1: per judged episode, first/last position of each tool and each call's argument kinds.
        var judged = new List<EpisodeFacts>();
        var precedence = new Dictionary<(int A, int B), int>();
        var keysOfTool = new Dictionary<int, HashSet<int>>();
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

            var facts = new EpisodeFacts(episode, !succeeded);
            var calls = ToolCalls.Of(episode);
            for (var i = 0; i < calls.Count; i++)
            {
                var tool = Intern(calls[i].Name);
                facts.First.TryAdd(tool, i);
                facts.Last[tool] = i;
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

        // Pass 2: features per episode, counted.
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
                ref var counts = ref System.Runtime.InteropServices.CollectionsMarshal.GetValueRefOrAddDefault(stats, feature, out _);
                counts.Episodes++;
                counts.Failures += facts.Failed ? 1 : 0;
                counts.Hash += mix;
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

        var logFactorials = new LogFactorials(total);
        var pValues = tested
            .Select(t => Proportions.FisherGreater(t.Counts.Failures, t.Counts.Episodes - t.Counts.Failures, failed - t.Counts.Failures, total - failed - (t.Counts.Episodes - t.Counts.Failures), logFactorials))
            .ToArray();
        var qValues = Proportions.BenjaminiHochberg(pValues);
        var informative = failed > 0 && failed < total;
        var patterns = new List<ContrastPattern>(tested.Count);
        for (var i = 0; i < tested.Count; i++)
        {
            var (feature, counts, aliases) = tested[i];
            var rate = (double)counts.Failures / counts.Episodes;
            var interval = Proportions.Wilson(counts.Failures, counts.Episodes, _options.IntervalZ);
            var lift = baseline > 0 ? rate / baseline : 0;
            var passes = informative
                && qValues[i] <= _options.Alpha
                && lift >= _options.MinLift
                && interval.Low > baseline;
            patterns.Add(new ContrastPattern(
                feature,
                Describe(feature, nameList),
                ToolsOf(feature, nameList),
                counts.Episodes,
                counts.Failures,
                rate,
                lift,
                interval,
                pValues[i],
                qValues[i],
                aliases,
                passes));
        }

        patterns.Sort((x, y) => x.P != y.P ? x.P.CompareTo(y.P) : string.CompareOrdinal(x.Description, y.Description));
        return new ContrastAnalysis(total, failed, baseline, patterns, judged, nameList);
    }

    private LessonCandidate ToCandidate(string tenant, ContrastAnalysis analysis, ContrastPattern pattern)
    {
        var withFeature = analysis.Episodes.Where(f => f.Features.Contains(pattern.Feature)).Select(f => f.Episode).ToArray();
        var (kind, text) = Advice(pattern.Feature, analysis.Names);
        return new LessonCandidate
        {
            Key = KeyPrefix + pattern.Description,
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords([.. Tokens.Keywords(pattern.Tools, [])]),
            Scope = new LessonScope { Tenant = tenant, Tools = pattern.Tools },
            Evidence = new LessonEvidence
            {
                EpisodeIds = withFeature.Select(e => e.Id).ToArray(),
                EpisodeCount = withFeature.Length,
                DistinctSources = withFeature.Select(e => e.UnitKey).Distinct(StringComparer.Ordinal).Count(),
                Support = pattern.Episodes,
                Lift = pattern.Lift,
                IntervalLow = pattern.Interval.Low,
                IntervalHigh = pattern.Interval.High,
            },
            Confidence = 1 - pattern.Q,
            Extractor = Info,
            Rationale = string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Description}: {pattern.Failures} of {pattern.Episodes} episodes failed ({pattern.FailureRate:P0}, interval {pattern.Interval.Low:P0}-{pattern.Interval.High:P0}) against a baseline of {analysis.Failed} of {analysis.Judged} ({analysis.Baseline:P0}); lift {pattern.Lift:F2}, one-sided Fisher p = {pattern.P:G3}, Benjamini-Hochberg q = {pattern.Q:G3} over {analysis.Patterns.Count} patterns tested{(pattern.Aliases > 0 ? $" ({pattern.Aliases} other patterns were shown by exactly the same episodes)" : "")}."),
        };
    }

    private static (LessonKind Kind, string Text) Advice(Feature feature, IReadOnlyList<string> names)
    {
        switch (feature.Kind)
        {
            case FeatureKind.MissingPrecondition:
                return (LessonKind.Guideline, $"Call {names[feature.A]} before calling {names[feature.B]}: episodes that called {names[feature.B]} without it failed more often.");
            case FeatureKind.Order:
                return (LessonKind.AntiPattern, $"Avoid calling {names[feature.A]} before {names[feature.B]}: episodes that did failed more often.");
            default:
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
                return (LessonKind.AntiPattern, $"Avoid calling {tool} with {shape}: such calls went with failed episodes more often.");
        }
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

internal struct FeatureCounts
{
    public int Episodes;
    public int Failures;

    /// <summary>Order-independent hash of the episodes showing the feature, to find features with identical episode sets.</summary>
    public ulong Hash;
}

/// <summary>What pass 1 learns about one judged episode.</summary>
internal sealed class EpisodeFacts(Episode episode, bool failed)
{
    public Episode Episode { get; } = episode;

    public bool Failed { get; } = failed;

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
    bool Passes);

/// <summary>The baseline and every tested pattern, most significant first.</summary>
internal sealed record ContrastAnalysis(int Judged, int Failed, double Baseline, IReadOnlyList<ContrastPattern> Patterns, IReadOnlyList<EpisodeFacts> Episodes, IReadOnlyList<string> Names);
