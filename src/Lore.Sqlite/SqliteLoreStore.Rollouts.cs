using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Rollouts: which snapshot each tenant is served. The rollout row's stable snapshot IS the active snapshot (there is
// no other copy), and every change, through either API, goes through the row's version.
public sealed partial class SqliteLoreStore
{
    private const string GetRolloutSql = """
        SELECT stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by
        FROM rollouts WHERE tenant = $tenant;
        """;

    private const string GetActiveSql = "SELECT stable_snapshot_id FROM rollouts WHERE tenant = $tenant;";

    private const string RolloutVersionSql = "SELECT version FROM rollouts WHERE tenant = $tenant;";

    private const string SnapshotTenantSql = "SELECT tenant FROM snapshots WHERE id = $id;";

    private const string UpsertRolloutSql = """
        INSERT INTO rollouts (tenant, stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by)
        VALUES ($tenant, $stable, $candidate, $stage, $canary_share, $frozen, $frozen_reason, $version, $updated_at, $updated_by)
        ON CONFLICT (tenant) DO UPDATE SET
            stable_snapshot_id = excluded.stable_snapshot_id, candidate_snapshot_id = excluded.candidate_snapshot_id,
            stage = excluded.stage, canary_share = excluded.canary_share, frozen = excluded.frozen,
            frozen_reason = excluded.frozen_reason, version = excluded.version, updated_at = excluded.updated_at,
            updated_by = excluded.updated_by;
        """;

    // Pointing a tenant at its candidate is promoting it: the candidate is cleared so that stable and candidate never coincide.
    private const string SetActiveSql = """
        INSERT INTO rollouts (tenant, stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by)
        VALUES ($tenant, $stable, NULL, 'none', 0.0, 0, NULL, 1, $updated_at, '')
        ON CONFLICT (tenant) DO UPDATE SET
            candidate_snapshot_id = CASE WHEN candidate_snapshot_id = excluded.stable_snapshot_id THEN NULL ELSE candidate_snapshot_id END,
            stage = CASE WHEN candidate_snapshot_id = excluded.stable_snapshot_id THEN 'none' ELSE stage END,
            canary_share = CASE WHEN candidate_snapshot_id = excluded.stable_snapshot_id THEN 0.0 ELSE canary_share END,
            stable_snapshot_id = excluded.stable_snapshot_id,
            version = version + 1,
            updated_at = excluded.updated_at,
            updated_by = excluded.updated_by;
        """;

    private static readonly string StageNone = SqliteText.Name(RolloutStage.None);
    private static readonly string StageShadow = SqliteText.Name(RolloutStage.Shadow);
    private static readonly string StageCanary = SqliteText.Name(RolloutStage.Canary);

    /// <summary>The tenant's stable snapshot (the one its rollout serves by default), or null when it has none.</summary>
    public async Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetActiveSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        return command.ExecuteScalar() as string;
    }

    /// <summary>
    /// Makes a stored snapshot of the tenant (or none) its stable snapshot, as an unconditional change of the rollout:
    /// the rollout's version increases by one and its <c>UpdatedBy</c> becomes empty (this method names no actor).
    /// When the snapshot is the rollout's candidate, the candidate is promoted: the stage returns to
    /// <see cref="RolloutStage.None"/>. A snapshot that is unknown or belongs to another tenant throws
    /// <see cref="KeyNotFoundException"/> and changes nothing.
    /// </summary>
    public Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        return WriteAsync(transaction =>
        {
            if (snapshotId is not null)
            {
                RequireOwnSnapshot(transaction, tenant, snapshotId, "active");
            }

            using var set = WriteCommand(transaction, SetActiveSql);
            set.Parameters.AddWithValue("$tenant", tenant);
            set.Parameters.AddWithValue("$stable", SqliteText.OrNull(snapshotId));
            set.Parameters.AddWithValue("$updated_at", SqliteText.FromTime(_clock.GetUtcNow()));
            set.ExecuteNonQuery();
        }, cancellationToken);
    }

    /// <summary>The tenant's rollout; a tenant that never had one gets Version 0, no candidate and no stable snapshot.</summary>
    public async Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, GetRolloutSql);
        command.Parameters.AddWithValue("$tenant", tenant);
        using var r = command.ExecuteReader();
        if (!r.Read())
        {
            return new RolloutState { Tenant = tenant };
        }

        return new RolloutState
        {
            Tenant = tenant,
            StableSnapshotId = r.IsDBNull(0) ? null : r.GetString(0),
            CandidateSnapshotId = r.IsDBNull(1) ? null : r.GetString(1),
            Stage = ParseStage(r.GetString(2), tenant),
            CanaryShare = r.GetDouble(3),
            Frozen = r.GetInt64(4) != 0,
            FrozenReason = r.IsDBNull(5) ? null : r.GetString(5),
            Version = r.GetInt64(6),
            UpdatedAt = SqliteText.ToTime(r.GetString(7)),
            UpdatedBy = r.GetString(8),
        };
    }

    /// <summary>
    /// Saves the rollout if its stored version is still <paramref name="expectedVersion"/>, stamping
    /// <see cref="RolloutState.UpdatedAt"/> with the store's clock; returns what was stored (version + 1).
    /// </summary>
    /// <exception cref="StoreConflictException">The stored version is not <paramref name="expectedVersion"/>: someone else changed the rollout since it was read.</exception>
    /// <exception cref="KeyNotFoundException">The stable or candidate snapshot is not stored, or belongs to another tenant.</exception>
    /// <exception cref="ArgumentException">The state is inconsistent: Shadow or Canary without a candidate, a candidate with stage None,
    /// a candidate equal to the stable snapshot, or a canary share outside [0, 1].</exception>
    public Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckRollout(state, expectedVersion);
        return WriteAsync(transaction =>
        {
            var saved = SaveRollout(transaction, state, expectedVersion);
            CrashPoints.Reach(CrashPoints.RolloutBeforeCommit);
            return saved;
        }, cancellationToken);
    }

    private RolloutState SaveRollout(SqliteTransaction transaction, RolloutState state, long expectedVersion)
    {
        var tenant = state.Tenant;
        {
            using (var read = WriteCommand(transaction, RolloutVersionSql))
            {
                read.Parameters.AddWithValue("$tenant", tenant);
                var stored = read.ExecuteScalar() is long version ? version : 0;
                if (stored != expectedVersion)
                {
                    throw new StoreConflictException(
                        $"The rollout of tenant '{tenant}' is at version {stored}, not at the expected version {expectedVersion}: " +
                        "it changed since it was read. Nothing was saved; read it again and decide again.");
                }
            }

            if (state.StableSnapshotId is { } stable)
            {
                RequireOwnSnapshot(transaction, tenant, stable, "stable");
            }

            if (state.CandidateSnapshotId is { } candidate)
            {
                RequireOwnSnapshot(transaction, tenant, candidate, "candidate");
            }

            var saved = state with { Version = expectedVersion + 1, UpdatedAt = _clock.GetUtcNow(), UpdatedBy = state.UpdatedBy ?? "" };
            using var upsert = WriteCommand(transaction, UpsertRolloutSql);
            upsert.Parameters.AddWithValue("$tenant", tenant);
            upsert.Parameters.AddWithValue("$stable", SqliteText.OrNull(saved.StableSnapshotId));
            upsert.Parameters.AddWithValue("$candidate", SqliteText.OrNull(saved.CandidateSnapshotId));
            upsert.Parameters.AddWithValue("$stage", SqliteText.Name(saved.Stage));
            upsert.Parameters.AddWithValue("$canary_share", saved.CanaryShare);
            upsert.Parameters.AddWithValue("$frozen", saved.Frozen ? 1L : 0L);
            upsert.Parameters.AddWithValue("$frozen_reason", SqliteText.OrNull(saved.FrozenReason));
            upsert.Parameters.AddWithValue("$version", saved.Version);
            upsert.Parameters.AddWithValue("$updated_at", SqliteText.FromTime(saved.UpdatedAt));
            upsert.Parameters.AddWithValue("$updated_by", saved.UpdatedBy);
            upsert.ExecuteNonQuery();
            return saved;
        }
    }

    private void RequireOwnSnapshot(SqliteTransaction transaction, string tenant, string snapshotId, string role)
    {
        using var owner = WriteCommand(transaction, SnapshotTenantSql);
        owner.Parameters.AddWithValue("$id", snapshotId);
        var stored = owner.ExecuteScalar() as string;
        if (stored != tenant)
        {
            throw new KeyNotFoundException(stored is null
                ? $"Snapshot '{snapshotId}' (the {role} snapshot) is not stored; tenant '{tenant}' still serves what it served before."
                : $"Snapshot '{snapshotId}' (the {role} snapshot) belongs to another tenant, not to '{tenant}'; a tenant can only be served its own snapshots.");
        }
    }

    private static RolloutStage ParseStage(string stage, string tenant)
    {
        if (stage == StageNone)
        {
            return RolloutStage.None;
        }

        if (stage == StageShadow)
        {
            return RolloutStage.Shadow;
        }

        return stage == StageCanary
            ? RolloutStage.Canary
            : throw new InvalidDataException($"The rollout of tenant '{tenant}' is stored with unknown stage '{stage}'.");
    }
}
