using System.Collections.Frozen;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Lore.Learning.Guards;

/// <summary>A guard's decision on one lesson: the lesson as it may be stored (status, findings, redactions) and why.</summary>
internal sealed record AdmissionVerdict(Lesson Lesson, IReadOnlyList<Finding> Findings)
{
    public LessonStatus Status => Lesson.Status;

    public IReadOnlyList<string> Rules => [.. Findings.Select(f => f.Rule).Distinct(StringComparer.Ordinal)];
}

/// <summary>
/// The admission guards built from an <see cref="AdmissionPolicy"/>, frozen: evidence (episodes and distinct sources),
/// confidence and support per kind, adaptation scopes, the kinds and tools that always need a reviewer, and the
/// content screen. Every guard runs on every lesson so that every rule that fires is named; then any blocking finding
/// rejects the lesson, any finding that needs a reviewer queues it, and otherwise it is admitted.
/// </summary>
internal sealed partial class AdmissionGuard
{
    private readonly int _minEpisodes;
    private readonly int _minSources;
    private readonly FrozenDictionary<LessonKind, (double Admit, double Review, int Support)> _kinds;
    private readonly AdaptationRule[] _scopes;
    private readonly FrozenSet<LessonKind> _reviewKinds;
    private readonly string[] _reviewTools;
    private readonly ContentScreen _content;
    private readonly int _minTasks;
    private readonly double _maxShare;
    private readonly bool _requireExemplars;
    private readonly FrozenSet<ToolEffect> _reviewEffects;
    private readonly ToolCatalog _tools;

    public AdmissionGuard(AdmissionPolicy policy, ToolCatalog tools)
    {
        policy.Validate();
        _tools = tools;
        _minEpisodes = policy.MinEpisodes;
        _minSources = policy.MinDistinctSources;
        _minTasks = policy.MinDistinctTasks;
        _maxShare = policy.MaxSourceShare;
        _requireExemplars = policy.RequireExemplars;
        _reviewEffects = policy.ReviewToolEffects.ToFrozenSet();
        _kinds = policy.Kinds.ToFrozenDictionary(p => p.Key, p => (p.Value.AdmitConfidence, p.Value.ReviewConfidence, p.Value.MinSupport));
        _scopes = [.. policy.Scopes.Select(s => new AdaptationRule(s.Tenant, s.Labels.ToFrozenDictionary(StringComparer.Ordinal), s.Extractors.ToFrozenSet(StringComparer.Ordinal), s.Kinds.ToFrozenSet(), s.RequireApproval, s.Describe()))];
        _reviewKinds = policy.ReviewKinds.ToFrozenSet();
        _reviewTools = [.. policy.ReviewTools];
        _content = new ContentScreen(policy);
    }

    /// <summary>
    /// Runs every guard. <paramref name="evidenceHosts"/> is asked (once, and only when the lesson names a host the
    /// policy does not list) for the hosts the evidence's tool calls passed as arguments.
    /// </summary>
    public async ValueTask<AdmissionVerdict> EvaluateAsync(Lesson lesson, Func<CancellationToken, ValueTask<IReadOnlySet<string>>>? evidenceHosts, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(lesson);
        var findings = new List<Finding>();
        CheckEvidence(lesson, findings);
        CheckThresholds(lesson, findings);
        CheckScope(lesson, findings);
        CheckReview(lesson, findings);

        var content = await ScreenAsync(lesson, evidenceHosts, cancellationToken).ConfigureAwait(false);
        findings.AddRange(content.Findings);
        return Decide(content.Lesson, findings);
    }

    /// <summary>The content screen alone, for lessons admitted earlier: they must still pass it to stay served.</summary>
    public async ValueTask<ContentResult> ScreenAsync(Lesson lesson, Func<CancellationToken, ValueTask<IReadOnlySet<string>>>? evidenceHosts, CancellationToken cancellationToken = default)
    {
        IReadOnlySet<string> hosts = EmptyHosts;
        if (evidenceHosts is not null && _content.HostsNotInPolicy(lesson).Count > 0)
        {
            hosts = await evidenceHosts(cancellationToken).ConfigureAwait(false);
        }

        // A match's timeout is wall-clock time: a thread starved by a busy machine, or an automaton still building its
        // states on first use, can run past it on an ordinary text. A pathological text keeps the CPU busy for the whole
        // timeout; a starved attempt got far less CPU than that (the process's own CPU time over the attempt bounds the
        // thread's), so it is tried again, a bounded number of times. Any other timeout counts: two of them refuse.
        var timeouts = 0;
        for (var starved = 0; ; )
        {
            var cpuBefore = Environment.CpuUsage.TotalTime;
            try
            {
                return _content.Screen(lesson, hosts);
            }
            catch (RegexMatchTimeoutException timeout)
            {
                var cpu = Environment.CpuUsage.TotalTime - cpuBefore;
                if (cpu < timeout.MatchTimeout / 2 && ++starved <= MaxStarvedScreens)
                {
                    continue;
                }

                if (++timeouts >= 2)
                {
                    // Fail closed: a text the screen cannot read in time, twice, is not served.
                    return new ContentResult(_content.RedactForStorageOrSelf(lesson), [new Finding(GuardRules.Unscreenable, "the text could not be screened in time (pathological input)", Severity.Block)]);
                }
            }
        }
    }

    /// <summary>How many timed-out screens that got less than half their timeout in CPU are tried again.</summary>
    private const int MaxStarvedScreens = 8;

    /// <summary>The lesson with its secrets and personal data cut out, for storing a refusal that was not screened again.</summary>
    public Lesson RedactForStorage(Lesson lesson) => _content.RedactForStorage(lesson);

    private static readonly IReadOnlySet<string> EmptyHosts = FrozenSet<string>.Empty;

    /// <summary>Rejected on any blocking finding, queued on any finding that asks for a reviewer, else admitted.</summary>
    private static AdmissionVerdict Decide(Lesson lesson, List<Finding> findings)
    {
        var status = findings.Any(f => f.Severity == Severity.Block) ? LessonStatus.Rejected
            : findings.Any(f => f.Severity == Severity.Review) ? LessonStatus.PendingReview
            : LessonStatus.Active;
        return new AdmissionVerdict(lesson with { Status = status, GuardFindings = [.. findings.Select(f => f.ToGuardFinding())] }, findings);
    }

    private void CheckEvidence(Lesson lesson, List<Finding> findings)
    {
        var evidence = lesson.Evidence;
        if (evidence.EpisodeCount < _minEpisodes)
        {
            findings.Add(new Finding(GuardRules.MinEpisodes, $"{evidence.EpisodeCount} supporting episodes, below the {_minEpisodes} required", Severity.Block));
        }

        // A fact about one user is only ever shown to that user, so one source is enough for it; nothing else.
        var ownUnitFact = lesson.Kind == LessonKind.UserFact && !string.IsNullOrEmpty(lesson.Scope.UnitKey);
        if (!ownUnitFact && evidence.DistinctSources < _minSources)
        {
            var why = lesson.Kind == LessonKind.UserFact ? " (a user fact without a unit scope would be shown to every unit)" : "";
            findings.Add(new Finding(GuardRules.MinSources, $"evidence from {evidence.DistinctSources} distinct sources, below the {_minSources} required{why}", Severity.Block));
        }

        if (ownUnitFact)
        {
            return;
        }

        if (evidence.DistinctTasks < _minTasks)
        {
            findings.Add(new Finding(GuardRules.MinTasks, $"evidence from {evidence.DistinctTasks} distinct tasks, below the {_minTasks} required", Severity.Block));
        }

        if (evidence.EpisodeCount > 0 && evidence.LargestSourceShare > _maxShare + ShareTolerance)
        {
            findings.Add(new Finding(GuardRules.SourceShare, string.Create(CultureInfo.InvariantCulture, $"one source contributed {evidence.LargestSourceShare:P0} of the evidence episodes, above the {_maxShare:P0} allowed"), Severity.Block));
        }

        if (!_requireExemplars || !Recommends(lesson))
        {
            return;
        }

        if (evidence.ExemplarSources < _minSources || evidence.ExemplarTasks < _minTasks)
        {
            findings.Add(new Finding(GuardRules.Exemplars, $"the recommended behaviour was shown to work in {evidence.ExemplarCount} episodes from {evidence.ExemplarSources} sources and {evidence.ExemplarTasks} tasks; {_minSources} sources and {_minTasks} tasks are required", Severity.Block));
        }
        else if (evidence.ExemplarLargestSourceShare > _maxShare + ShareTolerance)
        {
            findings.Add(new Finding(GuardRules.SourceShare, string.Create(CultureInfo.InvariantCulture, $"one source contributed {evidence.ExemplarLargestSourceShare:P0} of the episodes showing the recommended behaviour, above the {_maxShare:P0} allowed"), Severity.Block));
        }
    }

    /// <summary>Shares are stored rounded to four decimals; 2/3 stored as 0.6667 is still within a 2/3 limit.</summary>
    private const double ShareTolerance = 1e-3;

    /// <summary>True for lessons that ask the agent to do something, as opposed to warning it off something.</summary>
    private static bool Recommends(Lesson lesson)
        => lesson.Kind is LessonKind.Guideline or LessonKind.Procedure or LessonKind.ToolGuide
            || lesson.RecommendedTools is { Count: > 0 };

    /// <summary>The tools a lesson would make the agent call: what the extractor said, else every tool it names.</summary>
    internal static IReadOnlyList<string> RecommendedToolsOf(Lesson lesson)
        => lesson.RecommendedTools ?? lesson.Scope.Tools;

    private void CheckThresholds(Lesson lesson, List<Finding> findings)
    {
        var (admit, review, support) = _kinds[lesson.Kind];
        var confidence = lesson.Confidence;
        if (double.IsNaN(confidence) || confidence < review)
        {
            findings.Add(new Finding(GuardRules.LowConfidence, string.Create(CultureInfo.InvariantCulture, $"confidence {confidence:F2}, below the {lesson.Kind} review floor {review:F2}"), Severity.Block));
        }
        else if (confidence < admit)
        {
            findings.Add(new Finding(GuardRules.BorderlineConfidence, string.Create(CultureInfo.InvariantCulture, $"confidence {confidence:F2}, between the {lesson.Kind} review floor {review:F2} and admit threshold {admit:F2}"), Severity.Review));
        }

        var observed = Math.Max(lesson.Evidence.Support, lesson.Evidence.EpisodeCount);
        if (observed < support)
        {
            findings.Add(new Finding(GuardRules.LowSupport, $"observed {observed} times, below the {lesson.Kind} minimum support {support}", Severity.Block));
        }
    }

    private void CheckScope(Lesson lesson, List<Finding> findings)
    {
        if (_scopes.Length == 0)
        {
            return;
        }

        var match = _scopes.FirstOrDefault(s => s.Matches(lesson));
        if (match is null)
        {
            var labels = lesson.Scope.Labels.Count == 0 ? "no labels" : "labels " + string.Join(",", lesson.Scope.Labels.Select(p => $"{p.Key}={p.Value}"));
            findings.Add(new Finding(GuardRules.ScopeNotAllowed, $"no adaptation scope lets {lesson.Extractor.Name} learn {lesson.Kind} lessons for tenant '{lesson.Scope.Tenant}' with {labels}", Severity.Block));
        }
        else if (match.RequireApproval)
        {
            findings.Add(new Finding(GuardRules.ScopeRequiresApproval, $"the adaptation scope ({match.Description}) requires a reviewer's approval", Severity.Review));
        }
    }

    private void CheckReview(Lesson lesson, List<Finding> findings)
    {
        foreach (var tool in RecommendedToolsOf(lesson).Distinct(StringComparer.OrdinalIgnoreCase))
        {
            var effect = _tools.EffectOf(tool);
            if (_reviewEffects.Contains(effect))
            {
                findings.Add(new Finding(GuardRules.ToolEffect, $"it would make the agent call {tool}, a {EffectName(effect)} tool", Severity.Review));
            }
        }

        // A tool the text tells the agent to call that the extractor did not declare: the review reads the text too, or
        // a lesson could name a state-changing tool only in its words and pass as advice about reads. A call made only
        // under a condition (the user's confirmation, the policy, a precondition) or at the user's own request is a
        // procedure, read the same way the money and destructive intents are; so is a call the agent was already making:
        // retried after it failed ("then call X again") or ordered before another tool ("call X before calling Y", what
        // the contrast extractor learns).
        var declared = RecommendedToolsOf(lesson).Concat(lesson.Scope.Tools).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var text = IntentRules.Normalise(ScreenText.Of(lesson.Text).Visible);
        foreach (Match call in CalledTool().Matches(text))
        {
            var tool = call.Groups["tool"].Value;
            var effect = _tools.EffectOf(tool);
            if (!declared.Add(tool) || !_reviewEffects.Contains(effect) || AlreadyMade().IsMatch(text[(call.Index + call.Length)..]) || IntentRules.IsConditionedAction(text, call.Index, call.Length))
            {
                continue;
            }

            findings.Add(new Finding(GuardRules.ToolEffect, $"its text tells the agent to call {tool}, a {EffectName(effect)} tool its extractor did not declare", Severity.Review));
        }

        if (_reviewKinds.Contains(lesson.Kind))
        {
            findings.Add(new Finding(GuardRules.ReviewKind, $"{lesson.Kind} lessons always need a reviewer", Severity.Review));
        }

        foreach (var tool in _reviewTools)
        {
            var inScope = lesson.Scope.Tools.Contains(tool, StringComparer.OrdinalIgnoreCase);
            if (inScope || Regex.IsMatch(lesson.Text, $@"(?<![\w]){Regex.Escape(tool)}(?![\w])", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1)))
            {
                findings.Add(new Finding(GuardRules.ReviewTool, $"lessons about {tool} always need a reviewer", Severity.Review));
            }
        }
    }

    /// <summary>A tool named as what to call, in normalised (lower-case) text: "call update_user_address", "run modify_passengers".</summary>
    [GeneratedRegex(@"\b(?:call|calls|calling|run|runs|running|invoke|invokes|invoking|execute|executes|executing|trigger|triggers|triggering|use|uses|using|fire|fires|rerun|re-run)\s+(?:the\s+)?(?<tool>[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+)\b", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex CalledTool();

    /// <summary>What follows a call the agent was already making: "again", or "before (calling) another_tool".</summary>
    [GeneratedRegex(@"^[^.;!?\n]{0,40}?\b(?:again|before\s+(?:calling\s+|using\s+|the\s+)?[a-z][a-z0-9]*(?:[_-][a-z0-9]+)+)\b", RegexOptions.CultureInvariant, matchTimeoutMilliseconds: 1000)]
    private static partial Regex AlreadyMade();

    private static string EffectName(ToolEffect effect) => effect switch
    {
        ToolEffect.MoneyMoving => "money-moving",
        ToolEffect.PermissionChanging => "permission-changing",
        ToolEffect.StateChanging => "state-changing",
        ToolEffect.ReadOnly => "read-only",
        _ => "no-op",
    };

    private sealed record AdaptationRule(
        string? Tenant,
        FrozenDictionary<string, string> Labels,
        FrozenSet<string> Extractors,
        FrozenSet<LessonKind> Kinds,
        bool RequireApproval,
        string Description)
    {
        public bool Matches(Lesson lesson)
            => (Tenant is null || Tenant == lesson.Scope.Tenant)
                && (Extractors.Count == 0 || Extractors.Contains(lesson.Extractor.Name))
                && (Kinds.Count == 0 || Kinds.Contains(lesson.Kind))
                && Labels.All(p => (lesson.Scope.Labels.TryGetValue(p.Key, out var v) || lesson.Scope.EvidenceLabels.TryGetValue(p.Key, out v)) && v == p.Value);
    }
}
