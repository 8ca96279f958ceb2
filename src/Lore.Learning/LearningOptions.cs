using Microsoft.Extensions.AI;

namespace Lore.Learning;

/// <summary>
/// What the learning pipeline runs and how strict it is. Defaults are LLM-free (tool errors and contrast
/// patterns); add an <c>LlmLessonExtractor</c> when a model is available.
/// </summary>
public sealed class LearningOptions
{
    /// <summary>The extractors to run; when empty, <c>ToolErrorExtractor</c> and <c>ContrastExtractor</c>.</summary>
    public IList<ILessonExtractor> Extractors { get; } = [];

    /// <summary>How many of the most recent ended episodes each run looks at.</summary>
    public int Window { get; set; } = 5000;

    /// <summary>A candidate needs at least this many supporting episodes to be served.</summary>
    public int MinEpisodes { get; set; } = 3;

    /// <summary>A candidate needs evidence from at least this many distinct sources (trusted units, or API keys).</summary>
    public int MinDistinctSources { get; set; } = 2;

    /// <summary>
    /// A candidate needs evidence from at least this many distinct tasks: repeated trials of one task are one piece of
    /// evidence, and a pattern seen in one task only is that task's quirk, not a lesson.
    /// </summary>
    public int MinDistinctTasks { get; set; } = 2;

    /// <summary>
    /// What each tool does (read, state change, money, permissions). Extractors never recommend a state-changing call as
    /// a precondition, ignore no-op tools such as <c>think</c>, and the admission guards send lessons that recommend a
    /// state-changing tool to review. Unknown tools are judged by name, and state-changing when the name says nothing.
    /// </summary>
    public ToolCatalog Tools { get; set; } = new();

    /// <summary>
    /// Labels that identify one episode or one task rather than where it ran (<c>task_id</c>, <c>trial</c>, ...): a
    /// lesson inherits every other label all of its evidence shares (slice, service, ...) as its scope, never these.
    /// </summary>
    public ISet<string> EpisodeLabels { get; } = new HashSet<string>(StringComparer.Ordinal)
    {
        "task_id", "trial", "run", "run_id", "episode", "episode_id", "trace_id", "session", "session_id", "conversation_id",
    };

    /// <summary>A candidate below this confidence is dropped (recorded in the run, not served).</summary>
    public double MinConfidence { get; set; } = 0.5;

    /// <summary>Lessons whose texts are at least this similar (and of the same kind and scope) are merged.</summary>
    public double MergeSimilarity { get; set; } = 0.8;

    /// <summary>
    /// A semantic model for near-duplicates: with one, lessons of the same kind and scope whose embeddings have at
    /// least <see cref="SemanticMergeSimilarity"/> cosine also merge, so a paraphrase of a known lesson ("look up the
    /// order first" against "call lookup_order before refund_order") does not become a second lesson. Null keeps
    /// word overlap only. <c>LoreRuntime</c> passes its <c>LoreOptions.EmbeddingGenerator</c> when this is null.
    /// </summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; set; }

    /// <summary>The embedding cosine at which two lessons are near-duplicates (with <see cref="EmbeddingGenerator"/>).</summary>
    public double SemanticMergeSimilarity { get; set; } = 0.9;

    /// <summary>
    /// Two served lessons about the same tools (or with the same trigger keywords) and opposite polarity ("call X before
    /// Y" against "avoid calling X before Y") contradict each other when their texts, without the polarity words, are at
    /// least this similar (token-set cosine).
    /// </summary>
    public double ContradictionSimilarity { get; set; } = 0.5;

    /// <summary>Evidence keeps at most this many episode ids per lesson (the newest); the counts stay exact.</summary>
    public int MaxEvidenceIds { get; set; } = 200;

    /// <summary>Settles contradictions between lessons when set; otherwise the stronger evidence wins.</summary>
    public IChatClient? ContradictionResolver { get; set; }

    /// <summary>
    /// A served lesson whose measured success with it is below without it by at least this much, with enough
    /// episodes on both sides and a significant difference, is retired as harmful.
    /// </summary>
    public double HarmfulEffect { get; set; } = 0.1;

    /// <summary>Episodes needed on each side (with and without a lesson) before its effect is trusted.</summary>
    public int MinEffectEpisodes { get; set; } = 20;

    /// <summary>A lesson with no new supporting evidence for this long (and no measured benefit) is retired as stale.</summary>
    public TimeSpan StaleAfter { get; set; } = TimeSpan.FromDays(90);

    /// <summary>Point the tenant at the new snapshot as soon as it is created (the control plane will stage it instead).</summary>
    public bool ActivateNewSnapshot { get; set; } = true;

    /// <summary>
    /// The admission guards every lesson must pass before a snapshot may serve it (evidence from several sources, a
    /// content screen, thresholds per kind, adaptation scopes, review requirements). The thresholds above decide what
    /// consolidation keeps as a candidate at all; the policy decides what of it is served, queued for a reviewer or
    /// rejected with its reasons. Null turns the guards off (not recommended outside tests).
    /// </summary>
    public AdmissionPolicy? Admission { get; set; } = new();

    /// <summary>Retrieval settings for snapshots learning creates when the parent has none.</summary>
    public RetrievalSettings Retrieval { get; set; } = new();

    /// <summary>Throws naming the first option that is out of range.</summary>
    public void Validate()
    {
        if (Window < 1) throw new ArgumentOutOfRangeException(nameof(Window), Window, "Window must be at least 1.");
        if (MinEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MinEpisodes), MinEpisodes, "MinEpisodes must be at least 1.");
        if (MinDistinctSources < 1) throw new ArgumentOutOfRangeException(nameof(MinDistinctSources), MinDistinctSources, "MinDistinctSources must be at least 1.");
        if (MinDistinctTasks < 1) throw new ArgumentOutOfRangeException(nameof(MinDistinctTasks), MinDistinctTasks, "MinDistinctTasks must be at least 1.");
        ArgumentNullException.ThrowIfNull(Tools, nameof(Tools));
        if (MinConfidence is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MinConfidence), MinConfidence, "MinConfidence must lie in [0, 1].");
        if (MergeSimilarity is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(MergeSimilarity), MergeSimilarity, "MergeSimilarity must lie in (0, 1].");
        if (SemanticMergeSimilarity is <= 0 or > 1 || double.IsNaN(SemanticMergeSimilarity)) throw new ArgumentOutOfRangeException(nameof(SemanticMergeSimilarity), SemanticMergeSimilarity, "SemanticMergeSimilarity must lie in (0, 1].");
        if (MinEffectEpisodes < 1) throw new ArgumentOutOfRangeException(nameof(MinEffectEpisodes), MinEffectEpisodes, "MinEffectEpisodes must be at least 1.");
        if (ContradictionSimilarity is <= 0 or > 1) throw new ArgumentOutOfRangeException(nameof(ContradictionSimilarity), ContradictionSimilarity, "ContradictionSimilarity must lie in (0, 1].");
        if (MaxEvidenceIds < 1) throw new ArgumentOutOfRangeException(nameof(MaxEvidenceIds), MaxEvidenceIds, "MaxEvidenceIds must be at least 1.");
        if (HarmfulEffect is < 0 or > 1) throw new ArgumentOutOfRangeException(nameof(HarmfulEffect), HarmfulEffect, "HarmfulEffect must lie in [0, 1].");
        if (StaleAfter <= TimeSpan.Zero) throw new ArgumentOutOfRangeException(nameof(StaleAfter), StaleAfter, "StaleAfter must be positive.");
        Admission?.Validate();
        ArgumentNullException.ThrowIfNull(Retrieval, nameof(Retrieval));
        Retrieval.Validate();
    }
}
