using Lore.Retrieval;
using Lore.Rollout;

namespace Lore.Hosting;

/// <summary>
/// What the tenant's rollout gives an episode that a host records itself (episodes reported over an API or MCP, or
/// guidelines asked for before a task): its arm and snapshot, retrieval from that snapshot (and, in shadow, the
/// candidate's), and continuous evaluation once the host has stored the ended episode. The same unit and episode id
/// always get the same assignment while the rollout stands.
/// </summary>
public sealed class EpisodeAssignment
{
    private readonly LoreRuntime _runtime;
    private readonly RolloutAssignment _assignment;

    internal EpisodeAssignment(LoreRuntime runtime, RolloutAssignment assignment)
    {
        _runtime = runtime;
        _assignment = assignment;
    }

    /// <summary>The rollout arm (baseline or candidate), or null when no rollout was running.</summary>
    public string? Arm => _assignment.Arm;

    /// <summary>The snapshot served to the episode, or null for the baseline (nothing learned yet).</summary>
    public string? SnapshotId => _assignment.Served.SnapshotId;

    /// <summary>The rollout's stage when the episode was assigned.</summary>
    public RolloutStage Stage => _assignment.Stage;

    /// <summary>In shadow, the candidate whose picks are recorded but never injected; null otherwise.</summary>
    public string? ShadowSnapshotId => _assignment.Shadow?.SnapshotId;

    /// <summary>The lessons the episode's snapshot serves for <paramref name="query"/> (embedding the query first when retrieval uses the runtime's generator).</summary>
    public ValueTask<RetrievalResult> RetrieveAsync(RetrievalQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return _runtime.RetrieveAsync(_assignment.Served, query, cancellationToken);
    }

    /// <summary>In shadow, what the candidate would have served for <paramref name="query"/>; null when nothing runs in shadow.</summary>
    public async ValueTask<RetrievalResult?> RetrieveShadowAsync(RetrievalQuery query, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        return _assignment.Shadow is { } shadow ? await _runtime.RetrieveAsync(shadow, query, cancellationToken).ConfigureAwait(false) : null;
    }

    /// <summary>
    /// Counts an ended episode the host has stored in continuous evaluation of the running rollout (in this
    /// assignment's arm) and in Lore's telemetry, as episodes captured in process are counted. The failure mode comes
    /// from <see cref="LoreOptions.FailureClassifier"/> when one is set, else from the built-in signature.
    /// </summary>
    public async ValueTask CountEndedAsync(Episode episode, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episode);
        var mode = await _runtime.FailureModeIfFailedAsync(episode, cancellationToken).ConfigureAwait(false);
        _runtime.Monitor.OnEpisodeEnded(episode.Id, episode.UnitKey, _assignment, episode.Slice, episode.Score, mode);
        LoreTelemetry.EpisodeEnded(_runtime.TelemetryTenant, episode.Arm, episode.Slice, episode.Outcomes.Count > 0 ? episode.Outcomes[^1] : null);
        if (episode.Succeeded is false)
        {
            LoreTelemetry.EpisodeFailed(_runtime.TelemetryTenant, episode.Arm, mode);
        }
    }
}
