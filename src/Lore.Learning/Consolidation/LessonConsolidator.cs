using System.Globalization;
using System.Text.Json;
using Lore.Learning.Statistics;
using Lore.Learning.Text;
using Microsoft.Extensions.AI;

namespace Lore.Learning.Consolidation;

/// <summary>What consolidation works from: this run's candidates, every stored lesson of the tenant and the episode window.</summary>
internal sealed record ConsolidationInput
{
    public required string Tenant { get; init; }

    public required IReadOnlyList<LessonCandidate> Candidates { get; init; }

    /// <summary>Every stored lesson of the tenant, retired ones included (a retired lesson is not brought back by finding it again).</summary>
    public required IReadOnlyList<Lesson> KnownLessons { get; init; }

    /// <summary>Ids of the lessons the parent snapshot serves.</summary>
    public required IReadOnlySet<string> ServedIds { get; init; }

    /// <summary>The window of ended episodes, oldest first.</summary>
    public required IReadOnlyList<Episode> Window { get; init; }

    /// <summary>Episodes of the window not seen by an earlier run; only they add to the evidence of a known lesson.</summary>
    public required IReadOnlySet<string> NewEpisodeIds { get; init; }

    /// <summary>Loads an episode outside the window (to date a lesson's newest evidence for staleness); null to skip.</summary>
    public Func<string, CancellationToken, Task<Episode?>>? LoadEpisode { get; init; }

    /// <summary>
    /// The admission guards: given a lesson about to be served, returns it admitted (<see cref="LessonStatus.Active"/>),
    /// queued for review or rejected, with its findings. Null admits every lesson that meets the thresholds.
    /// </summary>
    public Func<Lesson, CancellationToken, ValueTask<Lesson>>? Admission { get; init; }

    /// <summary>Lesson ids whose claim this run's evidence reverses, with why: a served one is retired.</summary>
    public IReadOnlyDictionary<string, string> Contradicted { get; init; } = new Dictionary<string, string>();

    /// <summary>A semantic model for near-duplicates beside word overlap; null for word overlap only.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? Embeddings { get; init; }
}

/// <summary>What consolidation decided; nothing is written yet.</summary>
internal sealed record ConsolidationResult(
    IReadOnlyList<Lesson> Served,
    IReadOnlyList<Lesson> Changed,
    IReadOnlyList<string> Added,
    IReadOnlyList<string> Updated,
    IReadOnlyList<LessonMerge> Merges,
    IReadOnlyList<LessonContradiction> Contradictions,
    IReadOnlyList<LessonRetirement> Retirements,
    IReadOnlyList<string> Dropped);

/// <summary>
/// Turns candidates into lessons: candidates of the same pattern become one lesson with a stable id (tenant + key),
/// near-duplicates of the same kind and scope merge (their evidence merges), thresholds drop weak ones, every lesson is
/// scored, served lessons whose measured effect is significantly harmful or whose evidence went stale are retired, and
/// contradictions between served lessons are settled. The served set it returns is what the next snapshot holds.
/// </summary>
/// <remarks>
/// Scoring: prior = 0.6 x extractor confidence + 0.2 x n/(n + MinEpisodes) + 0.2 x s/(s + MinDistinctSources) for n
/// supporting episodes and s distinct sources; once the lesson's effect is measured (enough judged episodes with and
/// without it), confidence = 0.5 x prior + 0.5 x P(success with > success without) from a two-proportion z test.
/// Evidence of a known lesson grows only by episodes new since the last run, so running again on the same episodes
/// changes nothing.
/// </remarks>
internal sealed class LessonConsolidator
{
    private readonly LearningOptions _options;
    private readonly TimeProvider _time;
    private readonly ContradictionResolver _contradictions;
    private readonly IReadOnlySet<string> _episodeLabels;

    public LessonConsolidator(LearningOptions options, TimeProvider? time = null)
    {
        _options = options;
        _episodeLabels = options.EpisodeLabels.ToHashSet(StringComparer.Ordinal);
        _time = time ?? TimeProvider.System;
        _contradictions = new ContradictionResolver(options);
    }

    public async Task<ConsolidationResult> ConsolidateAsync(ConsolidationInput input, CancellationToken cancellationToken = default)
    {
        var now = _time.GetUtcNow();
        var window = new WindowIndex(input.Window);

        // 0. Evidence is counted here, from the episodes the store holds: every cited id is resolved, and what cannot be
        // found (fabricated, erased, another tenant's) does not count. Extractors' own counts are never used.
        var ledger = new EvidenceLedger(input.Tenant, input.Window, _episodeLabels);
        await ledger.ResolveAsync(
            input.Candidates.SelectMany(c => c.Evidence.EpisodeIds.Concat(c.Evidence.ExemplarEpisodeIds)),
            input.LoadEpisode,
            cancellationToken).ConfigureAwait(false);
        var known = input.KnownLessons.ToDictionary(l => l.Id, StringComparer.Ordinal);
        var merges = new List<LessonMerge>();
        var dropped = new List<string>();
        var retirements = new List<LessonRetirement>();
        var contradictions = new List<LessonContradiction>();

        // 1. Candidates of the same pattern are one proposal.
        var proposals = input.Candidates
            .GroupBy(c => LessonIds.For(input.Tenant, c.Key), StringComparer.Ordinal)
            .Select(g => Proposal.From(g.Key, g.ToList()))
            .OrderByDescending(p => known.ContainsKey(p.Id))
            .ThenByDescending(p => p.EpisodeIds.Count)
            .ThenByDescending(p => p.Confidence)
            .ThenBy(p => p.Id, StringComparer.Ordinal)
            .ToList();

        // 2. Attach each proposal to its own lesson, to a near-duplicate of the same kind and scope, or keep it as new.
        var drafts = new Dictionary<string, Draft>(StringComparer.Ordinal);
        var byGroup = new Dictionary<string, List<Draft>>(StringComparer.Ordinal);
        foreach (var lesson in input.KnownLessons.OrderBy(l => l.Id, StringComparer.Ordinal))
        {
            var draft = new Draft(lesson.Id, lesson, null, lesson.Kind, lesson.Scope, Tokens.ContentSet(lesson.Text));
            drafts[lesson.Id] = draft;
            if (!lesson.IsRetired)
            {
                GroupOf(byGroup, draft).Add(draft);
            }
        }

        var semantic = input.Embeddings is null ? null : new SemanticSimilarity(input.Embeddings);
        foreach (var proposal in proposals)
        {
            if (drafts.TryGetValue(proposal.Id, out var own))
            {
                own.Proposals.Add(proposal);
                continue;
            }

            var candidate = proposal.Representative;
            var tokens = Tokens.ContentSet(candidate.Text);
            var group = GroupOf(byGroup, candidate.Kind, candidate.Scope);
            Draft? target = null;
            var best = 0.0;
            foreach (var other in group)
            {
                var similarity = Tokens.Cosine(tokens, other.Tokens);
                if (similarity >= _options.MergeSimilarity && similarity > best)
                {
                    (target, best) = (other, similarity);
                }
            }

            // Paraphrases share few words: the semantic model gets a say when word overlap found nothing.
            if (target is null && semantic is not null && group.Count > 0)
            {
                var (closest, similarity) = await semantic.ClosestAsync(candidate.Text, group, d => d.Text, cancellationToken).ConfigureAwait(false);
                if (closest is not null && similarity >= _options.SemanticMergeSimilarity)
                {
                    (target, best) = (closest, similarity);
                }
            }

            if (target is not null)
            {
                target.Proposals.Add(proposal);
                merges.Add(new LessonMerge(target.Id, proposal.Id, Math.Round(best, 4)));
                continue;
            }

            var draft = new Draft(proposal.Id, null, candidate, candidate.Kind, candidate.Scope, tokens);
            draft.Proposals.Add(proposal);
            drafts[proposal.Id] = draft;
            group.Add(draft);
        }

        // 3. Effects of served lessons, measured on the window.
        var effects = MeasureEffects(input.Window, input.ServedIds);

        // 4. New versions of every lesson touched by this run, and the served set before thresholds and retirements.
        var served = new Dictionary<string, Lesson>(StringComparer.Ordinal);
        var fresh = new HashSet<string>(StringComparer.Ordinal);
        var updated = new Dictionary<string, Lesson>(StringComparer.Ordinal);
        foreach (var draft in drafts.Values.OrderBy(d => d.Id, StringComparer.Ordinal))
        {
            var isServed = input.ServedIds.Contains(draft.Id);
            if (draft.Existing is { } existing)
            {
                if (existing.IsRetired)
                {
                    if (draft.Proposals.Count == 0)
                    {
                        continue;
                    }

                    var revived = Revive(existing, draft, window, input.NewEpisodeIds, now, ledger);
                    if (revived is null)
                    {
                        dropped.Add($"{existing.Id}: found again, but it was retired ({existing.RetiredReason}); it stays retired.");
                        continue;
                    }

                    updated[existing.Id] = revived;
                    if (Admit(revived, dropped))
                    {
                        served[revived.Id] = revived;
                        fresh.Add(revived.Id);
                    }

                    continue;
                }

                var next = existing;
                if (draft.Proposals.Count > 0)
                {
                    next = next with
                    {
                        Evidence = Accumulate(existing.Evidence, draft.Proposals, window, input.NewEpisodeIds, ledger),
                    };

                    // The same pattern worded differently (a recovery recipe refined by more data) takes the new
                    // wording; a mere reordering of the same words does not, so texts do not flip between runs.
                    if (draft.Proposals.FirstOrDefault(p => p.Id == existing.Id)?.Representative is { } own
                        && !Tokens.ContentSet(own.Text).SetEquals(draft.Tokens))
                    {
                        next = next with
                        {
                            Text = own.Text,
                            Trigger = own.Trigger,
                            Scope = ScopeFromEvidence(own.Scope, input.Tenant, ledger, draft.Proposals),
                            RecommendedTools = own.RecommendedTools,
                        };
                    }
                }

                var prior = draft.Proposals.Count > 0 ? Prior(draft.Confidence, next.Evidence) : RecoverPrior(existing);
                var effect = effects.TryGetValue(existing.Id, out var measured) ? measured : existing.Effect;
                next = next with { Effect = effect, Confidence = Score(prior, effect) };
                if (!SameContent(existing, next))
                {
                    updated[existing.Id] = next;
                }

                if (isServed)
                {
                    served[next.Id] = next;
                }
                else if (draft.Proposals.Count > 0 && Admit(next, dropped))
                {
                    // A stored lesson the parent does not serve (rolled back, or never admitted) is served again once found again.
                    served[next.Id] = next;
                    fresh.Add(next.Id);
                }

                continue;
            }

            var candidate = draft.Candidate!;
            var evidence = Accumulate(null, draft.Proposals, window, input.NewEpisodeIds, ledger);
            var lesson = new Lesson
            {
                Id = draft.Id,
                Kind = candidate.Kind,
                Text = candidate.Text,
                Trigger = candidate.Trigger,
                Scope = ScopeFromEvidence(candidate.Scope, input.Tenant, ledger, draft.Proposals),
                RecommendedTools = candidate.RecommendedTools,
                Evidence = evidence,
                Extractor = candidate.Extractor,
                Confidence = Score(Prior(draft.Confidence, evidence), null),
                CreatedAt = now,
            };
            if (Admit(lesson, dropped))
            {
                served[lesson.Id] = lesson;
                fresh.Add(lesson.Id);
                updated[lesson.Id] = lesson;
            }
        }

        // 4b. The admission guards decide what of it may be served. What they queue or reject is kept with their
        // findings but leaves the served set before retirements and contradictions are weighed, so a refused lesson
        // can never displace a served one.
        if (input.Admission is { } admission)
        {
            foreach (var lesson in served.Values.OrderBy(l => l.Id, StringComparer.Ordinal).ToArray())
            {
                var decided = await admission(lesson, cancellationToken).ConfigureAwait(false);
                if (!SameContent(decided, lesson))
                {
                    updated[decided.Id] = decided;
                }

                if (decided.Status == LessonStatus.Active)
                {
                    served[decided.Id] = decided;
                }
                else
                {
                    served.Remove(decided.Id);
                    fresh.Remove(decided.Id);
                }
            }
        }

        // 5. Retire served lessons that measurably hurt, or whose evidence went stale.
        foreach (var lesson in served.Values.OrderBy(l => l.Id, StringComparer.Ordinal).ToArray())
        {
            cancellationToken.ThrowIfCancellationRequested();
            var reason = (input.Contradicted.TryGetValue(lesson.Id, out var against) ? $"contradicted by new evidence: {against}" : null)
                ?? HarmfulReason(lesson)
                ?? await StaleReasonAsync(lesson, window, input.LoadEpisode, now, cancellationToken).ConfigureAwait(false);
            if (reason is null)
            {
                continue;
            }

            served.Remove(lesson.Id);
            if (fresh.Remove(lesson.Id) && !known.ContainsKey(lesson.Id))
            {
                updated.Remove(lesson.Id);
                dropped.Add($"{lesson.Id}: {reason}");
                continue;
            }

            updated[lesson.Id] = lesson with { RetiredAt = now, RetiredReason = reason };
            retirements.Add(new LessonRetirement(lesson.Id, reason));
        }

        // 6. Settle contradictions that involve a lesson admitted in this run.
        var ordered = served.Values.OrderBy(l => l.Id, StringComparer.Ordinal).ToList();
        foreach (var (first, second, _) in _contradictions.Find(ordered, fresh))
        {
            if (!served.ContainsKey(first.Id) || !served.ContainsKey(second.Id))
            {
                continue;
            }

            var verdict = await _contradictions.SettleAsync(first, second, cancellationToken).ConfigureAwait(false);
            contradictions.Add(new LessonContradiction(first.Id, second.Id, verdict.Winner.Id, verdict.Method, verdict.Reason));
            var loser = verdict.Loser;
            served.Remove(loser.Id);
            var why = $"contradicts {verdict.Winner.Id}, which was kept ({verdict.Method}: {verdict.Reason})";

            // The loser is stored retired either way, so that finding it again does not reopen the question.
            updated[loser.Id] = loser with { RetiredAt = now, RetiredReason = why };
            if (fresh.Remove(loser.Id) && !known.ContainsKey(loser.Id))
            {
                dropped.Add($"{loser.Id}: {why}");
            }
            else
            {
                retirements.Add(new LessonRetirement(loser.Id, why));
            }
        }

        var added = updated.Keys.Where(id => !known.ContainsKey(id) && served.ContainsKey(id)).Order(StringComparer.Ordinal).ToArray();
        var changedExisting = updated.Keys.Where(known.ContainsKey).Order(StringComparer.Ordinal).ToArray();
        return new ConsolidationResult(
            served.Values.OrderBy(l => l.Id, StringComparer.Ordinal).ToArray(),
            updated.Values.OrderBy(l => l.Id, StringComparer.Ordinal).ToArray(),
            added,
            changedExisting,
            merges,
            contradictions,
            retirements,
            dropped);
    }

    /// <summary>True when the lesson meets MinEpisodes, MinDistinctSources (not asked of facts about one user) and MinConfidence; else records why not.</summary>
    private bool Admit(Lesson lesson, List<string> dropped)
    {
        var evidence = lesson.Evidence;
        string? reason = null;
        if (evidence.EpisodeCount < _options.MinEpisodes)
        {
            reason = $"{evidence.EpisodeCount} supporting episodes, below MinEpisodes {_options.MinEpisodes}";
        }
        else if (lesson.Kind != LessonKind.UserFact && evidence.DistinctSources < _options.MinDistinctSources)
        {
            reason = $"evidence from {evidence.DistinctSources} distinct sources, below MinDistinctSources {_options.MinDistinctSources}";
        }
        else if (lesson.Kind != LessonKind.UserFact && evidence.DistinctTasks < _options.MinDistinctTasks)
        {
            reason = $"evidence from {evidence.DistinctTasks} distinct tasks, below MinDistinctTasks {_options.MinDistinctTasks}";
        }
        else if (lesson.Confidence < _options.MinConfidence)
        {
            reason = string.Create(CultureInfo.InvariantCulture, $"confidence {lesson.Confidence:F2}, below MinConfidence {_options.MinConfidence:F2}");
        }

        if (reason is null)
        {
            return true;
        }

        dropped.Add($"{lesson.Id}: {reason} ({lesson.Extractor.Name} {lesson.Kind}: \"{Shorten(lesson.Text)}\").");
        return false;
    }

    /// <summary>A lesson retired as stale comes back when new episodes support it again; other retirements are final.</summary>
    private Lesson? Revive(Lesson retired, Draft draft, WindowIndex window, IReadOnlySet<string> newEpisodeIds, DateTimeOffset now, EvidenceLedger ledger)
    {
        if (retired.RetiredReason?.StartsWith(StaleReasonPrefix, StringComparison.Ordinal) != true)
        {
            return null;
        }

        var evidence = Accumulate(retired.Evidence, draft.Proposals, window, newEpisodeIds, ledger);
        if (evidence.EpisodeCount == retired.Evidence.EpisodeCount)
        {
            return null;
        }

        return retired with
        {
            Evidence = evidence,
            Confidence = Score(Prior(draft.Confidence, evidence), retired.Effect),
            RetiredAt = null,
            RetiredReason = null,
            CreatedAt = now,
        };
    }

    /// <summary>
    /// Merges this run's evidence into a lesson's. A new lesson takes the union of its proposals' episodes; a known
    /// lesson adds only episodes new since the last run, so counts stay exact while ids are capped (newest first).
    /// </summary>
    private LessonEvidence Accumulate(LessonEvidence? existing, List<Proposal> proposals, WindowIndex window, IReadOnlySet<string> newEpisodeIds, EvidenceLedger ledger)
    {
        var cited = new HashSet<string>(StringComparer.Ordinal);
        var exemplarIds = new HashSet<string>(StringComparer.Ordinal);
        var support = 0;
        foreach (var proposal in proposals)
        {
            cited.UnionWith(proposal.EpisodeIds);
            exemplarIds.UnionWith(proposal.ExemplarIds);
            support += proposal.Support;
        }

        var tally = ledger.Tally(cited);
        var exemplars = ledger.Tally(exemplarIds);
        var resolved = tally.Resolved;

        // Occurrences may exceed episodes (a pattern recurring within one), but not without bound: a claimed support
        // is capped by what the resolved episodes can hold.
        var count = resolved.Count;
        var supportCap = count * MaxOccurrencesPerEpisode;
        var strongest = proposals.OrderByDescending(p => p.EpisodeIds.Count).ThenByDescending(p => p.Confidence).ThenBy(p => p.Id, StringComparer.Ordinal).First();
        var measured = strongest.Representative.Evidence;
        var feedback = proposals.SelectMany(p => p.Candidates.SelectMany(c => c.Evidence.Feedback));
        if (existing is null)
        {
            return new LessonEvidence
            {
                EpisodeIds = window.NewestFirst(resolved).Take(_options.MaxEvidenceIds).ToArray(),
                EpisodeCount = count,
                DistinctSources = tally.DistinctSources,
                DistinctTasks = tally.DistinctTasks,
                LargestSourceShare = Math.Round(tally.LargestSourceShare, 4),
                Support = Math.Max(count, Math.Min(support, supportCap)),
                Lift = measured.Lift,
                IntervalLow = measured.IntervalLow,
                IntervalHigh = measured.IntervalHigh,
                Feedback = feedback.Distinct(StringComparer.Ordinal).Take(_options.MaxEvidenceIds).ToArray(),
                ExemplarEpisodeIds = window.NewestFirst(exemplars.Resolved).Take(_options.MaxEvidenceIds).ToArray(),
                ExemplarCount = exemplars.Resolved.Count,
                ExemplarSources = exemplars.DistinctSources,
                ExemplarTasks = exemplars.DistinctTasks,
                ExemplarLargestSourceShare = Math.Round(exemplars.LargestSourceShare, 4),
            };
        }

        var previous = existing.EpisodeIds.ToHashSet(StringComparer.Ordinal);
        var added = resolved.Where(id => newEpisodeIds.Contains(id) && !previous.Contains(id)).ToArray();
        var addedSupport = count == 0 ? 0 : (int)Math.Round((double)Math.Min(support, supportCap) * added.Length / count, MidpointRounding.AwayFromZero);
        var previousExemplars = existing.ExemplarEpisodeIds.ToHashSet(StringComparer.Ordinal);
        var addedExemplars = exemplars.Resolved.Where(id => newEpisodeIds.Contains(id) && !previousExemplars.Contains(id)).ToArray();
        return existing with
        {
            EpisodeIds = window.NewestFirst(added).Concat(existing.EpisodeIds).Take(_options.MaxEvidenceIds).ToArray(),
            EpisodeCount = existing.EpisodeCount + added.Length,
            DistinctSources = Math.Max(existing.DistinctSources, tally.DistinctSources),
            DistinctTasks = Math.Max(existing.DistinctTasks, tally.DistinctTasks),
            LargestSourceShare = count == 0 ? existing.LargestSourceShare : Math.Round(tally.LargestSourceShare, 4),
            Support = existing.Support + Math.Max(addedSupport, added.Length),
            Lift = measured.Lift ?? existing.Lift,
            IntervalLow = measured.IntervalLow ?? existing.IntervalLow,
            IntervalHigh = measured.IntervalHigh ?? existing.IntervalHigh,
            Feedback = existing.Feedback.Concat(feedback).Distinct(StringComparer.Ordinal).Take(_options.MaxEvidenceIds).ToArray(),
            ExemplarEpisodeIds = window.NewestFirst(addedExemplars).Concat(existing.ExemplarEpisodeIds).Take(_options.MaxEvidenceIds).ToArray(),
            ExemplarCount = existing.ExemplarCount + addedExemplars.Length,
            ExemplarSources = Math.Max(existing.ExemplarSources, exemplars.DistinctSources),
            ExemplarTasks = Math.Max(existing.ExemplarTasks, exemplars.DistinctTasks),
            ExemplarLargestSourceShare = exemplars.Resolved.Count == 0 ? existing.ExemplarLargestSourceShare : Math.Round(exemplars.LargestSourceShare, 4),
        };
    }

    /// <summary>A claimed occurrence count is capped at this many per resolved episode.</summary>
    private const int MaxOccurrencesPerEpisode = 50;

    /// <summary>
    /// Scope comes from evidence: the candidate's scope (tenant forced to the run's), with every label that all of the
    /// lesson's resolved evidence shares (slice, service, ...; never per-episode labels such as task_id) as its
    /// <see cref="LessonScope.EvidenceLabels"/>. A label the candidate set itself is kept as it set it.
    /// </summary>
    private static LessonScope ScopeFromEvidence(LessonScope scope, string tenant, EvidenceLedger ledger, List<Proposal> proposals)
    {
        var tally = ledger.Tally(proposals.SelectMany(p => p.EpisodeIds));
        var labels = scope.EvidenceLabels;
        foreach (var (key, value) in tally.SharedLabels)
        {
            if (!labels.ContainsKey(key) && !scope.Labels.ContainsKey(key))
            {
                labels = labels.Add(key, value);
            }
        }

        return scope with { Tenant = tenant, EvidenceLabels = labels };
    }

    internal double Prior(double extractorConfidence, LessonEvidence evidence)
    {
        double n = evidence.EpisodeCount;
        double s = evidence.DistinctSources;
        return Math.Clamp(
            0.6 * Math.Clamp(extractorConfidence, 0, 1)
            + 0.2 * (n / (n + _options.MinEpisodes))
            + 0.2 * (s / (s + _options.MinDistinctSources)),
            0,
            1);
    }

    internal static double Score(double prior, LessonEffect? effect)
        => effect is not { Randomized: true } ? prior : Math.Clamp(0.5 * prior + 0.5 * BenefitProbability(effect), 0, 1);

    /// <summary>The prior of a lesson not found again in this run, recovered from its confidence and the effect it was scored with.</summary>
    private static double RecoverPrior(Lesson lesson)
        => lesson.Effect is not { Randomized: true } ? lesson.Confidence : Math.Clamp(2 * lesson.Confidence - BenefitProbability(lesson.Effect), 0, 1);

    /// <summary>
    /// P(the lesson helps), the posterior under the harm test's prior, from the per-lesson holdout experiment only: a
    /// plain with/without comparison is confounded by where retrieval sends the lesson and moves nothing.
    /// </summary>
    private static double BenefitProbability(LessonEffect effect)
        => LessonHarmTest.BenefitProbability(effect);

    /// <summary>
    /// Each served lesson's effect measured by experiment (eligible and injected against eligible and withheld by the
    /// holdout, by unit), for lessons with eligible judged episodes on both sides; see <see cref="LessonHarmTest"/>.
    /// </summary>
    private Dictionary<string, LessonEffect> MeasureEffects(IReadOnlyList<Episode> window, IReadOnlySet<string> servedIds)
        => new(LessonHarmTest.Measure(window, servedIds, _options.MinEffectEpisodes), StringComparer.Ordinal);

    private string? HarmfulReason(Lesson lesson)
    {
        // Harm only on the holdout experiment's evidence, significant at the level corrected across served lessons,
        // and at least HarmfulEffect large.
        if (lesson.Effect is not { } effect || !LessonHarmTest.ShowsHarm(effect) || effect.Delta > -_options.HarmfulEffect)
        {
            return null;
        }

        return "harmful: " + LessonHarmTest.Describe(effect);
    }

    private const string StaleReasonPrefix = "stale:";

    private async Task<string?> StaleReasonAsync(Lesson lesson, WindowIndex window, Func<string, CancellationToken, Task<Episode?>>? load, DateTimeOffset now, CancellationToken cancellationToken)
    {
        var limit = now - _options.StaleAfter;
        if (lesson.CreatedAt > limit || lesson.Effect is { Delta: > 0 })
        {
            return null;
        }

        DateTimeOffset? newest = null;
        if (lesson.Evidence.EpisodeIds.Count > 0)
        {
            var id = lesson.Evidence.EpisodeIds[0];
            newest = window.EndedAt(id);
            if (newest is null && load is not null)
            {
                var episode = await load(id, cancellationToken).ConfigureAwait(false);
                newest = episode?.EndedAt ?? episode?.StartedAt;
            }
        }

        var last = newest is { } n && n > lesson.CreatedAt ? n : lesson.CreatedAt;
        return last > limit
            ? null
            : string.Create(CultureInfo.InvariantCulture, $"{StaleReasonPrefix} no new supporting episode since {last:yyyy-MM-dd} (StaleAfter {_options.StaleAfter.TotalDays:0.#} days) and no measured benefit");
    }

    /// <summary>True when nothing a reader or the served snapshot would see differs.</summary>
    private static bool SameContent(Lesson a, Lesson b)
        => JsonSerializer.Serialize(a, LoreJson.Options) == JsonSerializer.Serialize(b, LoreJson.Options);

    private static List<Draft> GroupOf(Dictionary<string, List<Draft>> groups, Draft draft) => GroupOf(groups, draft.Kind, draft.Scope);

    private static List<Draft> GroupOf(Dictionary<string, List<Draft>> groups, LessonKind kind, LessonScope scope)
    {
        var key = string.Join(
            "\u001f",
            kind.ToString(),
            scope.Tenant,
            scope.UnitKey ?? "",
            string.Join(",", scope.Labels.Select(p => $"{p.Key}={p.Value}")),
            string.Join(",", scope.Tools.Order(StringComparer.Ordinal)));
        if (!groups.TryGetValue(key, out var list))
        {
            groups[key] = list = [];
        }

        return list;
    }

    private static string Shorten(string text) => text.Length <= 80 ? text : text[..77] + "...";

    /// <summary>A lesson being built: a stored one, or a new one from its strongest candidate, with the proposals it absorbs.</summary>
    private sealed class Draft(string id, Lesson? existing, LessonCandidate? candidate, LessonKind kind, LessonScope scope, HashSet<string> tokens)
    {
        public string Id { get; } = id;

        public Lesson? Existing { get; } = existing;

        /// <summary>What the lesson says (the stored lesson's text, or the new candidate's).</summary>
        public string Text => Existing?.Text ?? Candidate?.Text ?? "";

        public LessonCandidate? Candidate { get; } = candidate;

        public LessonKind Kind { get; } = kind;

        public LessonScope Scope { get; } = scope;

        public HashSet<string> Tokens { get; } = tokens;

        public List<Proposal> Proposals { get; } = [];

        /// <summary>Extractor confidence of the absorbed proposals, weighted by their episodes.</summary>
        public double Confidence
        {
            get
            {
                var weight = Proposals.Sum(p => Math.Max(1, p.EpisodeIds.Count));
                return weight == 0 ? 0 : Proposals.Sum(p => p.Confidence * Math.Max(1, p.EpisodeIds.Count)) / weight;
            }
        }
    }

    /// <summary>All candidates of one pattern (same key) in this run, with their evidence united.</summary>
    private sealed class Proposal
    {
        public required string Id { get; init; }

        public required LessonCandidate Representative { get; init; }

        public required List<LessonCandidate> Candidates { get; init; }

        public required HashSet<string> EpisodeIds { get; init; }

        public required HashSet<string> ExemplarIds { get; init; }

        public int Support { get; init; }

        public double Confidence { get; init; }

        public static Proposal From(string id, List<LessonCandidate> candidates)
        {
            var ids = new HashSet<string>(StringComparer.Ordinal);
            var exemplars = new HashSet<string>(StringComparer.Ordinal);
            foreach (var c in candidates)
            {
                ids.UnionWith(c.Evidence.EpisodeIds);
                exemplars.UnionWith(c.Evidence.ExemplarEpisodeIds);
            }

            var representative = candidates
                .OrderByDescending(c => c.Evidence.EpisodeCount)
                .ThenByDescending(c => c.Confidence)
                .ThenBy(c => c.Text, StringComparer.Ordinal)
                .First();
            var weight = candidates.Sum(c => Math.Max(1, c.Evidence.EpisodeCount));
            return new Proposal
            {
                Id = id,
                Representative = representative,
                Candidates = candidates,
                EpisodeIds = ids,
                ExemplarIds = exemplars,
                Support = candidates.Sum(c => Math.Max(c.Evidence.Support, c.Evidence.EpisodeIds.Count)),
                Confidence = candidates.Sum(c => Math.Clamp(c.Confidence, 0, 1) * Math.Max(1, c.Evidence.EpisodeCount)) / weight,
            };
        }
    }

    /// <summary>The window's episodes by id: recency rank, unit and end time.</summary>
    private sealed class WindowIndex
    {
        private readonly Dictionary<string, (int Rank, string Unit, DateTimeOffset? EndedAt)> _byId = new(StringComparer.Ordinal);

        public WindowIndex(IReadOnlyList<Episode> window)
        {
            for (var i = 0; i < window.Count; i++)
            {
                _byId[window[i].Id] = (window.Count - i, window[i].UnitKey, window[i].EndedAt);
            }
        }

        /// <summary>Ids ordered newest first (ids outside the window last, by id).</summary>
        public IEnumerable<string> NewestFirst(IEnumerable<string> ids)
            => ids.OrderBy(id => _byId.TryGetValue(id, out var e) ? e.Rank : int.MaxValue).ThenBy(id => id, StringComparer.Ordinal);

        public DateTimeOffset? EndedAt(string id) => _byId.TryGetValue(id, out var e) ? e.EndedAt : null;
    }
}
