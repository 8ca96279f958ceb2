using System.Globalization;
using Lore.Learning.Consolidation;
using Lore.Learning.Extraction;
using Lore.Learning.Text;

namespace Lore.Learning;

/// <summary>Thresholds of the <see cref="ToolErrorExtractor"/>.</summary>
public sealed class ToolErrorExtractorOptions
{
    /// <summary>An error pattern must occur in at least this many episodes to be proposed.</summary>
    public int MinEpisodes { get; set; } = 2;

    /// <summary>
    /// A recovery step (a look-up made before the retry, an argument changed) is named in the lesson only when the
    /// recoveries of at least this many distinct tasks show it: one task's trials agreeing with each other is not a
    /// consensus.
    /// </summary>
    public int RecipeMinTasks { get; set; } = 2;

    /// <summary>
    /// ...and more than this share of the tasks that recovered, taking every named step in the same recovery. The
    /// default, half, asks for a majority: when the recoveries split evenly between two fixes (another card, or a
    /// cheaper cabin) the data agrees on neither; with 1, every recovering task must agree.
    /// </summary>
    public double RecipeShare { get; set; } = 0.5;

    /// <summary>Throws naming the first option that is out of range.</summary>
    public ToolErrorExtractorOptions Validate()
    {
        if (MinEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MinEpisodes), MinEpisodes, "MinEpisodes must be at least 1.");
        if (RecipeMinTasks < 1) throw new ArgumentOutOfRangeException(nameof(RecipeMinTasks), RecipeMinTasks, "RecipeMinTasks must be at least 1.");
        if (RecipeShare is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(RecipeShare), RecipeShare, "RecipeShare must lie in (0, 1].");
        return this;
    }
}

/// <summary>
/// Learns from tool errors without a model, from evidence inside each episode: a call of tool T failed with error E,
/// then the agent did something and T (or a sibling look-up) succeeded. Errors are grouped by tool and normalised text
/// (ids, numbers, dates and quoted values generalised). Three kinds of lesson come out:
/// <list type="bullet">
/// <item>a recovery guide, when the recoveries of several distinct tasks agree on what fixed it (a read-only tool
/// called before the retry, an argument changed): "When T fails with E: call C first and change the A argument, then call T again";</item>
/// <item>an alternative, when a read-only sibling of a failing look-up (<c>find_user_id_by_email</c> then
/// <c>find_user_id_by_name_zip</c>) succeeded instead;</item>
/// <item>a warning, when identical retries of the same call failed again in several tasks.</item>
/// </list>
/// No-op tools (from <see cref="ToolCatalog"/>) are never named as a recovery step; a state-changing one may be, and
/// the admission guards then queue the lesson for a reviewer. Evidence is every
/// episode with the error; exemplars are the episodes whose recovery followed the recipe. Linear in the steps of the batch.
/// </summary>
public sealed class ToolErrorExtractor : ILessonExtractor
{
    /// <summary>Key prefix of recovery guides.</summary>
    internal const string RecoveryKeyPrefix = "tool-error:";

    /// <summary>Key prefix of alternative-tool guides.</summary>
    internal const string AlternativeKeyPrefix = "tool-error-alternative:";

    /// <summary>Key prefix of unchanged-retry warnings.</summary>
    internal const string UnrecoveredKeyPrefix = "tool-error-unrecovered:";

    private readonly ToolErrorExtractorOptions _options;
    private readonly ToolCatalog _tools;

    /// <summary>An extractor with the given thresholds (defaults when null) and tool catalog (which tools change state).</summary>
    public ToolErrorExtractor(ToolErrorExtractorOptions? options = null, ToolCatalog? tools = null)
    {
        _options = (options ?? new ToolErrorExtractorOptions()).Validate();
        _tools = tools ?? new ToolCatalog();
    }

    /// <inheritdoc />
    public ExtractorInfo Info { get; } = new(nameof(ToolErrorExtractor), "2.0");

    /// <inheritdoc />
    public Task<ExtractionResult> ExtractAsync(ExtractionBatch batch, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var candidates = new List<LessonCandidate>();
        var rejected = 0;
        var samples = new List<string>();
        foreach (var pattern in Analyze(batch.Episodes, cancellationToken))
        {
            if (pattern.Episodes.Count < _options.MinEpisodes)
            {
                continue;
            }

            var recipe = pattern.Recipe(_options.RecipeShare, _options.RecipeMinTasks);
            if (!recipe.IsEmpty)
            {
                candidates.Add(RecoveryGuide(batch.Tenant, pattern, recipe));
            }
            else if (pattern.Recovered.Count > 0 && samples.Count < 5)
            {
                rejected++;
                samples.Add($"{pattern.Tool} \"{pattern.Pattern}\": recovered in {pattern.RecoveredTasks.Count} tasks, but no recovery step was shared by {pattern.RecipeTasksNeeded(_options.RecipeShare, _options.RecipeMinTasks)} of them");
            }

            if (pattern.Alternative(_options.RecipeMinTasks) is { } alternative)
            {
                candidates.Add(AlternativeGuide(batch.Tenant, pattern, alternative));
            }

            if (pattern.UnchangedRetryTasks.Count >= _options.RecipeMinTasks)
            {
                candidates.Add(UnchangedRetryWarning(batch.Tenant, pattern));
            }
        }

        return Task.FromResult(new ExtractionResult(candidates, rejected, samples));
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
                if (!calls[i].Failed || _tools.IsNoOp(calls[i].Name))
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
                    patterns[key] = found = new ToolErrorPattern(key.Tool, key.Pattern, calls[positions[0]].Result ?? "", _tools);
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

    private LessonCandidate RecoveryGuide(string tenant, ToolErrorPattern pattern, RecoveryRecipe recipe)
    {
        var parts = new List<string>();
        if (recipe.Tools.Count > 0)
        {
            parts.Add($"call {ToolCalls.JoinWords(recipe.Tools)} first");
        }

        if (recipe.Arguments.Count > 0)
        {
            parts.Add($"change the {ToolCalls.JoinWords(recipe.Arguments)} argument{(recipe.Arguments.Count > 1 ? "s" : "")}");
        }

        // How reliable the fix is, not how often agents found it: of the tasks in which the recipe was tried after the
        // error, the share in which the retry then succeeded (uniform prior).
        var exemplars = pattern.RecoveredFollowing(recipe);
        var (worked, tried) = pattern.RecipeTasks(recipe);
        var confidence = Laplace(worked, tried);
        return Candidate(
            tenant,
            pattern,
            RecoveryKeyPrefix,
            LessonKind.ToolGuide,
            $"When {pattern.Tool} fails with \"{pattern.Pattern}\": {string.Join(" and ", parts)}, then call {pattern.Tool} again.",
            [pattern.Tool, .. recipe.Tools],
            recipe.Tools,
            pattern.Episodes,
            exemplars,
            pattern.Occurrences,
            confidence,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Tool} failed {pattern.Occurrences} times in {pattern.Episodes.Count} episodes of {pattern.Tasks.Count} tasks with \"{pattern.Pattern}\" (e.g. \"{Shorten(pattern.Example)}\"); a later call succeeded in {pattern.Recovered.Count} episodes of {pattern.RecoveredTasks.Count} tasks, {exemplars.Count} of them after {string.Join(" and ", parts)}; of {tried} tasks that tried it, {worked} succeeded (confidence {confidence:F2}, uniform prior). {pattern.Describe()}"));
    }

    private LessonCandidate AlternativeGuide(string tenant, ToolErrorPattern pattern, string alternative)
    {
        var exemplars = pattern.RecoveredBy(alternative);
        var tasks = pattern.AlternativeTasks(alternative);
        var confidence = Laplace(tasks, pattern.Tasks.Count);
        return Candidate(
            tenant,
            pattern,
            $"{AlternativeKeyPrefix}{alternative}:",
            LessonKind.ToolGuide,
            $"When {pattern.Tool} fails with \"{pattern.Pattern}\", call {alternative} instead.",
            [pattern.Tool, alternative],
            [alternative],
            pattern.Episodes,
            exemplars,
            pattern.Occurrences,
            confidence,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Tool} failed with \"{pattern.Pattern}\" in {pattern.Episodes.Count} episodes of {pattern.Tasks.Count} tasks; {alternative}, a read-only sibling, succeeded next in {exemplars.Count} episodes of {tasks} tasks (confidence {confidence:F2})."));
    }

    private LessonCandidate UnchangedRetryWarning(string tenant, ToolErrorPattern pattern)
    {
        var confidence = Laplace(pattern.UnchangedRetryTasks.Count, pattern.Tasks.Count);
        return Candidate(
            tenant,
            pattern,
            UnrecoveredKeyPrefix,
            LessonKind.AntiPattern,
            $"When {pattern.Tool} fails with \"{pattern.Pattern}\", do not retry the same call unchanged: identical retries failed again.",
            [pattern.Tool],
            [],
            pattern.UnchangedRetries,
            [],
            pattern.UnchangedRetries.Count,
            confidence,
            string.Create(
                CultureInfo.InvariantCulture,
                $"{pattern.Tool} was called again with identical arguments after failing with \"{pattern.Pattern}\" and failed the same way in {pattern.UnchangedRetries.Count} episodes of {pattern.UnchangedRetryTasks.Count} tasks (of {pattern.Tasks.Count} tasks with the error)."));
    }

    /// <summary>The shape every tool-error lesson shares: keyed by tool and pattern, scoped to the tools it names.</summary>
    private LessonCandidate Candidate(string tenant, ToolErrorPattern pattern, string keyPrefix, LessonKind kind, string text, IReadOnlyList<string> tools, IReadOnlyList<string> recommended, IReadOnlyList<string> episodes, IReadOnlyList<string> exemplars, int support, double confidence, string rationale)
        => new()
        {
            Key = $"{keyPrefix}{pattern.Tool}:{pattern.Pattern}",
            Kind = kind,
            Text = text,
            Trigger = LessonTrigger.OnKeywords([.. Tokens.Keywords(tools, [pattern.Pattern])]),
            Scope = new LessonScope { Tenant = tenant, Tools = [.. tools.Distinct(StringComparer.Ordinal)] },
            RecommendedTools = recommended,
            Evidence = new LessonEvidence
            {
                EpisodeIds = episodes,
                EpisodeCount = episodes.Count,
                Support = support,
                ExemplarEpisodeIds = exemplars,
                ExemplarCount = exemplars.Count,
            },
            Confidence = confidence,
            Extractor = Info,
            Rationale = rationale,
        };

    /// <summary>The posterior mean of a rate under a uniform prior: (k + 1) / (n + 2).</summary>
    private static double Laplace(int k, int n) => (k + 1.0) / (n + 2.0);

    private static string Shorten(string text) => text.Length <= 120 ? text : text[..117] + "...";
}

/// <summary>What fixed an error, as agreed by the recoveries of several tasks: read-only tools called first, arguments changed.</summary>
internal sealed record RecoveryRecipe(IReadOnlyList<string> Tools, IReadOnlyList<string> Arguments)
{
    public bool IsEmpty => Tools.Count == 0 && Arguments.Count == 0;
}

/// <summary>What is known about one (tool, normalised error) pair across a batch.</summary>
internal sealed class ToolErrorPattern(string tool, string pattern, string example, ToolCatalog tools)
{
    private readonly Dictionary<string, int> _between = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _changed = new(StringComparer.Ordinal);
    private readonly Dictionary<string, int> _failingShapes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _betweenTasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _changedTasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, List<string>> _bySibling = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<string>> _siblingTasks = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (HashSet<string> Between, HashSet<string> Changed)> _recoveries = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (string Task, HashSet<string> After)> _afterUnrecovered = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _taskOf = new(StringComparer.Ordinal);

    public string Tool { get; } = tool;

    /// <summary>The normalised error text.</summary>
    public string Pattern { get; } = pattern;

    /// <summary>The first raw error text seen.</summary>
    public string Example { get; } = example;

    public int Occurrences { get; private set; }

    public int UnrecoveredOccurrences { get; private set; }

    public List<string> Episodes { get; } = [];

    public HashSet<string> Units { get; } = new(StringComparer.Ordinal);

    /// <summary>Distinct tasks (<see cref="EvidenceLedger.TaskKey"/>) with the error.</summary>
    public HashSet<string> Tasks { get; } = new(StringComparer.Ordinal);

    /// <summary>Episodes where a successful call of the same tool followed the last failure.</summary>
    public List<string> Recovered { get; } = [];

    public HashSet<string> RecoveredTasks { get; } = new(StringComparer.Ordinal);

    public List<string> Unrecovered { get; } = [];

    public HashSet<string> UnrecoveredUnits { get; } = new(StringComparer.Ordinal);

    /// <summary>Episodes in which the same call, with identical arguments, failed again the same way.</summary>
    public List<string> UnchangedRetries { get; } = [];

    public HashSet<string> UnchangedRetryTasks { get; } = new(StringComparer.Ordinal);

    /// <summary>Other tools called between the last failure and the successful retry, counted once per recovered episode.</summary>
    public IReadOnlyDictionary<string, int> ToolsBetween => _between;

    /// <summary>Argument keys the successful retry changed, counted once per recovered episode and key.</summary>
    public IReadOnlyDictionary<string, int> ChangedArguments => _changed;

    /// <summary>Argument key sets of the failing calls ("a,b,c"), per failed call.</summary>
    public IReadOnlyDictionary<string, int> FailingArgumentShapes => _failingShapes;

    public void Observe(Episode episode, List<ToolCall> calls, List<int> failures)
    {
        var task = EvidenceLedger.TaskKey(episode);
        _taskOf[episode.Id] = task;
        Occurrences += failures.Count;
        Episodes.Add(episode.Id);
        Units.Add(episode.EvidenceSource);
        Tasks.Add(task);
        foreach (var position in failures)
        {
            var args = ParsedArguments.Parse(calls[position].ArgumentsJson, withValues: false);
            var shape = args.IsValid ? string.Join(",", args.Values.Keys.Order(StringComparer.Ordinal)) : "<invalid json>";
            _failingShapes[shape] = _failingShapes.GetValueOrDefault(shape) + 1;
        }

        if (HasUnchangedRetry(calls, failures))
        {
            UnchangedRetries.Add(episode.Id);
            UnchangedRetryTasks.Add(task);
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
            UnrecoveredUnits.Add(episode.EvidenceSource);
            UnrecoveredOccurrences += failures.Count;
            var after = new HashSet<string>(StringComparer.Ordinal);
            for (var i = last + 1; i < calls.Count; i++)
            {
                if (calls[i].Name != Tool && !calls[i].Failed && !tools.IsNoOp(calls[i].Name))
                {
                    after.Add(calls[i].Name);
                }
            }

            _afterUnrecovered[episode.Id] = (task, after);
            ObserveSibling(episode.Id, task, calls, last);
            return;
        }

        Recovered.Add(episode.Id);
        RecoveredTasks.Add(task);
        var between = new HashSet<string>(StringComparer.Ordinal);
        for (var i = last + 1; i < fix; i++)
        {
            // A scratchpad (think) is not a step. A state change made on the way can be named (the error may demand
            // it, "hold the seat first"), but a lesson naming one waits for a reviewer (RecommendedTools).
            if (calls[i].Name != Tool && !calls[i].Failed && !tools.IsNoOp(calls[i].Name))
            {
                between.Add(calls[i].Name);
            }
        }

        foreach (var name in between)
        {
            _between[name] = _between.GetValueOrDefault(name) + 1;
            Add(_betweenTasks, name, task);
        }

        var changed = ToolCalls.ChangedKeys(ParsedArguments.Parse(calls[last].ArgumentsJson), ParsedArguments.Parse(calls[fix].ArgumentsJson)).ToHashSet(StringComparer.Ordinal);
        foreach (var key in changed)
        {
            _changed[key] = _changed.GetValueOrDefault(key) + 1;
            Add(_changedTasks, key, task);
        }

        _recoveries[episode.Id] = (between, changed);
    }

    /// <summary>True when, after a failure, the same call with identical arguments failed again.</summary>
    private bool HasUnchangedRetry(List<ToolCall> calls, List<int> failures)
    {
        for (var f = 1; f < failures.Count; f++)
        {
            for (var g = 0; g < f; g++)
            {
                if (SameArguments(calls[failures[g]].ArgumentsJson, calls[failures[f]].ArgumentsJson))
                {
                    return true;
                }
            }
        }

        return false;
    }

    private static bool SameArguments(string? a, string? b)
    {
        var x = ParsedArguments.Parse(a);
        var y = ParsedArguments.Parse(b);
        return x.IsValid && y.IsValid && ToolCalls.ChangedKeys(x, y).Count == 0;
    }

    /// <summary>
    /// A look-up that failed and was never retried successfully, followed by a successful call of a read-only sibling
    /// (same leading words: find_user_id_by_email and find_user_id_by_name_zip): the sibling is the alternative.
    /// </summary>
    private void ObserveSibling(string episodeId, string task, List<ToolCall> calls, int last)
    {
        if (!tools.IsRead(Tool))
        {
            return;
        }

        for (var i = last + 1; i < calls.Count; i++)
        {
            if (calls[i].Failed || calls[i].Name == Tool || !tools.IsRead(calls[i].Name))
            {
                continue;
            }

            if (AreSiblings(Tool, calls[i].Name))
            {
                if (!_bySibling.TryGetValue(calls[i].Name, out var list))
                {
                    _bySibling[calls[i].Name] = list = [];
                }

                list.Add(episodeId);
                Add(_siblingTasks, calls[i].Name, task);
            }

            return;
        }
    }

    /// <summary>Two tools are siblings when their names share their first two words and differ after them.</summary>
    internal static bool AreSiblings(string a, string b)
    {
        var x = ToolCatalog.Words(a);
        var y = ToolCatalog.Words(b);
        return x.Count >= 3 && y.Count >= 3 && x[0] == y[0] && x[1] == y[1] && !x.SequenceEqual(y);
    }

    /// <summary>The sibling that replaced the failing look-up in at least <paramref name="minTasks"/> tasks, if any.</summary>
    public string? Alternative(int minTasks)
        => _siblingTasks.Where(p => p.Value.Count >= minTasks)
            .OrderByDescending(p => p.Value.Count).ThenBy(p => p.Key, StringComparer.Ordinal)
            .Select(p => p.Key).FirstOrDefault();

    public IReadOnlyList<string> RecoveredBy(string sibling) => _bySibling.TryGetValue(sibling, out var list) ? list : [];

    public int AlternativeTasks(string sibling) => _siblingTasks.TryGetValue(sibling, out var set) ? set.Count : 0;

    /// <summary>
    /// The recovery the recovered tasks agree on: read-only tools called before the retry, and argument keys the retry
    /// changed, taken together in the recoveries of at least <see cref="RecipeTasksNeeded"/> distinct tasks. Steps are
    /// added most supported first, each only while enough tasks still took all the steps chosen so far in one recovery,
    /// so the lesson never names a combination ("change the payment_id and cabin arguments") that no majority of the
    /// recoveries made, though each step alone had one. Empty when nothing is agreed on.
    /// </summary>
    public RecoveryRecipe Recipe(double share, int minTasks)
    {
        var needed = RecipeTasksNeeded(share, minTasks);
        var steps = _betweenTasks.Where(p => p.Value.Count >= needed).Select(p => (Tool: true, Name: p.Key, Tasks: p.Value.Count))
            .Concat(_changedTasks.Where(p => p.Value.Count >= needed).Select(p => (Tool: false, Name: p.Key, Tasks: p.Value.Count)))
            .OrderByDescending(p => p.Tasks).ThenByDescending(p => p.Tool).ThenBy(p => p.Name, StringComparer.Ordinal)
            .ToArray();
        var tools = new List<string>();
        var arguments = new List<string>();
        var following = Recovered.Where(_recoveries.ContainsKey).ToList();
        foreach (var (tool, name, _) in steps)
        {
            var still = following.Where(id => (tool ? _recoveries[id].Between : _recoveries[id].Changed).Contains(name)).ToList();
            if (still.Select(id => _taskOf[id]).Distinct(StringComparer.Ordinal).Count() < needed)
            {
                continue;
            }

            following = still;
            (tool ? tools : arguments).Add(name);
        }

        return new RecoveryRecipe(tools, arguments);
    }

    /// <summary>
    /// How many distinct recovered tasks a recipe needs: at least <paramref name="minTasks"/>, and more than
    /// <paramref name="share"/> of the tasks that recovered (all of them when the share is 1).
    /// </summary>
    public int RecipeTasksNeeded(double share, int minTasks)
        => Math.Max(minTasks, Math.Min(RecoveredTasks.Count, (int)Math.Floor((share * RecoveredTasks.Count) + 1e-9) + 1));

    /// <summary>Recovered episodes whose recovery contained at least one step of the recipe.</summary>
    public IReadOnlyList<string> RecoveredFollowing(RecoveryRecipe recipe)
        => [.. Recovered.Where(id => _recoveries.TryGetValue(id, out var r) && (recipe.Tools.Any(r.Between.Contains) || recipe.Arguments.Any(r.Changed.Contains)))];

    /// <summary>
    /// Tasks in which the recipe's steps were taken after the error, and how many of them then succeeded. A task counts
    /// as a success when any of its episodes recovered after following the recipe; argument changes can only be seen in
    /// retries, so a recipe of argument changes alone is judged by the recoveries.
    /// </summary>
    public (int Worked, int Tried) RecipeTasks(RecoveryRecipe recipe)
    {
        var worked = RecoveredFollowing(recipe).Select(id => _taskOf[id]).ToHashSet(StringComparer.Ordinal);
        var failed = _afterUnrecovered.Values.Where(u => recipe.Tools.Any(u.After.Contains)).Select(u => u.Task).Where(t => !worked.Contains(t)).ToHashSet(StringComparer.Ordinal);
        return (worked.Count, worked.Count + failed.Count);
    }

    /// <summary>The failing call's shape and the observed recoveries, for the rationale.</summary>
    public string Describe()
    {
        var shape = _failingShapes.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).First().Key;
        var text = $"Failing calls used arguments {{{shape}}}.";
        if (_between.Count > 0)
        {
            text += " Looked up before the successful retry: " + string.Join(", ", _between.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} ({p.Value} episodes, {_betweenTasks[p.Key].Count} tasks)")) + ".";
        }

        if (_changed.Count > 0)
        {
            text += " Arguments the retry changed: " + string.Join(", ", _changed.OrderByDescending(p => p.Value).ThenBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key} ({p.Value} episodes, {_changedTasks[p.Key].Count} tasks)")) + ".";
        }

        return text;
    }

    private static void Add(Dictionary<string, HashSet<string>> map, string key, string task)
    {
        if (!map.TryGetValue(key, out var set))
        {
            map[key] = set = new HashSet<string>(StringComparer.Ordinal);
        }

        set.Add(task);
    }
}
