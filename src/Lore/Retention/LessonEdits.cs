using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Lore.Retention;

/// <summary>
/// What an erasure or a retention run does to lessons, applied the same way to every copy of a lesson (the lesson
/// table's latest version and the versions inside the stable and candidate snapshots): retire the listed lessons, and
/// drop deleted episodes from every evidence list with the counts lowered to match.
/// </summary>
internal sealed class LessonEdits
{
    private readonly Dictionary<string, LessonRetirementAction> _retire = new(StringComparer.Ordinal);

    public LessonEdits(IReadOnlySet<string> deletedEpisodes, IReadOnlyDictionary<string, string> unitOfStoredEpisode, IReadOnlySet<string> deletedUnits, DateTimeOffset now)
    {
        DeletedEpisodes = deletedEpisodes;
        UnitOfStoredEpisode = unitOfStoredEpisode;
        DeletedUnits = deletedUnits;
        Now = now;
    }

    /// <summary>Episodes being deleted.</summary>
    public IReadOnlySet<string> DeletedEpisodes { get; }

    /// <summary>Unit key of every stored episode of the tenant (deleted ones included, read before deletion).</summary>
    public IReadOnlyDictionary<string, string> UnitOfStoredEpisode { get; }

    /// <summary>Units whose episodes are among the deleted ones.</summary>
    public IReadOnlySet<string> DeletedUnits { get; }

    /// <summary>Units whose every episode is deleted (erased units): lessons scoped to them are scrubbed.</summary>
    public ISet<string> ErasedUnits { get; } = new HashSet<string>(StringComparer.Ordinal);

    public DateTimeOffset Now { get; }

    public IReadOnlyCollection<LessonRetirementAction> Retirements => _retire.Values;

    public bool Retires(string lessonId) => _retire.ContainsKey(lessonId);

    public void Retire(LessonRetirementAction action) => _retire.TryAdd(action.LessonId, action);

    /// <summary>True when the lesson cites a deleted episode or is retired by these edits.</summary>
    public bool Touches(Lesson lesson) => Retires(lesson.Id) || CitesDeleted(lesson) || IsAboutErasedUnit(lesson);

    public bool CitesDeleted(Lesson lesson) => DeletedEpisodes.Count > 0 && lesson.Evidence.EpisodeIds.Any(DeletedEpisodes.Contains);

    public bool IsAboutErasedUnit(Lesson lesson) => lesson.Scope.UnitKey is { } unit && ErasedUnits.Contains(unit);

    /// <summary>The lesson after the edits: retired (and scrubbed when it is about an erased unit), or with its evidence pruned, or itself.</summary>
    public Lesson Apply(Lesson lesson)
    {
        var edited = CitesDeleted(lesson) ? lesson with { Evidence = Prune(lesson.Evidence) } : lesson;
        if (_retire.TryGetValue(lesson.Id, out var retirement) && !edited.IsRetired)
        {
            edited = edited with { Status = LessonStatus.Retired, RetiredAt = Now, RetiredReason = retirement.Reason };
        }

        if (IsAboutErasedUnit(edited))
        {
            // A lesson scoped to an erased unit is a fact about that person: its words and its unit key go too.
            var pseudonym = UnitPseudonym.Of(edited.Scope.Tenant, edited.Scope.UnitKey!);
            edited = edited with
            {
                Text = $"(erased: a lesson about unit {pseudonym}, whose episodes were deleted)",
                Trigger = new LessonTrigger { Kind = edited.Trigger.Kind, Description = edited.Trigger.Kind == TriggerKind.Description ? "(erased)" : null },
                Scope = edited.Scope with { UnitKey = pseudonym },
                Evidence = edited.Evidence with { Feedback = [] },
            };
        }

        return edited;
    }

    /// <summary>
    /// The evidence without the deleted episodes. Counts are exact when the id list was complete; when it was capped,
    /// distinct sources take the lowest value consistent with what is known (each deleted unit not seen among the
    /// remaining listed episodes is assumed to have been a source of its own), so erasure never overstates support.
    /// </summary>
    public LessonEvidence Prune(LessonEvidence evidence)
    {
        var removed = evidence.EpisodeIds.Count(DeletedEpisodes.Contains);
        if (removed == 0)
        {
            return evidence;
        }

        var remaining = evidence.EpisodeIds.Where(id => !DeletedEpisodes.Contains(id)).ToArray();
        var complete = evidence.EpisodeIds.Count >= evidence.EpisodeCount;
        var count = Math.Max(remaining.Length, evidence.EpisodeCount - removed);
        var remainingUnits = remaining
            .Select(id => UnitOfStoredEpisode.TryGetValue(id, out var unit) ? unit : null)
            .Where(u => u is not null)
            .ToHashSet(StringComparer.Ordinal);
        int sources;
        if (complete)
        {
            sources = Math.Min(evidence.DistinctSources, remainingUnits.Count);
        }
        else
        {
            var removedUnits = evidence.EpisodeIds
                .Where(DeletedEpisodes.Contains)
                .Select(id => UnitOfStoredEpisode.TryGetValue(id, out var unit) ? unit : null)
                .Where(u => u is not null && !remainingUnits.Contains(u))
                .Distinct(StringComparer.Ordinal)
                .Count();
            sources = Math.Max(remainingUnits.Count, evidence.DistinctSources - removedUnits);
        }

        return evidence with
        {
            EpisodeIds = remaining,
            EpisodeCount = count,
            DistinctSources = Math.Min(Math.Max(0, sources), count),
            Support = Math.Max(count, evidence.Support - removed),
        };
    }
}

/// <summary>The stable, one-way name of a unit that the audit log may keep after the unit's data is erased.</summary>
internal static class UnitPseudonym
{
    /// <summary>
    /// "unit-" and 16 hex digits of SHA-256 over the tenant and the key: whoever knows the key can confirm that its
    /// erasure was recorded, and the log alone does not reveal it (guessable keys such as e-mail addresses can still be
    /// confirmed by trying them, which is the point of the confirmation).
    /// </summary>
    public static string Of(string tenant, string unitKey)
    {
        var bytes = SHA256.HashData(Encoding.UTF8.GetBytes(string.Create(CultureInfo.InvariantCulture, $"lore-unit\n{tenant}\n{unitKey}")));
        return "unit-" + Convert.ToHexStringLower(bytes)[..16];
    }
}
