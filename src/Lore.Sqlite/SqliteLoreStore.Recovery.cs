using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Crash recovery: episodes a dead process left open are ended as abandoned, audited in the same transaction.
public sealed partial class SqliteLoreStore : IEpisodeRecovery
{
    // The partial index ix_episodes_open (migration 8) keeps this cheap: only open episodes are visited.
    private const string OpenEpisodesSql = """
        SELECT e.sequence, e.id, e.tenant, e.started_at,
               (SELECT s.payload FROM steps s WHERE s.episode_sequence = e.sequence ORDER BY s.id DESC LIMIT 1)
        FROM episodes e
        WHERE e.ended_at IS NULL AND e.import_id IS NULL AND ($tenant IS NULL OR e.tenant = $tenant)
        ORDER BY e.sequence;
        """;

    private const string AbandonSql = "UPDATE episodes SET ended_at = $ended_at, end_reason = $reason WHERE sequence = $sequence AND ended_at IS NULL;";

    /// <summary>
    /// Ends the open episodes the sweep selects as <see cref="EpisodeEndReasons.Abandoned"/> and writes one audit entry
    /// per tenant, all in one write transaction (so a second sweep finds nothing left to end or audit).
    /// </summary>
    public Task<AbandonedEpisodes> AbandonIdleEpisodesAsync(AbandonedEpisodeSweep sweep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        return WriteAsync(transaction =>
        {
            var selected = new List<(long Sequence, string Id, string Tenant)>();
            using (var open = WriteCommand(transaction, OpenEpisodesSql))
            {
                open.Parameters.AddWithValue("$tenant", (object?)sweep.Tenant ?? DBNull.Value);
                using var reader = open.ExecuteReader();
                while (reader.Read())
                {
                    var sequence = reader.GetInt64(0);
                    var id = reader.GetString(1);
                    DateTimeOffset? lastStep = reader.IsDBNull(4)
                        ? null
                        : SqliteText.FromJson<Step, long>(reader.GetFieldValue<byte[]>(4), s => $"The latest step of open episode {s}", sequence).At;
                    if (sweep.Selects(id, SqliteText.ToTime(reader.GetString(3)), lastStep))
                    {
                        selected.Add((sequence, id, reader.GetString(2)));
                    }
                }
            }

            using var abandon = WriteCommand(transaction, AbandonSql);
            abandon.Parameters.AddWithValue("$ended_at", SqliteText.FromTime(sweep.EndedAt));
            abandon.Parameters.AddWithValue("$reason", EpisodeEndReasons.Abandoned);
            var sequenceParameter = abandon.Parameters.Add("$sequence", SqliteType.Integer);
            foreach (var episode in selected)
            {
                cancellationToken.ThrowIfCancellationRequested();
                sequenceParameter.Value = episode.Sequence;
                abandon.ExecuteNonQuery();
            }

            var byTenant = selected.GroupBy(e => e.Tenant, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(e => e.Id)], StringComparer.Ordinal);
            var audit = byTenant.OrderBy(t => t.Key, StringComparer.Ordinal).Select(t => AppendAudit(transaction, sweep.AuditDraft(t.Key, t.Value))).ToList();
            return new AbandonedEpisodes(byTenant, audit);
        }, cancellationToken);
    }
}
