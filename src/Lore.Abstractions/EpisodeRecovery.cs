namespace Lore;

/// <summary>
/// Which open episodes recovery may end as abandoned: those of <see cref="Tenant"/> (every tenant when null) whose
/// last sign of life (their start or their latest step) is older than <see cref="IdleSince"/>, except the ids in
/// <see cref="Running"/> (episodes this process is capturing right now).
/// </summary>
public sealed record AbandonedEpisodeSweep
{
    /// <summary>The tenant whose episodes are swept, or null for every tenant (a server starting up).</summary>
    public string? Tenant { get; init; }

    /// <summary>
    /// Episodes with a start or step at or after this moment are left alone: another live host may still be writing
    /// them (PostgreSQL shared by many hosts). Recovery at start of a single host may pass the current time.
    /// </summary>
    public required DateTimeOffset IdleSince { get; init; }

    /// <summary>The end time recorded on the episodes it ends.</summary>
    public required DateTimeOffset EndedAt { get; init; }

    /// <summary>Who recovered them, for the audit entry.</summary>
    public string Actor { get; init; } = "lore";

    /// <summary>Ids of episodes the calling process is still capturing: never ended by the sweep.</summary>
    public IReadOnlySet<string> Running { get; init; } = new HashSet<string>(StringComparer.Ordinal);

    /// <summary>Whether an open episode is to be ended: not running here, and no sign of life since <see cref="IdleSince"/>.</summary>
    public bool Selects(string episodeId, DateTimeOffset startedAt, DateTimeOffset? lastStepAt)
    {
        var lastSeen = lastStepAt is { } step && step > startedAt ? step : startedAt;
        return lastSeen < IdleSince && !Running.Contains(episodeId);
    }

    /// <summary>The one audit entry that records the episodes a sweep ended for a tenant (ids in the details, no content).</summary>
    public AuditDraft AuditDraft(string tenant, IReadOnlyList<string> episodeIds)
    {
        ArgumentNullException.ThrowIfNull(episodeIds);
        var details = System.Text.Json.JsonSerializer.Serialize(new AbandonedAuditDetails(episodeIds.Count, IdleSince, episodeIds), LoreJson.Options);
        return new AuditDraft
        {
            Tenant = tenant,
            Actor = Actor,
            Action = AuditActions.EpisodesAbandoned,
            Subject = $"{episodeIds.Count} episodes",
            Reason = $"open with no step since before {IdleSince:O}: the process capturing them is gone, so they were ended as abandoned",
            DetailsJson = details,
            At = EndedAt,
        };
    }

    private sealed record AbandonedAuditDetails(int Episodes, DateTimeOffset IdleSince, IReadOnlyList<string> EpisodeIds);
}

/// <summary>The episodes a sweep ended, per tenant, and the audit entries that record them (one per tenant).</summary>
public sealed record AbandonedEpisodes(IReadOnlyDictionary<string, IReadOnlyList<string>> EpisodeIdsByTenant, IReadOnlyList<AuditEntry> Audit)
{
    /// <summary>How many episodes were ended.</summary>
    public int Count => EpisodeIdsByTenant.Values.Sum(ids => ids.Count);
}

/// <summary>
/// Implemented by stores that can end episodes a dead process left open. Without it such an episode keeps
/// <c>ended_at</c> NULL forever: an outcome cannot end it, so it is never learned from. The sweep ends them as
/// <see cref="EpisodeEndReasons.Abandoned"/> and writes one <see cref="AuditActions.EpisodesAbandoned"/> entry per
/// tenant in the same transaction, so two hosts sweeping at once never end or audit an episode twice.
/// </summary>
public interface IEpisodeRecovery
{
    /// <summary>Ends the open episodes the sweep selects (see <see cref="AbandonedEpisodeSweep"/>) and audits them.</summary>
    Task<AbandonedEpisodes> AbandonIdleEpisodesAsync(AbandonedEpisodeSweep sweep, CancellationToken cancellationToken = default);
}

/// <summary>
/// Implemented by stores whose imports stage their episodes (written in batches, invisible) before publishing them in
/// one step. Staged episodes get their sequences when staged, so a learning cursor that moved past them meanwhile
/// would never read them as new: learning keeps its cursor below the lowest staged sequence until it is published.
/// </summary>
public interface IStagedImports
{
    /// <summary>The lowest sequence an unpublished import of a live process holds for the tenant; null when none does.</summary>
    Task<long?> LowestStagedSequenceAsync(string tenant, CancellationToken cancellationToken = default);
}
