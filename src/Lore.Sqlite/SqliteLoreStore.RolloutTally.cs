using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// The shared rollout tally (migration 0007): one row per judged canary episode, whichever host judged it, so that
// every host evaluates the same unit sums and one decision is made per tenant.
public sealed partial class SqliteLoreStore
{
    private const string InsertRolloutOutcomeSql = """
        INSERT INTO rollout_outcomes (tenant, candidate_snapshot_id, episode_id, canary_share, arm, slice, unit_key, score, failure_mode)
        VALUES ($tenant, $candidate, $episode, $share, $arm, $slice, $unit, $score, $mode)
        ON CONFLICT (tenant, candidate_snapshot_id, episode_id) DO NOTHING;
        """;

    private const string ReadRolloutTallySql = """
        SELECT canary_share, arm, slice, unit_key, COUNT(*), SUM(score), SUM(score * score), MIN(sequence)
        FROM rollout_outcomes WHERE tenant = $tenant AND candidate_snapshot_id = $candidate
        GROUP BY canary_share, arm, slice, unit_key;
        """;

    private const string ReadRolloutFailureTallySql = """
        SELECT canary_share, arm, slice, unit_key, failure_mode, COUNT(*), MIN(sequence)
        FROM rollout_outcomes WHERE tenant = $tenant AND candidate_snapshot_id = $candidate AND failure_mode IS NOT NULL
        GROUP BY canary_share, arm, slice, unit_key, failure_mode;
        """;

    /// <summary>Adds judged canary episodes to the shared tally in one transaction; episodes already counted are ignored.</summary>
    public Task RecordRolloutOutcomesAsync(IReadOnlyList<RolloutOutcome> outcomes, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(outcomes);
        foreach (var outcome in outcomes)
        {
            ArgumentNullException.ThrowIfNull(outcome, nameof(outcomes));
            outcome.Validate();
        }

        if (outcomes.Count == 0)
        {
            return Task.CompletedTask;
        }

        return WriteAsync(transaction =>
        {
            using var insert = WriteCommand(transaction, InsertRolloutOutcomeSql);
            var tenant = insert.Parameters.Add("$tenant", SqliteType.Text);
            var candidate = insert.Parameters.Add("$candidate", SqliteType.Text);
            var episode = insert.Parameters.Add("$episode", SqliteType.Text);
            var share = insert.Parameters.Add("$share", SqliteType.Real);
            var arm = insert.Parameters.Add("$arm", SqliteType.Text);
            var slice = insert.Parameters.Add("$slice", SqliteType.Text);
            var unit = insert.Parameters.Add("$unit", SqliteType.Text);
            var score = insert.Parameters.Add("$score", SqliteType.Real);
            var mode = insert.Parameters.Add("$mode", SqliteType.Text);
            foreach (var outcome in outcomes)
            {
                tenant.Value = outcome.Tenant;
                candidate.Value = outcome.CandidateSnapshotId;
                episode.Value = outcome.EpisodeId;
                share.Value = outcome.CanaryShare;
                arm.Value = outcome.Arm;
                slice.Value = outcome.Slice;
                unit.Value = outcome.UnitKey;
                score.Value = outcome.Score;
                mode.Value = (object?)outcome.FailureMode ?? DBNull.Value;
                insert.ExecuteNonQuery();
            }
        }, cancellationToken);
    }

    /// <summary>The candidate's shared tally, per canary share, arm, slice and unit.</summary>
    public Task<IReadOnlyList<RolloutUnitTally>> ReadRolloutTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default)
        => ReadCandidateTallyAsync(
            ReadRolloutTallySql,
            tenant,
            candidateSnapshotId,
            reader => new RolloutUnitTally(reader.GetDouble(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetInt32(4), reader.GetDouble(5), reader.GetDouble(6), reader.GetInt64(7)),
            cancellationToken);

    /// <summary>The failures in the candidate's shared tally, per canary share, arm, slice, unit and mode.</summary>
    public Task<IReadOnlyList<RolloutFailureTally>> ReadRolloutFailureTallyAsync(string tenant, string candidateSnapshotId, CancellationToken cancellationToken = default)
        => ReadCandidateTallyAsync(
            ReadRolloutFailureTallySql,
            tenant,
            candidateSnapshotId,
            reader => new RolloutFailureTally(reader.GetDouble(0), reader.GetString(1), reader.GetString(2), reader.GetString(3), reader.GetString(4), reader.GetInt32(5), reader.GetInt64(6)),
            cancellationToken);

    /// <summary>Runs one of the tally queries for a tenant's candidate and maps each grouped row; both tallies share this loop.</summary>
    private async Task<IReadOnlyList<T>> ReadCandidateTallyAsync<T>(string sql, string tenant, string candidateSnapshotId, Func<SqliteDataReader, T> map, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(candidateSnapshotId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        using var command = ReadCommand(connection, sql);
        command.Parameters.AddWithValue("$tenant", tenant);
        command.Parameters.AddWithValue("$candidate", candidateSnapshotId);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }

        return rows;
    }
}
