using System.ComponentModel;
using System.Text.Json;
using Lore.Server.Hosting;
using ModelContextProtocol;
using ModelContextProtocol.Server;

namespace Lore.Server.Mcp;

/// <summary>
/// Read-only resources: the tenant's snapshots, one snapshot with its lessons, one lesson with its evidence and
/// admission history, and the rollout. Records are Lore's one JSON shape (<see cref="LoreJson"/>), the same the CLI's
/// <c>--json</c> prints. Another tenant's id reads exactly like an unknown one.
/// </summary>
[McpServerResourceType]
internal sealed class LoreMcpResources(McpAgent agent, TenantRuntimes runtimes)
{
    private const string Json = "application/json";

    [McpServerResource(UriTemplate = "lore://snapshots", Name = "snapshots", Title = "Snapshots", MimeType = Json)]
    [Description("Every snapshot of learned lessons in this workspace, newest first, with the one served to everyone (stable) and the one in rollout (candidate).")]
    public async Task<string> SnapshotsAsync(CancellationToken cancellationToken)
    {
        var store = runtimes.Store;
        var rollout = await store.GetRolloutAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        var snapshots = await store.ListSnapshotsAsync(agent.Tenant, cancellationToken).ConfigureAwait(false);
        return JsonSerializer.Serialize(new { rollout, snapshots }, LoreJson.Indented);
    }

    [McpServerResource(UriTemplate = "lore://snapshots/{id}", Name = "snapshot", Title = "One snapshot", MimeType = Json)]
    [Description("One snapshot: its lessons and retrieval settings, parent, author and reason. The id 'stable' names the snapshot served now.")]
    public async Task<string> SnapshotAsync(string id, CancellationToken cancellationToken)
    {
        var store = runtimes.Store;
        var snapshotId = id;
        if (string.Equals(id, "stable", StringComparison.OrdinalIgnoreCase))
        {
            snapshotId = (await store.GetRolloutAsync(agent.Tenant, cancellationToken).ConfigureAwait(false)).StableSnapshotId
                ?? throw NotFound($"No snapshot is served in this workspace yet (nothing has been learned); see lore://snapshots.");
        }

        var snapshot = await store.GetSnapshotAsync(snapshotId, cancellationToken).ConfigureAwait(false);
        return snapshot is not null && snapshot.Tenant == agent.Tenant
            ? JsonSerializer.Serialize(snapshot, LoreJson.Indented)
            : throw NotFound($"No snapshot '{id}' in this workspace; see lore://snapshots.");
    }

    [McpServerResource(UriTemplate = "lore://lessons/{id}", Name = "lesson", Title = "One lesson", MimeType = Json)]
    [Description("One lesson: its text, kind, trigger, scope, evidence (episodes, distinct sources, lift), measured effect, admission findings and reviews.")]
    public async Task<string> LessonAsync(string id, CancellationToken cancellationToken)
    {
        var lesson = await runtimes.Store.GetLessonAsync(id, cancellationToken).ConfigureAwait(false);
        return lesson is not null && lesson.Scope.Tenant == agent.Tenant
            ? JsonSerializer.Serialize(lesson, LoreJson.Indented)
            : throw NotFound($"No lesson '{id}' in this workspace; list_lessons shows the lessons served.");
    }

    private static McpProtocolException NotFound(string message) => new(message, McpErrorCode.ResourceNotFound);
}
