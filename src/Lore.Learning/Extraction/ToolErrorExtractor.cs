using System.Globalization;
using Lore.Learning.Extraction;
using Lore.Learning.Statistics;
using Lore.Learning.Text;

namespace Lore.Learning;

/// <summary>Thresholds of the <see cref="ToolErrorExtractor"/>.</summary>
public sealed class ToolErrorExtractorOptions
{
    /// <summary>An error pattern must occur in at least this many episodes to be proposed.</summary>
    public int MinEpisodes { get; set; } = 2;

    /// <summary>The z of the Wilson interval whose lower bound is a candidate's confidence (1.645: one-sided 95%).</summary>
    public double ConfidenceZ { get; set; } = 1.645;

    /// <summary>A recovery step (a tool called before the retry, an argument changed) is named in the lesson when at least this share of recovered episodes shows it.</summary>
    public double RecipeShare { get; set; } = 0.5;

    /// <summary>Throws naming the first option that is out of range.</summary>
    public ToolErrorExtractorOptions Validate()
    {
        if (MinEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MinEpisodes), MinEpisodes, "MinEpisodes must be at least 1.");
        if (double.IsNaN(ConfidenceZ) || ConfidenceZ < 0) throw new ArgumentOutOfRangeException(nameof(ConfidenceZ), ConfidenceZ, "ConfidenceZ must not be negative.");
        if (RecipeShare is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(RecipeShare), RecipeShare, "RecipeShare must lie in (0, 1].");
        return this;
    }
}

/// <summary>
/// Learns from tool errors without a model: it groups failed tool calls by tool and normalised error text (ids,
/// numbers, dates and quoted values generalised), then looks at what the agent did next. A pattern the agent got past
/// becomes a <see cref="LessonKind.ToolGuide"/> naming the recovery (the tools called before the successful retry and
/// the arguments it changed); a pattern the agent repeatedly did not get past becomes an
/// <see cref="LessonKind.AntiPattern"/>. Confidence is the Wilson lower bound of the recovery (or non-recovery) rate,
/// so a handful of episodes cannot make a confident lesson. Runs in time linear in the steps of the batch.
/// </summary>
public sealed class ToolErrorExtractor : ILessonExtractor
{
    /// <summary>Key prefix of recovery guides.</summary>
    internal const string RecoveryKeyPrefix = "tool-error:";

    /// <summary>Key prefix of unrecovered-error anti-patterns.</summary>
    internal const string UnrecoveredKeyPrefix = "tool-error-unrecovered:";

    private readonly ToolErrorExtractorOptions _options;

    public ToolErrorExtractor(ToolErrorExtractorOptions? options = null)
        => _options = (options ?? new ToolErrorExtractorOptions()).Validate();

    public ExtractorInfo Info { get; } = new(nameof(ToolErrorExtractor), "1.0");

    public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var candidates = new List<LessonCandidate>();
        foreach (var pattern in Analyze(batch.Episodes, cancellationToken))
        {
            if (pattern.Episodes.Count < _options.MinEpisodes)
            {
                continue;
            }

            if (pattern.Recovered.Count > 0)
            {
                candidates.Add(RecoveryGuide(batch.Tenant, pattern));
            }

            if (pattern.Unrecovered.Count >= _options.MinEpisodes)
            {
                candidates.Add(UnrecoveredWarning(batch.Tenant, pattern));
            }
        }

        return Task.FromResult(new ExtractionResult(candidates));
    }

    /// <summary>Every error pattern in the episodes with its counts, most frequent first (by episodes, then occurrences).</summary>
    internal IReadOnlyList<ToolErrorPattern> Analyze(IReadOnlyList<Episode> episodes, CancellationToken cancellationToken = default)
    {
        var patterns = new Dictionary<(string Tool, string Pattern), ToolErrorPattern>();
        var failuresByKey = new Dictionary<(string Tool, string Pattern), List<int>>();
        var normalized = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var e = 0; e < episodes.Count; e++)
        {
            if ((e & 255) == 0)
            {
                cancellationToken.ThrowIfCancellationRequested();
            }

            var episode = episodes[e];
            var calls = ToolCalls.Of(episode);
            failuresByKey.Clear();
            for (var i = 0; i < calls.Count; i++)
            {
                if (!calls[i].Failed)
                {
                    continue;
                }

                var raw = calls[i].Result ?? "";
                if (!normalized.TryGetValue(raw, out var pattern))
                {
                    normalized[raw] = pattern = ErrorNormalizer.Normalize(raw);
                }

                var key = (calls[i].Name, pattern);
                if (!failuresByKey.TryGetValue(key, out var positions))
                {
                    failuresByKey[key] = positions = [];
                }

                positions.Add(i);
            }

            foreach (var (key, positions) in failuresByKey)
            {
                if (!patterns.TryGetValue(key, out var found))
                {
                    patterns[key] = found = new ToolErrorPattern(key.Tool, key.Pattern, calls[positions[0]].Result ?? "");
                }

                found.Observe(episode, calls, positions);
            }
        }

        return patterns.Values
            .OrderByDescending(p => p.Episodes.Count)
            .ThenByDescending(p => p.Occurrences)
            .ThenBy(p => p.Tool, StringComparer.Ordinal)
            .ThenBy(p => p.Pattern, StringComparer.Ordinal)
            .ToArray();
    }

    private LessonCandidate RecoveryGuide(string tenant, ToolErrorPattern pattern)
    {
        var recipe = pattern.Recipe(_options.RecipeShare);
        var steps = recipe.Count > 0 ? ToolCalls.JoinWords(recipe) : "check the call's arguments against the error";
        var rate = Proportions.Wilson(pattern.Recovered.Count, pattern.Episodes.Count, _options.ConfidenceZ);
        return Candidate(
            tenant,
            pattern,
            RecoveryKeyPrefix,
            LessonKind.ToolGuide,
            $"When {pattern.Tool} fails with \"{pattern.Pattern}\", {steps}, then call {pattern.Tool} again.",
            pattern.Episodes,
            pattern.Units.Count,
            pattern.Occurrences,
            rate,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Tool} failed {pattern.Occurrences} times in {pattern.Episodes.Count} episodes from {pattern.Units.Count} sources with \"{pattern.Pattern}\" (e.g. \"{Shorten(pattern.Example)}\"); a later call succeeded in {pattern.Recovered.Count} of them (recovery rate {(double)pattern.Recovered.Count / pattern.Episodes.Count:P0}, Wilson lower bound {rate.Low:F2}). {pattern.Describe()}"));
    }

    private LessonCandidate UnrecoveredWarning(string tenant, ToolErrorPattern pattern)
    {
        var recipe = pattern.Recipe(_options.RecipeShare);
        var rate = Proportions.Wilson(pattern.Unrecovered.Count, pattern.Episodes.Count, _options.ConfidenceZ);
        var text = $"When {pattern.Tool} fails with \"{pattern.Pattern}\", do not keep retrying it as it is: in the episodes that did, it never succeeded.";
        if (recipe.Count > 0)
        {
            text += $" What worked elsewhere: {ToolCalls.JoinWords(recipe)}.";
        }

        return Candidate(
            tenant,
            pattern,
            UnrecoveredKeyPrefix,
            LessonKind.AntiPattern,
            text,
            pattern.Unrecovered,
            pattern.UnrecoveredUnits.Count,
            pattern.UnrecoveredOccurrences,
            rate,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Tool} failed with \"{pattern.Pattern}\" in {pattern.Episodes.Count} episodes and never succeeded afterwards in {pattern.Unrecovered.Count} of them ({pattern.UnrecoveredOccurrences} failed calls, {pattern.UnrecoveredUnits.Count} sources; Wilson lower bound {rate.Low:F2}). {pattern.Describe()}"));
    }

    /// <summary>The shape both kinds of tool-error lesson share: keyed by tool and pattern, scoped to the tool, confidence the Wilson lower bound.</summary>
    private LessonCandidate Candidate(string tenant, ToolErrorPattern pattern, string keyPrefix, LessonKind kind, string text, IReadOnlyList<string> episodes, int units, int support, Interval rate, string rationale)
        => new()
        {
            Key = $"{keyPrefix}{pattern.Tool}:{pattern.Pattern}",
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords([.. Tokens.Keywords([pattern.Tool], [pattern.Pattern])]),
            Scope = new LessonScope { Tenant = tenant, Tools = [pattern.Tool] },
            Evidence = new LessonEvidence
            {
                EpisodeIds = episodes,
                EpisodeCount = episodes.Count,
                DistinctSources = units,
                Support = support,
                IntervalLow = rate.Low,
                IntervalHigh = rate.High,
            },
            Confidence = rate.Low,
            Extractor = Info,
            Rationale = rationale,
        };

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";
}

/// <summary>What is known about one (tool, normalised error) pair across a batch.</summary>
internal sealed class ToolErrorPattern(string tool, string pattern, string example)
{
    private readonly Dictionary<string, int> _between = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _changed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failingShapes = new(StringComparer.Ordinal);

    public string Tool { get; } = tool;

    /// <summary>The normalised error text.</summary>
    public string Pattern { get; } = pattern;

    /// <summary>The first raw error text seen.</summary>
    public string Example { get; } = example;

    public int Occurrences { get; private set; }

    public int UnrecoveredOccurrences { get; private set; }

    public List<string> Episodes { get; } = [];

    public HashSet<string> Units { get; } = new(StringComparer.Ordinal);

    /// <summary>Episodes where a successful call of the same tool followed the last failure.</summary>
    public List<string> Recovered { get; } = [];

    public List<string> Unrecovered { get; } = [];

    public HashSet<string> UnrecoveredUnits { get; } = new(StringComparer.Ordinal);

    /// <summary>Other tools called between the last failure and the successful retry, counted once per recovered episode.</summary>
    public IReadOnlyDictionary<string, int> ToolsBetween => _between;

    /// <summary>Sets of argument keys the successful retry changed ("a+b", or "" for an identical retry), per recovered episode.</summary>
    public IReadOnlyDictionary<string, int> ChangedArguments => _changed;

    /// <summary>Argument key sets of the failing calls ("a,b,c"), per failed call.</summary>
    public IReadOnlyDictionary<string, int> FailingArgumentShapes => _failingShapes;

    public void Observe(Episode episode, List<ToolCall> calls, List<int> failures)
    {
        Occurrences += failures.Count;
        Episodes.Add(episode.Id);
        Units.Add(episode.UnitKey);
        foreach (var position in failures)
        {
            var args = ParsedArguments.Parse(calls[position].ArgumentsJson, withValues: false);
            var shape = args.IsValid ? string.Join(",", args.Values.Keys.Order(StringComparer.Ordinal)) : "<invalid json>";
            _failingShapes[shape] = _failingShapes.GetValueOrDefault(shape) + 1;
        }

        var last = failures[^1];
        var fix = -1;
        for (var i = last + 1; i < calls.Count; i++)
        {
            if (calls[i].Name == Tool && !calls[i].Failed)
            {
                fix = i;
                break;
            }
        }

        if (fix < 0)
        {
            Unrecovered.Add(episode.Id);
            UnrecoveredUnits.Add(episode.UnitKey);
            UnrecoveredOccurrences += failures.Count;
            return;
        }

        Recovered.Add(episode.Id);
        var between = new HashSet<string>(StringComparer.Ordinal);
        for (var i = last + 1; i < fix; i++)
        {
            if (calls[i].Name != Tool)
            {
                between.Add(calls[i].Name);
            }
        }

        foreach (var name in between)
        {
            _between[name] = _between.GetValueOrDefault(name) + 1;
        }

        var changed = string.Join("+", ToolCalls.ChangedKeys(ParsedArguments.Parse(calls[last].ArgumentsJson), ParsedArguments.Parse(calls[fix].ArgumentsJson)));
        _changed[changed] = _changed.GetValueOrDefault(changed) + 1;
    }

    /// <summary>
    /// The recovery as sentence parts: the tools most recovered episodes called before the retry, and the argument set
    /// most of them changed; empty when no step is shared by at least <paramref name="share"/> of the recoveries.
    /// </summary>
    public IReadOnlyList<string> Recipe(double share)
    {
        var parts = new List<string>();
        var needed = Math.Max(1, (int)Math.Ceiling(share * Recovered.Count));
        var tools = _between.Where(p => p.Value >= needed)
            .OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key).ToArray();
        if (tools.Length > 0)
        {
            parts.Add($"call {ToolCalls.JoinWords(tools)} first");
        }

        var changed = _changed.Where(p => p.Key.Length > 0 && p.Value >= needed)
            .OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key).FirstOrDefault();
        if (changed is not null)
        {
            parts.Add($"change {ToolCalls.JoinWords(changed.Split('+'))}");
        }

        return parts;
    }

    /// <summary>The failing call's shape and the observed recoveries, for the rationale.</summary>
    public string Describe()
    {
        var shape = _failingShapes.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).First().Key;
        var text = $"Failing calls used arguments {{{shape}}}.";
        if (_between.Count > 0)
        {
            text += " Called before the successful retry: " + string.Join(", ", _between.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} ({p.Value})")) + ".";
        }

        if (_changed.Count > 0)
        {
            text += " Arguments the retry changed: " + string.Join(", ", _changed.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{(p.Key.Length == 0 ? "none" : p.Key)} ({p.Value})")) + ".";
        }

        return text;
    }
}
