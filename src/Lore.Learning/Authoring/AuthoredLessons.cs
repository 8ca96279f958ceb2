using Lore.Learning.Consolidation;

namespace Lore.Learning.Authoring;

/// <summary>
/// Keeps learning off the lessons people wrote or changed (those with <see cref="Lesson.Authorship"/>): they are taken
/// out of what consolidation sees, candidates that would re-learn one of them are dropped, and the authored lessons the
/// parent snapshot served are put back into the served set unchanged. A learned lesson that contradicts a served
/// authored one is not served: it waits for a reviewer, with a finding naming the authored lesson.
/// </summary>
internal sealed class AuthoredLessons
{
    /// <summary>The rule name of the finding that queues a learned lesson contradicting an authored one.</summary>
    public const string ContradictsAuthoredRule = "contradicts-authored";

    private readonly IReadOnlyList<Lesson> _served;

    private AuthoredLessons(IReadOnlySet<string> ids, IReadOnlyList<Lesson> learned, IReadOnlyList<LessonCandidate> candidates, IReadOnlyList<Lesson> served)
    {
        Ids = ids;
        Learned = learned;
        Candidates = candidates;
        _served = served;
    }

    /// <summary>Ids of every lesson a person wrote or changed.</summary>
    public IReadOnlySet<string> Ids { get; }

    /// <summary>The known lessons learning may work on.</summary>
    public IReadOnlyList<Lesson> Learned { get; }

    /// <summary>The candidates that do not re-learn an authored lesson.</summary>
    public IReadOnlyList<LessonCandidate> Candidates { get; }

    public static AuthoredLessons Split(string tenant, IReadOnlyList<Lesson> known, Snapshot? parent, IReadOnlyList<LessonCandidate> candidates)
    {
        var ids = known.Concat(parent?.Lessons ?? []).Where(l => l.Authorship is not null).Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        if (ids.Count == 0)
        {
            return new AuthoredLessons(ids, known, candidates, []);
        }

        var served = (parent?.Lessons ?? []).Where(l => ids.Contains(l.Id)).ToArray();
        return new AuthoredLessons(
            ids,
            [.. known.Where(l => !ids.Contains(l.Id))],
            [.. candidates.Where(c => !ids.Contains(LessonIds.For(tenant, c.Key)))],
            served);
    }

    /// <summary>
    /// The consolidation result with the authored lessons served again, and learned lessons that contradict one of them
    /// taken out of service and queued for review.
    /// </summary>
    public ConsolidationResult Rejoin(ConsolidationResult result, LearningOptions options)
    {
        if (_served.Count == 0)
        {
            return result;
        }

        var learned = result.Served.Where(l => !Ids.Contains(l.Id)).ToList();
        var fresh = learned.Select(l => l.Id).ToHashSet(StringComparer.Ordinal);
        var pairs = new ContradictionResolver(options).Find([.. learned, .. _served], fresh);
        var queued = new Dictionary<string, Lesson>(StringComparer.Ordinal);
        var contradictions = result.Contradictions.ToList();
        foreach (var (first, second, similarity) in pairs)
        {
            var (person, machine) = Ids.Contains(first.Id) ? (first, second) : (second, first);
            if (!Ids.Contains(person.Id) || Ids.Contains(machine.Id) || queued.ContainsKey(machine.Id))
            {
                continue;
            }

            var detail = $"contradicts lesson {person.Id} written by {person.Authorship?.Author} (topic similarity {similarity:F2}): \"{person.Text}\"";
            queued[machine.Id] = machine with
            {
                Status = LessonStatus.PendingReview,
                GuardFindings = [.. machine.GuardFindings.Where(f => f.Rule != ContradictsAuthoredRule), new GuardFinding(ContradictsAuthoredRule, detail, Blocking: false)],
            };
            contradictions.Add(new LessonContradiction(person.Id, machine.Id, person.Id, "authored", $"a person's lesson is not overridden by learning; {machine.Id} waits for review"));
        }

        var served = learned.Where(l => !queued.ContainsKey(l.Id)).Concat(_served).ToArray();
        var changed = result.Changed.Where(l => !queued.ContainsKey(l.Id) && !Ids.Contains(l.Id)).Concat(queued.Values).ToArray();
        return result with { Served = served, Changed = changed, Contradictions = contradictions };
    }
}
