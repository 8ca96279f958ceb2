using Npgsql;

namespace Lore.PostgreSql;

// Rollouts: which snapshot each tenant is served. The rollout row's stable snapshot IS the active snapshot (there is
// no other copy), every change, through either API, goes through the row's version, and every change notifies
// channel lore_changes in its own transaction, so that other hosts hear of it when (and only if) it commits.
public sealed partial class PostgresLoreStore
{
    private const string GetRolloutSql = """
        SELECT stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by
        FROM rollouts WHERE tenant = $1;
        """;

    private const string GetActiveSql = "SELECT stable_snapshot_id FROM rollouts WHERE tenant = $1;";

    private const string LockRolloutSql = "SELECT version FROM rollouts WHERE tenant = $1 FOR UPDATE;";

    private const string SnapshotTenantSql = "SELECT tenant FROM snapshots WHERE id = $1;";

    // The WHERE makes the write a compare-and-swap even when two first saves race to insert the row.
    private const string UpsertRolloutSql = """
        INSERT INTO rollouts (tenant, stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
        ON CONFLICT (tenant) DO UPDATE SET
            stable_snapshot_id = excluded.stable_snapshot_id, candidate_snapshot_id = excluded.candidate_snapshot_id,
            stage = excluded.stage, canary_share = excluded.canary_share, frozen = excluded.frozen,
            frozen_reason = excluded.frozen_reason, version = excluded.version, updated_at = excluded.updated_at,
            updated_by = excluded.updated_by
        WHERE rollouts.version = $11;
        """;

    // Pointing a tenant at its candidate is promoting it: the candidate is cleared so that stable and candidate never coincide.
    private const string SetActiveSql = """
        INSERT INTO rollouts (tenant, stable_snapshot_id, candidate_snapshot_id, stage, canary_share, frozen, frozen_reason, version, updated_at, updated_by)
        VALUES ($1, $2, NULL, 'none', 0.0, false, NULL, 1, $3, '')
        ON CONFLICT (tenant) DO UPDATE SET
            candidate_snapshot_id = CASE WHEN rollouts.candidate_snapshot_id = excluded.stable_snapshot_id THEN NULL ELSE rollouts.candidate_snapshot_id END,
            stage = CASE WHEN rollouts.candidate_snapshot_id = excluded.stable_snapshot_id THEN 'none' ELSE rollouts.stage END,
            canary_share = CASE WHEN rollouts.candidate_snapshot_id = excluded.stable_snapshot_id THEN 0.0 ELSE rollouts.canary_share END,
            stable_snapshot_id = excluded.stable_snapshot_id,
            version = rollouts.version + 1,
            updated_at = excluded.updated_at,
            updated_by = excluded.updated_by;
        """;

    private static readonly string StageNone = PostgresText.Name(RolloutStage.None);
    private static readonly string StageShadow = PostgresText.Name(RolloutStage.Shadow);
    private static readonly string StageCanary = PostgresText.Name(RolloutStage.Canary);

    /// <summary>The tenant's stable snapshot (the one its rollout serves by default), or null when it has none.</summary>
    public async Task<string?> GetActiveSnapshotIdAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetActiveSql, tenant);
            return await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Makes a stored snapshot of the tenant (or none) its stable snapshot, as an unconditional change of the rollout:
    /// the rollout's version increases by one and its <c>UpdatedBy</c> becomes empty (this method names no actor).
    /// When the snapshot is the rollout's candidate, the candidate is promoted: the stage returns to
    /// <see cref="RolloutStage.None"/>. A snapshot that is unknown or belongs to another tenant throws
    /// <see cref="KeyNotFoundException"/> and changes nothing.
    /// </summary>
    public async Task SetActiveSnapshotAsync(string tenant, string? snapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(tenant);
        await WriteAsync(async (connection, transaction) =>
        {
            if (snapshotId is not null)
            {
                await RequireOwnSnapshotAsync(connection, transaction, tenant, snapshotId, "active", cancellationToken).ConfigureAwait(false);
            }

            await using (var set = Sql(connection, transaction, SetActiveSql, tenant, snapshotId, PostgresText.FromTime(_clock.GetUtcNow())))
            {
                await set.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await NotifyAsync(connection, transaction, StoreChangeKinds.Rollout, tenant, cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The tenant's rollout; a tenant that never had one gets Version 0, no candidate and no stable snapshot.</summary>
    public async Task<RolloutState> GetRolloutAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return await ReadAsync(async connection =>
        {
            await using var command = Sql(connection, null, GetRolloutSql, tenant);
            await using var r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            if (!await r.ReadAsync(cancellationToken).ConfigureAwait(false))
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
                Frozen = r.GetBoolean(4),
                FrozenReason = r.IsDBNull(5) ? null : r.GetString(5),
                Version = r.GetInt64(6),
                UpdatedAt = PostgresText.ToTime(r.GetString(7)),
                UpdatedBy = r.GetString(8),
            };
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Saves the rollout if its stored version is still <paramref name="expectedVersion"/>, stamping
    /// <see cref="RolloutState.UpdatedAt"/> with the store's clock; returns what was stored (version + 1). The row is
    /// locked while it is checked and written, so of two hosts saving from the same version exactly one wins.
    /// </summary>
    /// <exception cref="StoreConflictException">The stored version is not <paramref name="expectedVersion"/>: someone else changed the rollout since it was read.</exception>
    /// <exception cref="KeyNotFoundException">The stable or candidate snapshot is not stored, or belongs to another tenant.</exception>
    /// <exception cref="ArgumentException">The state is inconsistent: Shadow or Canary without a candidate, a candidate with stage None,
    /// a candidate equal to the stable snapshot, or a canary share outside [0, 1].</exception>
    public async Task<RolloutState> SaveRolloutAsync(RolloutState state, long expectedVersion, CancellationToken cancellationToken = default)
    {
        StoreArguments.CheckRollout(state, expectedVersion);
        return await WriteAsync(async (connection, transaction) =>
        {
            var saved = await SaveRolloutAsync(connection, transaction, state, expectedVersion, cancellationToken).ConfigureAwait(false);
            CrashPoints.Reach(CrashPoints.RolloutBeforeCommit);
            return saved;
        }, cancellationToken).ConfigureAwait(false);
    }

    private async Task<RolloutState> SaveRolloutAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, RolloutState state, long expectedVersion, CancellationToken cancellationToken)
    {
        var tenant = state.Tenant;
        {
            await RequireRolloutVersionAsync(connection, transaction, tenant, expectedVersion, cancellationToken).ConfigureAwait(false);
            if (state.StableSnapshotId is { } stable)
            {
                await RequireOwnSnapshotAsync(connection, transaction, tenant, stable, "stable", cancellationToken).ConfigureAwait(false);
            }

            if (state.CandidateSnapshotId is { } candidate)
            {
                await RequireOwnSnapshotAsync(connection, transaction, tenant, candidate, "candidate", cancellationToken).ConfigureAwait(false);
            }

            var saved = state with { Version = expectedVersion + 1, UpdatedAt = _clock.GetUtcNow(), UpdatedBy = state.UpdatedBy ?? "" };
            await using (var upsert = Sql(connection, transaction, UpsertRolloutSql,
                tenant, saved.StableSnapshotId, saved.CandidateSnapshotId, PostgresText.Name(saved.Stage), saved.CanaryShare,
                saved.Frozen, saved.FrozenReason, saved.Version, PostgresText.FromTime(saved.UpdatedAt), saved.UpdatedBy, expectedVersion))
            {
                if (await upsert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false) == 0)
                {
                    // Another host inserted the tenant's first rollout between our read and our write.
                    throw Conflict(tenant, expectedVersion + 1, expectedVersion);
                }
            }

            await NotifyAsync(connection, transaction, StoreChangeKinds.Rollout, tenant, cancellationToken).ConfigureAwait(false);
            return saved;
        }
    }

    /// <summary>Locks the tenant's rollout row and throws <see cref="StoreConflictException"/> unless it is at <paramref name="expectedVersion"/>.</summary>
    private static async Task RequireRolloutVersionAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, long expectedVersion, CancellationToken cancellationToken)
    {
        await using var read = Sql(connection, transaction, LockRolloutSql, tenant);
        var stored = await read.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long version ? version : 0;
        if (stored != expectedVersion)
        {
            throw Conflict(tenant, stored, expectedVersion);
        }
    }

    private static StoreConflictException Conflict(string tenant, long stored, long expected) => new(
        $"The rollout of tenant '{tenant}' is at version {stored}, not at the expected version {expected}: " +
        "it changed since it was read. Nothing was saved; read it again and decide again.");

    private static async Task RequireOwnSnapshotAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string tenant, string snapshotId, string role, CancellationToken cancellationToken)
    {
        await using var owner = Sql(connection, transaction, SnapshotTenantSql, snapshotId);
        var stored = await owner.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) as string;
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
