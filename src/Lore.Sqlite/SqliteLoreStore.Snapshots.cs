using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Snapshots: immutable and content-addressed. Which one a tenant is served lives in the rollout (SqliteLoreStore.Rollouts.cs).
public sealed partial class SqliteLoreStore
{
    private const string InsertSnapshotSql = """
        INSERT INTO snapshots (id, tenant, parent_id, created_at, created_by, reason, lesson_count, json)
        VALUES ($id, $tenant, $parent_id, $created_at, $created_by, $reason, $lesson_count, $json)
        ON CONFLICT (id) DO NOTHING;
        """;

    private const string GetSnapshotSql = "SELECT json FROM snapshots WHERE id = $id;";

    private const string ListSnapshotsSql = """
        SELECT s.id, s.parent_id, s.tenant, s.lesson_count, s.created_by, s.reason, s.created_at, r.stable_snapshot_id IS NOT NULL
        FROM snapshots s
        LEFT JOIN rollouts r ON r.tenant = s.tenant AND r.stable_snapshot_id = s.id
        WHERE s.tenant = $tenant
        ORDER BY s.created_at DESC, s.rowid DESC;
        """;

    /// <summary>
    /// Stores the snapshot unless its id is already stored (then nothing changes: snapshots are immutable). A snapshot
    /// whose content no longer hashes to its id is refused with an <see cref="ArgumentException"/>.
    /// </summary>
    public Task SaveSnapshotAsync(Snapshot snapshot, CancellationToken cancellationToken = default)
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

        return WriteAsync(transaction => { InsertSnapshot(transaction, snapshot); }, cancellationToken);
    }

    /// <summary>Inserts the snapshot unless its id is stored; true when it was inserted now.</summary>
    private bool InsertSnapshot(SqliteTransaction transaction, Snapshot snapshot)
    {
        var json = SqliteText.Json(snapshot);
        {
            using var insert = WriteCommand(transaction, InsertSnapshotSql);
            insert.Parameters.AddWithValue("$id", snapshot.Id);
            insert.Parameters.AddWithValue("$tenant", snapshot.Tenant);
            insert.Parameters.AddWithValue("$parent_id", SqliteText.OrNull(snapshot.ParentId));
            insert.Parameters.AddWithValue("$created_at", SqliteText.FromTimeUtc(snapshot.CreatedAt));
            insert.Parameters.AddWithValue("$created_by", snapshot.CreatedBy ?? "");
            insert.Parameters.AddWithValue("$reason", snapshot.Reason ?? "");
            insert.Parameters.AddWithValue("$lesson_count", snapshot.Lessons.Count);
            insert.Parameters.AddWithValue("$json", json);
            return insert.ExecuteNonQuery() == 1;
        }
    }

    /// <summary>
    /// The stored snapshot as it was saved, with <see cref="Snapshot.StoredContentAddress"/> computed from the stored
    /// text, so <see cref="Snapshot.IsIntact"/> tells whether the stored content still matches its id (an edit of the
    /// file does not) while an additive change to the records (a new optional lesson field) does not look like one.
    /// </summary>
    public async Task<Snapshot?> GetSnapshotAsync(string snapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(snapshotId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetSnapshotSql);
        command.Parameters.AddWithValue("$id", snapshotId);
        return command.ExecuteScalar() is string json ? ReadSnapshot(json, snapshotId) : null;
    }

    private static Snapshot ReadSnapshot(string json, string snapshotId)
    {
        var snapshot = SqliteText.FromJson<Snapshot>(json, $"Snapshot '{snapshotId}'");
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
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, ListSnapshotsSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        var summaries = new List<SnapshotSummary>();
        using var r = command.ExecuteReader();
        while (r.Read())
        {
            summaries.Add(new SnapshotSummary(
                Id: r.GetString(0),
                ParentId: r.IsDBNull(1) ? null : r.GetString(1),
                Tenant: r.GetString(2),
                LessonCount: r.GetInt32(3),
                CreatedBy: r.GetString(4),
                Reason: r.GetString(5),
                CreatedAt: SqliteText.ToTime(r.GetString(6)),
                IsActive: r.GetBoolean(7)));
        }

        return summaries;
    }
}
