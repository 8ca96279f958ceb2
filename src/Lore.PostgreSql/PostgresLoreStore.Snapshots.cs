using Npgsql;

namespace Lore.PostgreSql;

// Snapshots: immutable and content-addressed. Which one a tenant is served lives in the rollout (PostgresLoreStore.Rollouts.cs).
public sealed partial class PostgresLoreStore
{
    private const string InsertSnapshotSql = """
        INSERT INTO snapshots (id, tenant, parent_id, created_at, created_by, reason, lesson_count, json)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
        ON CONFLICT (id) DO NOTHING;
        """;

    private const string GetSnapshotSql = "SELECT json FROM snapshots WHERE id = $1;";

    private const string ListSnapshotsSql = """
        SELECT s.id, s.parent_id, s.tenant, s.lesson_count, s.created_by, s.reason, s.created_at, r.stable_snapshot_id IS NOT NULL
        FROM snapshots s
        LEFT JOIN rollouts r ON r.tenant = s.tenant AND r.stable_snapshot_id = s.id
        WHERE s.tenant = $1
        ORDER BY s.created_at COLLATE "C" DESC, s.position DESC;
        """;

    /// <summary>
    /// Stores the snapshot unless its id is already stored (then nothing changes: snapshots are immutable). A snapshot
    /// whose content no longer hashes to its id is refused with an <see cref="ArgumentException"/>.
    /// </summary>
    public async Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshot);
        ArgumentNullException.ThrowIfNull(snapshot.Lessons);
        var contentId = Snapshot.ComputeId(snapshot.ParentId, snapshot.Tenant, snapshot.Lessons, snapshot.Settings);
        if (contentId != snapshot.Id)
        {
            throw new ArgumentException(
                $"Snapshot '{snapshot.Id}' does not match its content (which hashes to '{contentId}'): it was changed after Snapshot.Create. " +
                "Snapshots are immutable; build a new one with Snapshot.Create instead.", nameof(snapshot));
        }

        await WriteAsync((connection, transaction) => InsertSnapshotAsync(connection, transaction, snapshot, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Inserts the snapshot unless its id is stored; true when it was inserted now.</summary>
    private static async Task<bool> InsertSnapshotAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, Snapshot snapshot, CancellationToken cancellationToken)
    {
        var json = PostgresText.Json(snapshot);
        await using var insert = Sql(connection, transaction, InsertSnapshotSql,
            snapshot.Id, snapshot.Tenant, snapshot.ParentId, PostgresText.FromTimeUtc(snapshot.CreatedAt),
            snapshot.CreatedBy ?? "", snapshot.Reason ?? "", snapshot.Lessons.Count, json);
        return await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 1;
    }

    /// <summary>
    /// The stored snapshot as it was saved, with <see cref="Snapshot.StoredContentAddress"/> computed from the stored
    /// text, so <see cref="Snapshot.IsIntact"/> tells whether the stored content still matches its id.
    /// </summary>
    public async Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshotId);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetSnapshotSql, snapshotId);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string json
                ? ReadSnapshot(json, snapshotId)
                : null;
        }, cancellationToken).ConfigureAwait(false);
    }

    private static Snapshot ReadSnapshot(string json, string snapshotId)
    {
        var snapshot = PostgresText.FromJson<Snapshot>(json, $"Snapshot '{snapshotId}'");
        string address;
        try
        {
            address = Snapshot.AddressOfStoredJson(json);
        }
        catch (System.Text.Json.JsonException)
        {
            address = "unreadable";
        }

        return snapshot with { StoredContentAddress = address };
    }

    /// <summary>The tenant's snapshots, newest first (by creation time, then by the order they were stored).</summary>
    public async Task<IReadOnlyList<SnapshotSummary>> ListSnapshotsAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, ListSnapshotsSql, tenant);
            var summaries = new List<SnapshotSummary>();
            await using var r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                summaries.Add(new SnapshotSummary(
                    Id: r.GetString(0),
                    ParentId: r.IsDBNull(1) ? null : r.GetString(1),
                    Tenant: r.GetString(2),
                    LessonCount: r.GetInt32(3),
                    CreatedBy: r.GetString(4),
                    Reason: r.GetString(5),
                    CreatedAt: PostgresText.ToTime(r.GetString(6)),
                    IsActive: r.GetBoolean(7)));
            }

            return summaries;
        }, cancellationToken).ConfigureAwait(false);
    }
}
