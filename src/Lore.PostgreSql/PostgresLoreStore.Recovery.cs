using Npgsql;

namespace Lore.PostgreSql;

// Crash recovery: episodes a dead host left open are ended as abandoned, audited in the same transaction.
public sealed partial class PostgresLoreStore : IEpisodeRecovery
{
    // FOR NO KEY UPDATE locks the open episodes' registry rows without blocking captures (they take KEY SHARE): a
    // second host sweeping at the same moment waits, re-reads the rows as ended and finds nothing left to do.
    private const string OpenEpisodesSql = """
        SELECT r.sequence, r.month, r.id, r.tenant, e.started_at,
               (SELECT s.payload FROM steps s WHERE s.month = r.month AND s.episode_sequence = r.sequence ORDER BY s.id DESC LIMIT 1)
        FROM episode_registry r JOIN episodes e ON e.month = r.month AND e.sequence = r.sequence
        WHERE NOT r.ended AND ($1::text IS NULL OR r.tenant = $1::text)
        ORDER BY r.sequence
        FOR NO KEY UPDATE OF r;
        """;

    private const string AbandonSql = """
        UPDATE episodes e SET ended_at = $1, end_reason = $2
        FROM unnest($3::date[], $4::bigint[]) AS u(month, sequence)
        WHERE e.month = u.month AND e.sequence = u.sequence AND e.ended_at IS NULL;
        """;

    /// <summary>
    /// Ends the open episodes the sweep selects as <see cref="EpisodeEndReasons.Abandoned"/> and writes one audit entry
    /// per tenant, in one transaction. Episodes another live host keeps writing have recent steps and are left alone.
    /// </summary>
    public Task<AbandonedEpisodes> AbandonIdleEpisodesAsync(AbandonedEpisodeSweep sweep, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(sweep);
        ThrowIfClosed();
        return WriteAsync(async (connection, transaction) =>
        {
            var selected = new List<(long Sequence, DateOnly Month, string Id, string Tenant)>();
            await using (var open = Sql(connection, transaction, OpenEpisodesSql, sweep.Tenant))
            await using (var reader = await open.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var sequence = reader.GetInt64(0);
                    var id = reader.GetString(2);
                    DateTimeOffset? lastStep = reader.IsDBNull(5)
                        ? null
                        : PostgresText.FromJson<Step>(reader.GetString(5), $"The latest step of open episode {sequence}").At;
                    if (sweep.Selects(id, PostgresText.ToTime(reader.GetString(4)), lastStep))
                    {
                        selected.Add((sequence, reader.GetFieldValue<DateOnly>(1), id, reader.GetString(3)));
                    }
                }
            }

            if (selected.Count == 0)
            {
                return new AbandonedEpisodes(new Dictionary<string, IReadOnlyList<string>>(StringComparer.Ordinal), []);
            }

            await using (var abandon = Sql(connection, transaction, AbandonSql,
                PostgresText.FromTime(sweep.EndedAt), EpisodeEndReasons.Abandoned, selected.Select(e => e.Month).ToArray(), selected.Select(e => e.Sequence).ToArray()))
            {
                await abandon.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            await using (var mark = Sql(connection, transaction, MarkEndedSql, selected.Select(e => e.Sequence).ToArray()))
            {
                await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            var byTenant = selected.GroupBy(e => e.Tenant, StringComparer.Ordinal)
                .ToDictionary(g => g.Key, g => (IReadOnlyList<string>)[.. g.Select(e => e.Id)], StringComparer.Ordinal);
            var audit = new List<AuditEntry>(byTenant.Count);
            foreach (var (tenant, ids) in byTenant.OrderBy(t => t.Key, StringComparer.Ordinal))
            {
                audit.Add(await AppendAuditAsync(connection, transaction, sweep.AuditDraft(tenant, ids), cancellationToken).ConfigureAwait(false));
            }

            return new AbandonedEpisodes(byTenant, audit);
        }, cancellationToken);
    }
}
