using System.Text.Json;

namespace Lore.Learning.Guards;

/// <summary>One admission decision of a run, to be audited once the lessons are saved.</summary>
/// <param name="Lesson">The lesson as saved: status, findings, redactions.</param>
/// <param name="PreviousStatus">Its stored status before the run, or null for a new lesson.</param>
/// <param name="Reason">One sentence for the audit log.</param>
internal sealed record AdmissionDecision(Lesson Lesson, LessonStatus? PreviousStatus, string Reason);

/// <summary>
/// The admission step of one learning run. Consolidation asks it about every lesson it would serve; it answers with
/// the lesson admitted, queued for a reviewer or rejected, and remembers each decision worth auditing.
/// </summary>
/// <remarks>
/// A lesson the parent snapshot already serves, unchanged, was admitted before: it only has to pass the content
/// screen again (a policy may have tightened), and is pulled if it does not. A reviewer's rejection is final. A
/// lesson waiting for review stays waiting, with its earlier findings, until a reviewer decides or its content
/// changes; a reviewer's approval holds while the content stays the one approved. Everything else meets every guard.
/// </remarks>
internal sealed class AdmissionStage
{
    private readonly AdmissionGuard _guard;
    private readonly IReadOnlyDictionary<string, Lesson> _stored;
    private readonly IReadOnlyDictionary<string, Lesson> _parent;
    private readonly IReadOnlyDictionary<string, Episode> _window;
    private readonly Func<string, CancellationToken, Task<Episode?>>? _load;
    private readonly int _minSources;
    private readonly Dictionary<string, AdmissionDecision> _decisions = new(StringComparer.Ordinal);

    public AdmissionStage(
        AdmissionGuard guard,
        IEnumerable<Lesson> stored,
        IEnumerable<Lesson> parentServed,
        IEnumerable<Episode> window,
        Func<string, CancellationToken, Task<Episode?>>? loadEpisode,
        int minSources)
    {
        _guard = guard;
        _stored = stored.GroupBy(l => l.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        _parent = parentServed.GroupBy(l => l.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        _window = window.GroupBy(e => e.Id, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.First(), StringComparer.Ordinal);
        _load = loadEpisode;
        _minSources = minSources;
    }

    /// <summary>The decisions of this run that change something a person should see in the audit log, by lesson id.</summary>
    public IReadOnlyDictionary<string, AdmissionDecision> Decisions => _decisions;

    public async ValueTask<Lesson> DecideAsync(Lesson lesson, CancellationToken cancellationToken)
    {
        _stored.TryGetValue(lesson.Id, out var stored);
        _parent.TryGetValue(lesson.Id, out var parent);
        var hosts = EvidenceHosts(lesson);

        if (parent is not null && lesson.Status == LessonStatus.Active && SameServedContent(parent, lesson))
        {
            var screen = await _guard.ScreenAsync(lesson, hosts, cancellationToken).ConfigureAwait(false);
            var blocking = screen.Findings.Where(f => f.Severity == Severity.Block).ToArray();
            if (blocking.Length == 0)
            {
                _decisions.Remove(lesson.Id);
                return lesson;
            }

            var pulled = screen.Lesson with { Status = LessonStatus.Rejected, GuardFindings = [.. blocking.Select(f => f.ToGuardFinding())] };
            _decisions[lesson.Id] = new AdmissionDecision(pulled, stored?.Status ?? LessonStatus.Active, $"served before, but no longer passes the content screen: {RuleList(pulled)}");
            return pulled;
        }

        if (stored is { Status: LessonStatus.Rejected } && stored.Reviews.Any(r => !r.Approved))
        {
            // A reviewer said no to this lesson; finding it again does not reopen the question.
            _decisions.Remove(lesson.Id);
            return _guard.RedactForStorage(lesson) with { Status = LessonStatus.Rejected, GuardFindings = stored.GuardFindings, Reviews = stored.Reviews };
        }

        var verdict = await _guard.EvaluateAsync(lesson, hosts, cancellationToken).ConfigureAwait(false);
        var decided = verdict.Lesson;
        var reason = verdict.Status switch
        {
            LessonStatus.Active => "passed every admission guard",
            LessonStatus.PendingReview => $"queued for review: {RuleList(decided)}",
            _ => $"rejected: {RuleList(decided)}",
        };

        if (decided.Status != LessonStatus.Rejected && stored is not null && SameServedContent(stored, decided))
        {
            if (stored.Status == LessonStatus.PendingReview)
            {
                decided = decided with { Status = LessonStatus.PendingReview, GuardFindings = Merge(stored.GuardFindings, decided.GuardFindings) };
                reason = $"still waiting for a reviewer: {RuleList(decided)}";
            }
            else if (stored.Status == LessonStatus.Active && stored.Reviews.Count > 0 && stored.Reviews[^1].Approved)
            {
                decided = decided with { Status = LessonStatus.Active };
                reason = $"approved by {stored.Reviews[^1].Reviewer}; the content is unchanged";
            }
        }

        var worthAuditing = stored is null
            || decided.Status == LessonStatus.Active
            || stored.Status != decided.Status
            || !Rules(stored).SequenceEqual(Rules(decided), StringComparer.Ordinal);
        if (worthAuditing)
        {
            _decisions[lesson.Id] = new AdmissionDecision(decided, stored?.Status, reason);
        }
        else
        {
            _decisions.Remove(lesson.Id);
        }

        return decided;
    }

    /// <summary>True when a model call would see the same thing from both: kind, text, trigger and scope.</summary>
    internal static bool SameServedContent(Lesson a, Lesson b)
        => a.Kind == b.Kind
            && a.Text == b.Text
            && JsonSerializer.Serialize(a.Trigger, LoreJson.Options) == JsonSerializer.Serialize(b.Trigger, LoreJson.Options)
            && JsonSerializer.Serialize(a.Scope, LoreJson.Options) == JsonSerializer.Serialize(b.Scope, LoreJson.Options);

    private static string RuleList(Lesson lesson) => string.Join(", ", Rules(lesson));

    /// <summary>The distinct rule names of a lesson's findings, in order.</summary>
    internal static string[] Rules(Lesson lesson) => [.. lesson.GuardFindings.Select(f => f.Rule).Distinct(StringComparer.Ordinal)];

    private static IReadOnlyList<GuardFinding> Merge(IReadOnlyList<GuardFinding> earlier, IReadOnlyList<GuardFinding> now)
        => [.. now, .. earlier.Where(e => !now.Any(n => n.Rule == e.Rule && n.Detail == e.Detail))];

    private Func<CancellationToken, ValueTask<IReadOnlySet<string>>> EvidenceHosts(Lesson lesson)
        => Guards.EvidenceHosts.For(lesson, _window, _load, _minSources);
}
