namespace Lore.PostgreSql;

// The shared rollout tally (migration 0004): one row per judged canary episode, whichever host judged it, so that
// every host evaluates the same unit sums and one decision is made per tenant.
public sealed partial class PostgresLoreStore
{
    // One statement per batch; DO NOTHING also absorbs an episode repeated within the batch.
    private const string InsertRolloutOutcomesSql = """
        INSERT INTO rollout_outcomes (tenant, candidate_snapshot_id, episode_id, canary_share, arm, slice, unit_key, score, failure_mode)
        SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::double precision[], $5::text[], $6::text[], $7::text[], $8::double precision[], $9::text[])
        ON CONFLICT (tenant, candidate_snapshot_id, episode_id) DO NOTHING;
        """;

    private const string ReadRolloutTallySql = """
        SELECT canary_share, arm, slice, unit_key, COUNT(*)::integer, SUM(score), SUM(score * score), MIN(sequence)
        FROM rollout_outcomes WHERE tenant = $1 AND candidate_snapshot_id = $2
        GROUP BY canary_share, arm, slice, unit_key;
        """;

    private const string ReadRolloutFailureTallySql = """
        SELECT canary_share, arm, slice, unit_key, failure_mode, COUNT(*)::integer, MIN(sequence)
        FROM rollout_outcomes WHERE tenant = $1 AND candidate_snapshot_id = $2 AND failure_mode IS NOT NULL
        GROUP BY canary_share, arm, slice, unit_key, failure_mode;
        """;

    /// <summary>Adds judged canary episodes to the shared tally in one transaction; episodes already counted are ignored.</summary>
    public async Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        foreach (var outcome in outcomes)
        {
            ArgumentNullException.ThrowIfNull(outcome, nameof(outcomes));
            outcome.Validate();
        }

        if (outcomes.Count == 0)
        {
            return;
        }

        await WriteAsync(async (connection, transaction) =>
        {
            await using var insert = Sql(connection, transaction, InsertRolloutOutcomesSql,
                outcomes.Select(o => o.Tenant).ToArray(),
                outcomes.Select(o => o.CandidateSnapshotId).ToArray(),
                outcomes.Select(o => o.EpisodeId).ToArray(),
                outcomes.Select(o => o.CanaryShare).ToArray(),
                outcomes.Select(o => o.Arm).ToArray(),
                outcomes.Select(o => o.Slice).ToArray(),
                outcomes.Select(o => o.UnitKey).ToArray(),
                outcomes.Select(o => o.Score).ToArray(),
                outcomes.Select(o => o.FailureMode).ToArray());
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The candidate's shared tally, per canary share, arm, slice and unit.</summary>
    public async Task<IReadOnlyList<RolloutUnitTally>> ReadRolloutTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(candidateSnapshotId);
        return await ReadAsync<IReadOnlyList<RolloutUnitTally>>(async connection =>
        {
            await using var command = Sql(connection, null, ReadRolloutTallySql, tenant, candidateSnapshotId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<RolloutUnitTally>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new RolloutUnitTally(reader.GetDouble(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetInt64(7)));
            }

            return rows;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The failures in the candidate's shared tally, per canary share, arm, slice, unit and mode.</summary>
    public async Task<IReadOnlyList<RolloutFailureTally>> ReadRolloutFailureTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(candidateSnapshotId);
        return await ReadAsync<IReadOnlyList<RolloutFailureTally>>(async connection =>
        {
            await using var command = Sql(connection, null, ReadRolloutFailureTallySql, tenant, candidateSnapshotId);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            var rows = new List<RolloutFailureTally>();
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                rows.Add(new RolloutFailureTally(reader.GetDouble(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6)));
            }

            return rows;
        }, cancellationToken).ConfigureAwait(false);
    }
}
