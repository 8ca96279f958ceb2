using System.Globalization;

namespace Lore.Learning;

/// <summary>
/// What a lesson must show before it may be served: enough independent evidence, clean content, enough confidence
/// for its kind, and permission to learn in its scope. One user's workaround, one odd edge case or one attacker must
/// never be able to make a lesson by themselves, and nothing that reads as an instruction to the agent, a request for
/// data, an unknown address, a secret or personal data reaches a model call. Plain options with validated defaults;
/// the learning pipeline builds an immutable guard from them once.
/// </summary>
public sealed class AdmissionPolicy
{
    /// <summary>A lesson needs at least this many supporting episodes.</summary>
    public int MinEpisodes { get; set; } = 3;

    /// <summary>
    /// A lesson needs evidence from at least this many distinct sources (<see cref="Episode.EvidenceSource"/>: a trusted
    /// unit, or an API key that may not assert units). A <see cref="LessonKind.UserFact"/> scoped to its own unit is
    /// exempt: it is only ever shown to that unit. Together with <see cref="MaxSourceShare"/> and the exemplar rule this
    /// is what keeps one source from making a lesson.
    /// </summary>
    public int MinDistinctSources { get; set; } = 2;

    /// <summary>A lesson needs evidence from at least this many distinct tasks (repeated trials of one task count once).</summary>
    public int MinDistinctTasks { get; set; } = 2;

    /// <summary>
    /// No single source may make up more than this share of a lesson's evidence episodes, nor of its exemplars (the
    /// episodes that show the recommended behaviour working), so one heavy contributor cannot carry a lesson.
    /// </summary>
    public double MaxSourceShare { get; set; } = 2.0 / 3;

    /// <summary>
    /// A lesson that recommends doing something (guidelines, procedures, tool guides, or any lesson that names tools to
    /// call) needs that behaviour shown to work in episodes from at least <see cref="MinDistinctSources"/> sources and
    /// <see cref="MinDistinctTasks"/> tasks: others' failures alone do not make a recommendation.
    /// </summary>
    public bool RequireExemplars { get; set; } = true;

    /// <summary>
    /// Lessons that would make the agent call a tool with one of these effects wait for a reviewer (effects come from
    /// <see cref="LearningOptions.Tools"/>). By default every effect beyond reading.
    /// </summary>
    public ISet<ToolEffect> ReviewToolEffects { get; } = new HashSet<ToolEffect> { ToolEffect.StateChanging, ToolEffect.MoneyMoving, ToolEffect.PermissionChanging };

    /// <summary>Confidence and support thresholds per lesson kind; every kind has an entry by default.</summary>
    public IDictionary<LessonKind, KindThresholds> Kinds { get; } = new Dictionary<LessonKind, KindThresholds>
    {
        [LessonKind.Guideline] = new() { AdmitConfidence = 0.6, ReviewConfidence = 0.5 },
        [LessonKind.Procedure] = new() { AdmitConfidence = 0.6, ReviewConfidence = 0.5 },
        [LessonKind.ToolGuide] = new() { AdmitConfidence = 0.5, ReviewConfidence = 0.4 },
        [LessonKind.AntiPattern] = new() { AdmitConfidence = 0.5, ReviewConfidence = 0.4 },
        [LessonKind.UserFact] = new() { AdmitConfidence = 0.7, ReviewConfidence = 0.6 },
    };

    /// <summary>
    /// Hosts a lesson may name (URLs, e-mail domains, bare domains, IP addresses): the hosts of your tool schema and
    /// services. A host also counts as known when the lesson's evidence episodes passed it as a tool-call argument;
    /// tool results do not count, since they are where injected content arrives. Subdomains of a listed host match.
    /// </summary>
    public ISet<string> KnownHosts { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>What to do with personal data (e-mail addresses, phone numbers, card numbers, IBANs, SSN-like numbers).</summary>
    public SensitiveDataHandling PersonalData { get; set; } = SensitiveDataHandling.Redact;

    /// <summary>What to do with secrets (API keys, tokens, private keys, passwords).</summary>
    public SensitiveDataHandling Secrets { get; set; } = SensitiveDataHandling.Reject;

    /// <summary>A redacted lesson is kept only when at least this many words of three or more letters remain outside the redactions.</summary>
    public int MinWordsAfterRedaction { get; set; } = 4;

    /// <summary>
    /// Topics lessons must not touch (for example "pricing", "medical advice", "refund policy"): a lesson naming one is
    /// rejected, or queued for review when <see cref="ReviewProtectedTopics"/> is set.
    /// </summary>
    public IList<string> ProtectedTopics { get; } = [];

    /// <summary>Queue lessons that name a protected topic for review instead of rejecting them.</summary>
    public bool ReviewProtectedTopics { get; set; }

    /// <summary>
    /// Which extractors and kinds may learn for which tenants and labels, first match wins. Empty: learning may adapt
    /// anywhere. Non-empty: a lesson no entry matches is rejected.
    /// </summary>
    public IList<AdaptationScope> Scopes { get; } = [];

    /// <summary>Lessons of these kinds always wait for a reviewer.</summary>
    public ISet<LessonKind> ReviewKinds { get; } = new HashSet<LessonKind>();

    /// <summary>Lessons about these tools (in their scope or named in their text) always wait for a reviewer.</summary>
    public ISet<string> ReviewTools { get; } = new HashSet<string>(StringComparer.OrdinalIgnoreCase);

    /// <summary>
    /// Any non-blocking finding (a redaction, a word mixing alphabets) sends the lesson to review (the default); when
    /// false such findings are recorded and the lesson is admitted.
    /// </summary>
    public bool ReviewFindings { get; set; } = true;

    /// <summary>
    /// A lesson written in a language the content screen does not read (its rules read English, French, German,
    /// Spanish, Portuguese, Italian, Dutch, Russian, Chinese and Japanese) waits for a reviewer, since no rule could
    /// have seen what it says (the default). Set false when your agents work in another language and you accept that
    /// its lessons are admitted on their evidence and the other guards alone; the finding is still recorded with each.
    /// </summary>
    public bool ReviewUnreadLanguages { get; set; } = true;

    /// <summary>Throws naming the first setting that is out of range.</summary>
    public AdmissionPolicy Validate()
    {
        if (MinEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MinEpisodes), MinEpisodes, "MinEpisodes must be at least 1.");
        if (MinDistinctSources < 1) throw new ArgumentOutOfRangeException(nameof(MinDistinctSources), MinDistinctSources, "MinDistinctSources must be at least 1.");
        if (MinDistinctTasks < 1) throw new ArgumentOutOfRangeException(nameof(MinDistinctTasks), MinDistinctTasks, "MinDistinctTasks must be at least 1.");
        if (double.IsNaN(MaxSourceShare) || MaxSourceShare is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MaxSourceShare), MaxSourceShare, "MaxSourceShare must lie in (0, 1].");
        if (MinWordsAfterRedaction < 0) throw new ArgumentOutOfRangeException(nameof(MinWordsAfterRedaction), MinWordsAfterRedaction, "MinWordsAfterRedaction must not be negative.");
        if (!Enum.IsDefined(PersonalData)) throw new ArgumentOutOfRangeException(nameof(PersonalData), PersonalData, "PersonalData must be Redact or Reject.");
        if (!Enum.IsDefined(Secrets)) throw new ArgumentOutOfRangeException(nameof(Secrets), Secrets, "Secrets must be Redact or Reject.");
        foreach (var kind in Enum.GetValues<LessonKind>())
        {
            if (!Kinds.TryGetValue(kind, out var thresholds) || thresholds is null)
            {
                throw new ArgumentException($"Kinds has no thresholds for {kind}; every lesson kind needs an entry.", nameof(Kinds));
            }

            thresholds.Validate(kind);
        }

        foreach (var host in KnownHosts)
        {
            if (string.IsNullOrWhiteSpace(host) || host.Contains('/', StringComparison.Ordinal) || host.Contains(' ', StringComparison.Ordinal))
            {
                throw new ArgumentException($"KnownHosts entry '{host}' is not a host name (give 'api.example.com', not a URL).", nameof(KnownHosts));
            }
        }

        foreach (var topic in ProtectedTopics)
        {
            if (string.IsNullOrWhiteSpace(topic) || Guards.ScreenText.Of(topic).Squashed.Length < 3)
            {
                throw new ArgumentException($"ProtectedTopics entry '{topic}' needs at least three letters.", nameof(ProtectedTopics));
            }
        }

        for (var i = 0; i < Scopes.Count; i++)
        {
            if (Scopes[i] is null)
            {
                throw new ArgumentException($"Scopes[{i}] is null.", nameof(Scopes));
            }

            Scopes[i].Validate(i);
        }

        return this;
    }

    /// <summary>Validates and freezes the policy into the guard the pipeline runs; later changes to this object do not affect it.</summary>
    internal Guards.AdmissionGuard Build(ToolCatalog? tools = null) => new(Validate(), tools ?? new ToolCatalog());
}

/// <summary>How sure learning must be of a lesson of one kind, and how often its pattern must have been seen.</summary>
public sealed class KindThresholds
{
    /// <summary>At or above this confidence a lesson is admitted (other guards permitting).</summary>
    public double AdmitConfidence { get; set; } = 0.5;

    /// <summary>Below this confidence a lesson is rejected; between this and <see cref="AdmitConfidence"/> it waits for a reviewer.</summary>
    public double ReviewConfidence { get; set; } = 0.4;

    /// <summary>The pattern must have been observed at least this many times.</summary>
    public int MinSupport { get; set; } = 3;

    internal void Validate(LessonKind kind)
    {
        if (double.IsNaN(AdmitConfidence) || AdmitConfidence is < 0 or > 1)
        {
            throw new ArgumentOutOfRangeException(nameof(AdmitConfidence), AdmitConfidence, $"Kinds[{kind}].AdmitConfidence must lie in [0, 1].");
        }

        if (double.IsNaN(ReviewConfidence) || ReviewConfidence < 0 || ReviewConfidence > AdmitConfidence)
        {
            throw new ArgumentOutOfRangeException(nameof(ReviewConfidence), ReviewConfidence, string.Create(CultureInfo.InvariantCulture, $"Kinds[{kind}].ReviewConfidence must lie in [0, AdmitConfidence {AdmitConfidence}]."));
        }

        if (MinSupport < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(MinSupport), MinSupport, $"Kinds[{kind}].MinSupport must be at least 1.");
        }
    }
}

/// <summary>Whether sensitive data in a lesson is cut out (when the rest of the lesson still says something) or refused.</summary>
public enum SensitiveDataHandling
{
    /// <summary>Replace it with a placeholder; a lesson with too little left is rejected.</summary>
    Redact,

    /// <summary>Reject the lesson.</summary>
    Reject,
}

/// <summary>
/// One entry of the adaptation scopes: which extractors and kinds may learn lessons for a tenant, confined to which
/// labels, and whether such lessons need a reviewer. A lesson matches when every set field matches it.
/// </summary>
public sealed class AdaptationScope
{
    /// <summary>The tenant the entry applies to; null for every tenant.</summary>
    public string? Tenant { get; set; }

    /// <summary>Labels the lesson's scope must carry (all of them), so it is only ever served inside them; empty for any.</summary>
    public IDictionary<string, string> Labels { get; } = new Dictionary<string, string>(StringComparer.Ordinal);

    /// <summary>Extractor names allowed to learn here; empty for any.</summary>
    public ISet<string> Extractors { get; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Lesson kinds allowed here; empty for any.</summary>
    public ISet<LessonKind> Kinds { get; } = new HashSet<LessonKind>();

    /// <summary>Lessons this entry matches wait for a reviewer.</summary>
    public bool RequireApproval { get; set; }

    internal string Describe()
    {
        var parts = new List<string> { Tenant is null ? "any tenant" : $"tenant '{Tenant}'" };
        if (Labels.Count > 0) parts.Add("labels " + string.Join(",", Labels.OrderBy(p => p.Key, StringComparer.Ordinal).Select(p => $"{p.Key}={p.Value}")));
        if (Extractors.Count > 0) parts.Add("extractors " + string.Join(",", Extractors.Order(StringComparer.Ordinal)));
        if (Kinds.Count > 0) parts.Add("kinds " + string.Join(",", Kinds.Order()));
        return string.Join(", ", parts);
    }

    internal void Validate(int index)
    {
        if (Tenant is not null && string.IsNullOrWhiteSpace(Tenant))
        {
            throw new ArgumentException($"Scopes[{index}].Tenant is blank; use null for every tenant.", nameof(Tenant));
        }

        foreach (var (key, value) in Labels)
        {
            if (string.IsNullOrWhiteSpace(key) || value is null)
            {
                throw new ArgumentException($"Scopes[{index}].Labels has an empty key or a null value.", nameof(Labels));
            }
        }
    }
}
