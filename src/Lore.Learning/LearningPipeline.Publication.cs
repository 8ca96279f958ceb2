using System.Text.Json;
using Lore.Learning.Publication;
using Microsoft.Extensions.Logging;

namespace Lore.Learning;

// The last step of a run: a new snapshot is audited as created and handed to the rollout the way the policy says
// (served at once, shadow or canary), never past a freeze; with ActivateNewSnapshot off it is only stored.
public sealed partial class LearningPipeline
{
    /// <summary>
    /// How new snapshots enter service; null (or an <see cref="RolloutPolicy.EntryStage"/> of None) serves them to
    /// every unit at once, as a runtime without staged rollout does.
    /// </summary>
    public RolloutPolicy? Rollout { get; init; }

    /// <summary>Saves the snapshot, audits its creation (once: the same content learned again has the same id) and publishes it.</summary>
    private async Task PublishAsync(Snapshot snapshot, string runId, string actor, CancellationToken cancellationToken)
    {
        var existed = await _store.GetSnapshotAsync(snapshot.Id, cancellationToken).ConfigureAwait(false) is not null;
        await _store.SaveSnapshotAsync(snapshot, cancellationToken).ConfigureAwait(false);
        if (!existed)
        {
            await AuditCreatedAsync(snapshot, runId, actor, cancellationToken).ConfigureAwait(false);
        }

        if (!_options.ActivateNewSnapshot)
        {
            return;
        }

        var publication = await SnapshotPublisher.PublishAsync(_store, snapshot, Rollout, actor, $"new snapshot from learning run {runId}", _time, cancellationToken).ConfigureAwait(false);
        LogPublication(_logger, publication.Note);
    }

    private Task AuditCreatedAsync(Snapshot snapshot, string runId, string actor, CancellationToken cancellationToken)
    {
        var created = new
        {
            snapshot = snapshot.Id,
            parent = snapshot.ParentId,
            lessons = snapshot.Lessons.Count,
            lessonIds = snapshot.Lessons.Select(l => l.Id),
            run = runId,
        };
        return _store.AppendAuditAsync(
            new AuditDraft
            {
                Tenant = snapshot.Tenant,
                Actor = actor,
                Action = AuditActions.SnapshotCreated,
                Subject = snapshot.Id,
                Reason = snapshot.Reason,
                DetailsJson = JsonSerializer.Serialize(created, LoreJson.Options),
                At = _time.GetUtcNow(),
            },
            cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "{Note}")]
    private static partial void LogPublication(ILogger logger, string note);
}
