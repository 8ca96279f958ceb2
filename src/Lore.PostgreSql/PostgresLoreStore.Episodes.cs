using System.Runtime.CompilerServices;
using Lore.PostgreSql.Episodes;
using Npgsql;

namespace Lore.PostgreSql;

// Episodes, steps and outcomes: capture appends, imports, reads and erasure. Rows live in monthly partitions; the
// unpartitioned episode_registry keeps ids unique and says where each episode's rows are (0001_initial.sql).
public sealed partial class PostgresLoreStore
{
    private const string RegistryConstraint = "episode_registry_id_tenant_unique";

    // Episode ids are unique per tenant (migration 0002): a lookup by id finds every tenant's episode with it. A batch
    // that only adds rows shares the registry rows (so two hosts capture side by side); a batch that ends an episode
    // locks them against other ends. Either way an end elsewhere (an outcome on another host, a recovery sweep) waits
    // for the batch or is seen by it, so no step lands in an episode after an outcome ended it. Rows are locked in sequence order.
    private const string LookupSql = "SELECT id, tenant, sequence, month, ended FROM episode_registry WHERE id = ANY($1) ORDER BY sequence FOR SHARE;";

    private const string LookupToEndSql = "SELECT id, tenant, sequence, month, ended FROM episode_registry WHERE id = ANY($1) ORDER BY sequence FOR NO KEY UPDATE;";

    private const string EndStateSql = "SELECT ended_at, end_reason FROM episodes WHERE month = $1 AND sequence = $2;";

    private const string EndByOutcomeSql = """
        UPDATE episodes e SET ended_at = u.ended_at, end_reason = 'outcome'
        FROM unnest($1::date[], $2::bigint[], $3::text[]) AS u(month, sequence, ended_at)
        WHERE e.month = u.month AND e.sequence = u.sequence AND e.ended_at IS NULL;
        """;

    private const string AmbiguousSql = "SELECT id FROM episode_registry WHERE id = ANY($1) GROUP BY id HAVING count(*) > 1 LIMIT 1;";

    private const string RegisterManySql = """
        INSERT INTO episode_registry (id, tenant, month, ended)
        SELECT id, tenant, month, ended FROM unnest($1::text[], $2::text[], $3::date[], $4::boolean[]) WITH ORDINALITY AS u(id, tenant, month, ended, n)
        ORDER BY n
        RETURNING id, tenant, sequence;
        """;

    internal const string RegisterOneSql = "INSERT INTO episode_registry (id, tenant, month, ended) VALUES ($1, $2, $3, $4) RETURNING sequence;";

    // An episode an outcome ended while another host captured it keeps that end; the capture's own end adds the injected lessons.
    private const string EndEpisodesSql = """
        UPDATE episodes e SET injected_lesson_ids = u.injected,
            ended_at = CASE WHEN e.end_reason = 'outcome' THEN e.ended_at ELSE u.ended_at END,
            end_reason = CASE WHEN e.end_reason = 'outcome' THEN e.end_reason ELSE NULL END
        FROM unnest($1::date[], $2::bigint[], $3::text[], $4::text[]) AS u(month, sequence, ended_at, injected)
        WHERE e.month = u.month AND e.sequence = u.sequence;
        """;

    private const string MarkEndedSql = "UPDATE episode_registry SET ended = true WHERE sequence = ANY($1) AND NOT ended;";

    private const string InsertOutcomeSql = """
        INSERT INTO outcomes (month, episode_sequence, score, source, actor, comment, at, category, reason, failure_mode) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10);
        """;

    private const string UnregisterSql = "DELETE FROM episode_registry WHERE id = ANY($1) AND ($2::text IS NULL OR tenant = $2) RETURNING sequence, month;";

    /// <summary>
    /// Applies the records in one transaction, in order. A record for an episode that is neither stored nor started
    /// earlier in the batch fails the whole batch with a <see cref="KeyNotFoundException"/> naming the id; starting
    /// an id that already exists fails it with an <see cref="InvalidOperationException"/>. Either way nothing is
    /// written. Steps are written with one multi-row INSERT, or with binary COPY when the batch has many.
    /// </summary>
    public async Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return;
        }

        ThrowIfClosed();
        var months = records.OfType<EpisodeStarted>().Where(s => s.Episode is not null).Select(s => PostgresText.MonthOf(s.Episode.StartedAt)).Distinct().ToList();
        for (var attempt = 1; ; attempt++)
        {
            await _partitions.EnsureAsync(months, cancellationToken).ConfigureAwait(false);
            try
            {
                await WriteAsync((connection, transaction) => AppendAsync(connection, transaction, records, cancellationToken), cancellationToken).ConfigureAwait(false);
                return;
            }
            catch (PostgresException e) when (attempt == 1 && EpisodePartitions.IsMissingPartition(e))
            {
                // Another process dropped a month this one believed existed (retention); create it again and retry.
                _partitions.Forget(months);
            }
        }
    }

    private async Task AppendAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken)
    {
        var batchSize = records.Count;

        // Where every episode the batch names is (locked against erasure until this transaction ends).
        var stored = new Dictionary<(string Tenant, string Id), (long Sequence, DateOnly Month)>();
        var endedBefore = new HashSet<(string Tenant, string Id)>();
        var ids = records.Where(r => r?.EpisodeId is not null).Select(r => r.EpisodeId).Distinct(StringComparer.Ordinal).ToArray();
        var ends = records.Any(r => r is EpisodeEnded or OutcomeRecorded { EndsEpisode: true });
        await using (var lookup = Sql(connection, transaction, ends ? LookupToEndSql : LookupSql, new object[] { ids }))
        await using (var reader = await lookup.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                stored[(reader.GetString(1), reader.GetString(0))] = (reader.GetInt64(2), reader.GetFieldValue<DateOnly>(3));
                if (reader.GetBoolean(4))
                {
                    endedBefore.Add((reader.GetString(1), reader.GetString(0)));
                }
            }
        }

        // Which episodes take no more steps: those an outcome ended, before the batch or in it (see BatchEpisode in the SQLite store).
        var states = new Dictionary<(string Tenant, string Id), EpisodeState>();
        EpisodeState StateOf((string Tenant, string Id) key)
            => states.TryGetValue(key, out var state) ? state : endedBefore.Contains(key) ? EpisodeState.StoredEnded : EpisodeState.Open;
        var outcomeEnds = new Dictionary<(string Tenant, string Id), DateTimeOffset>();

        // First pass: every check, in record order, so the first bad record is the one reported (as SQLite does).
        var started = new List<Episode>();
        var startedIds = new HashSet<(string Tenant, string Id)>();
        var keys = new (string Tenant, string Id)[records.Count];
        for (var i = 0; i < records.Count; i++)
        {
            switch (records[i])
            {
                case null:
                    throw new ArgumentException($"Capture record {i} of the batch is null; the batch of {batchSize} records was not written.", nameof(records));
                case EpisodeStarted { Episode: var episode }:
                    EpisodeBatch.Validate(episode);
                    keys[i] = (episode.Tenant, episode.Id);
                    if (stored.ContainsKey(keys[i]) || !startedIds.Add(keys[i]))
                    {
                        throw new StoreConflictException(
                            $"Episode '{episode.Id}' is already stored; episode ids are unique within a tenant and an episode is written once. The batch of {batchSize} capture records was not written.");
                    }

                    started.Add(episode);
                    states[keys[i]] = episode.EndedAt is null ? EpisodeState.Open : EpisodeState.Ended;
                    break;
                case StepRecorded or OutcomeRecorded or EpisodeEnded:
                    var record = records[i];
                    keys[i] = ResolveKey(record, startedIds, stored, batchSize);

                    if (record is StepRecorded { Step: null } or OutcomeRecorded { Outcome: null })
                    {
                        throw new ArgumentException($"Capture record {i} of the batch ({record.GetType().Name} for episode '{record.EpisodeId}') carries no value; the batch was not written.", nameof(records));
                    }

                    var state = StateOf(keys[i]);
                    switch (record)
                    {
                        case StepRecorded when state == EpisodeState.Closed:
                            throw StoreArguments.StepAfterOutcomeEnd(record.EpisodeId, outcomeEnds[keys[i]], batchSize);
                        case StepRecorded when state == EpisodeState.StoredEnded:
                            // Rare (late OTLP spans, an outcome-ended episode): only now is the end's reason read.
                            if (await OutcomeEndAsync(connection, transaction, stored[keys[i]], cancellationToken).ConfigureAwait(false) is { } outcomeEnd)
                            {
                                throw StoreArguments.StepAfterOutcomeEnd(record.EpisodeId, outcomeEnd, batchSize);
                            }

                            states[keys[i]] = EpisodeState.Ended;
                            break;
                        case EpisodeEnded when state == EpisodeState.Open:
                            states[keys[i]] = EpisodeState.Ended;
                            break;
                        case OutcomeRecorded { EndsEpisode: true, Outcome: var outcome } when state == EpisodeState.Open:
                            states[keys[i]] = EpisodeState.Closed;
                            outcomeEnds[keys[i]] = outcome.At;
                            break;
                    }

                    break;
                default:
                    throw new ArgumentException($"Capture record {i} is a {records[i].GetType().Name}, which this store cannot write; the batch was not written.", nameof(records));
            }
        }

        if (started.Count > 0)
        {
            var sequences = await RegisterAsync(connection, transaction, started, batchSize, cancellationToken).ConfigureAwait(false);
            foreach (var episode in started)
            {
                stored[(episode.Tenant, episode.Id)] = (sequences[(episode.Tenant, episode.Id)], PostgresText.MonthOf(episode.StartedAt));
            }
        }

        // Second pass: the rows, in record order.
        var batch = new EpisodeBatch();
        var endRows = new Dictionary<long, (DateOnly Month, EpisodeEnded End)>();
        var ended = new HashSet<long>();
        for (var i = 0; i < records.Count; i++)
        {
            var record = records[i];
            var (sequence, month) = stored[keys[i]];
            switch (record)
            {
                case EpisodeStarted { Episode: var episode }:
                    batch.AddEpisode(sequence, month, episode);
                    if (episode.EndedAt is not null)
                    {
                        ended.Add(sequence);
                    }

                    break;
                case StepRecorded step:
                    batch.AddStep(sequence, month, step.Step);
                    break;
                case OutcomeRecorded outcome:
                    batch.AddOutcome(sequence, month, outcome.Outcome);
                    break;
                case EpisodeEnded end:
                    if (!batch.TryEnd(sequence, end.EndedAt, end.InjectedLessonIds))
                    {
                        endRows[sequence] = (month, end); // the last end of an episode wins, as applying them in order would
                    }

                    ended.Add(sequence);
                    break;
            }
        }

        await batch.WriteAsync(connection, transaction, _copyThreshold, cancellationToken).ConfigureAwait(false);
        if (outcomeEnds.Count > 0)
        {
            // Before the batch's own ends, as record order has it: an EpisodeEnded after the outcome keeps the outcome's end.
            var targets = outcomeEnds.Select(e => (Key: stored[e.Key], At: e.Value)).ToArray();
            await using var endByOutcome = Sql(connection, transaction, EndByOutcomeSql,
                targets.Select(t => t.Key.Month).ToArray(), targets.Select(t => t.Key.Sequence).ToArray(), targets.Select(t => PostgresText.FromTime(t.At)).ToArray());
            await endByOutcome.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            foreach (var target in targets)
            {
                ended.Add(target.Key.Sequence);
            }
        }

        if (endRows.Count > 0)
        {
            await using var end = Sql(connection, transaction, EndEpisodesSql,
                endRows.Values.Select(e => e.Month).ToArray(),
                endRows.Keys.ToArray(),
                endRows.Values.Select(e => PostgresText.FromTime(e.End.EndedAt)).ToArray(),
                endRows.Values.Select(e => PostgresText.Json(e.End.InjectedLessonIds ?? [])).ToArray());
            await end.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        if (ended.Count > 0)
        {
            await using var mark = Sql(connection, transaction, MarkEndedSql, ended.ToArray());
            await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// The (tenant, id) a step, outcome or end addresses: the record's tenant when it names one; else the one episode
    /// with the id started earlier in the batch or stored, refusing an id several tenants hold.
    /// </summary>
    private static (string Tenant, string Id) ResolveKey(CaptureRecord record, HashSet<(string Tenant, string Id)> started, Dictionary<(string Tenant, string Id), (long Sequence, DateOnly Month)> stored, int batchSize)
    {
        if (record.Tenant is { } tenant)
        {
            var key = (tenant, record.EpisodeId);
            return started.Contains(key) || stored.ContainsKey(key)
                ? key
                : throw new KeyNotFoundException(
                    $"Episode '{record.EpisodeId}' is not in the store for tenant '{tenant}' (and was not started earlier in the batch); the batch of {batchSize} capture records was not written.");
        }

        var inBatch = started.Where(k => k.Id == record.EpisodeId).ToList();
        var candidates = inBatch.Count > 0 ? inBatch : [.. stored.Keys.Where(k => k.Id == record.EpisodeId)];
        return candidates.Count switch
        {
            1 => candidates[0],
            0 => throw new KeyNotFoundException(
                $"Episode '{record.EpisodeId}' is not in the store (and was not started earlier in the batch); the batch of {batchSize} capture records was not written."),
            _ => throw new InvalidOperationException(
                $"Episode id '{record.EpisodeId}' is held by more than one tenant; name the tenant to address it. The batch of {batchSize} capture records was not written."),
        };
    }

    /// <summary>When an outcome ended this stored episode (<see cref="EpisodeEndReasons.Outcome"/>), or null if something else ended it.</summary>
    private static async Task<DateTimeOffset?> OutcomeEndAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, (long Sequence, DateOnly Month) episode, CancellationToken cancellationToken)
    {
        await using var state = Sql(connection, transaction, EndStateSql, episode.Month, episode.Sequence);
        await using var reader = await state.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        return await reader.ReadAsync(cancellationToken).ConfigureAwait(false) && !reader.IsDBNull(0) && !reader.IsDBNull(1) && reader.GetString(1) == EpisodeEndReasons.Outcome
            ? PostgresText.ToTime(reader.GetString(0))
            : null;
    }

    /// <summary>Where an episode a capture batch addresses stands: open; ended (steps still taken); ended before the batch, reason not yet read; closed to steps (an outcome ended it).</summary>
    private enum EpisodeState
    {
        Open,
        Ended,
        StoredEnded,
        Closed,
    }

    /// <summary>Inserts the registry rows of new episodes, in order; returns their sequences by (tenant, id).</summary>
    private static async Task<Dictionary<(string Tenant, string Id), long>> RegisterAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<Episode> episodes, int batchSize, CancellationToken cancellationToken)
    {
        var sequences = new Dictionary<(string Tenant, string Id), long>();
        await using var register = Sql(connection, transaction, RegisterManySql,
            episodes.Select(e => e.Id).ToArray(),
            episodes.Select(e => e.Tenant).ToArray(),
            episodes.Select(e => PostgresText.MonthOf(e.StartedAt)).ToArray(),
            episodes.Select(e => e.EndedAt is not null).ToArray());
        try
        {
            await using var reader = await register.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                sequences[(reader.GetString(1), reader.GetString(0))] = reader.GetInt64(2);
            }
        }
        catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UniqueViolation && e.ConstraintName == RegistryConstraint)
        {
            var named = episodes.Count == 1 ? $"'{episodes[0].Id}'" : "one of " + string.Join(", ", episodes.Take(5).Select(x => $"'{x.Id}'")) + (episodes.Count > 5 ? ", ..." : "");
            throw new InvalidOperationException(
                $"Episode {named} was stored by another writer meanwhile; episode ids are unique within a tenant and an episode is written once. The batch of {batchSize} capture records was not written.", e);
        }

        return sequences;
    }

    /// <summary>
    /// Starts an import holding one connection and one transaction: each added episode is registered at once (so a
    /// duplicate id fails the add that brings it), its rows are buffered and written with binary COPY every few
    /// thousand rows, and nothing is visible to anyone else until <see cref="IEpisodeImport.CommitAsync"/>. Other
    /// writes through this store go on beside it.
    /// </summary>
    public async Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default)
    {
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            return new PostgresEpisodeImport(this, connection, transaction, _copyThreshold);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <inheritdoc />
    public async Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episodeId);
        ArgumentNullException.ThrowIfNull(outcome);
        await WriteAsync(async (connection, transaction) =>
        {
            await using var lookup = Sql(connection, transaction, LookupToEndSql, new object[] { new[] { episodeId } });
            long sequence;
            DateOnly month;
            bool ended;
            await using (var reader = await lookup.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new KeyNotFoundException($"Episode '{episodeId}' is not in the store; the outcome was not recorded.");
                }

                sequence = reader.GetInt64(2);
                month = reader.GetFieldValue<DateOnly>(3);
                ended = reader.GetBoolean(4);
                if (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    throw new InvalidOperationException($"Episode id '{episodeId}' is held by more than one tenant; name the tenant to address it. The outcome was not recorded.");
                }
            }

            await using var insert = Sql(connection, transaction, InsertOutcomeSql,
                month, sequence, outcome.Score, outcome.Source, outcome.Actor, outcome.Comment, PostgresText.FromTime(outcome.At), outcome.Category, outcome.Reason, outcome.FailureMode);
            await insert.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            if (!ended)
            {
                // Still open (in another process, or left by a crash): the outcome ends it, in this transaction.
                await using var end = Sql(connection, transaction, EndByOutcomeSql, new[] { month }, new[] { sequence }, new[] { PostgresText.FromTime(outcome.At) });
                await end.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
                await using var mark = Sql(connection, transaction, MarkEndedSql, new[] { sequence });
                await mark.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episodeId);
        return await ReadAsync(connection => EpisodeReader.ReadOneAsync(connection, null, episodeId, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public async Task<Episode?> GetEpisodeAsync(string tenant, string episodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(episodeId);
        return await ReadAsync(connection => EpisodeReader.ReadOneAsync(connection, tenant, episodeId, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Streams the selected episodes oldest first, a page of episodes (with their steps and outcomes) per round of queries, the next page read on a second connection while this one is decoded.</summary>
    public async IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Tenant);
        if (query.Limit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "EpisodeQuery.Limit must not be negative.");
        }

        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        await foreach (var episode in EpisodeReader.ReadAsync(connection, OpenConnectionAsync, query, cancellationToken).ConfigureAwait(false))
        {
            yield return episode;
        }
    }

    /// <inheritdoc />
    public async Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        return await ReadAsync(connection => EpisodeReader.CountAsync(connection, tenant, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Deletes the episodes with their steps and outcomes in one transaction and returns how many of the ids were
    /// stored; unknown ids (and repeats) are ignored. Sequences of deleted episodes are never reused.
    /// </summary>
    /// <remarks>
    /// Erasure is cheap for old data: when the deletion leaves a month before the current one without any episode
    /// (retention deleting everything older than its cutoff does exactly that), the month's partitions are dropped
    /// whole instead of their rows being deleted, which also returns their space to the operating system at once.
    /// Rows deleted one by one leave dead tuples until VACUUM reclaims them, as PostgreSQL always does.
    /// </remarks>
    public Task<int> DeleteEpisodesAsync(IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default)
        => DeleteEpisodesAsync(null, episodeIds, cancellationToken);

    /// <summary>As <see cref="DeleteEpisodesAsync(IReadOnlyCollection{string}, CancellationToken)"/>, for the tenant's episodes only.</summary>
    public async Task<int> DeleteEpisodesAsync(string? tenant, IReadOnlyCollection<string> episodeIds, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episodeIds);
        var ids = new HashSet<string>(StringComparer.Ordinal);
        foreach (var id in episodeIds)
        {
            if (string.IsNullOrEmpty(id))
            {
                throw new ArgumentException("The list of episodes to delete contains a null or empty id; nothing was deleted.", nameof(episodeIds));
            }

            ids.Add(id);
        }

        if (ids.Count == 0)
        {
            return 0;
        }

        var (deleted, dropped) = await WriteAsync(async (connection, transaction) =>
        {
            var rows = new List<(long Sequence, DateOnly Month)>();
            foreach (var chunk in ids.Chunk(10_000))
            {
                if (tenant is null)
                {
                    await using var ambiguous = Sql(connection, transaction, AmbiguousSql, new object[] { chunk });
                    if (await ambiguous.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is string shared)
                    {
                        throw new InvalidOperationException($"Episode id '{shared}' is held by more than one tenant; name the tenant to delete it. Nothing was deleted.");
                    }
                }

                await using var unregister = Sql(connection, transaction, UnregisterSql, chunk, tenant);
                await using var reader = await unregister.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    rows.Add((reader.GetInt64(0), reader.GetFieldValue<DateOnly>(1)));
                }
            }

            if (rows.Count == 0)
            {
                return (0, (IReadOnlyList<DateOnly>)[]);
            }

            var thisMonth = PostgresText.MonthOf(_clock.GetUtcNow());
            var droppedMonths = await _partitions.DropEmptyAsync(connection, transaction, [.. rows.Select(r => r.Month).Distinct()], thisMonth, cancellationToken).ConfigureAwait(false);
            var left = rows.Where(r => !droppedMonths.Contains(r.Month)).ToList();
            if (left.Count > 0)
            {
                var months = left.Select(r => r.Month).Distinct().ToArray();
                var sequences = left.Select(r => r.Sequence).ToArray();
                await using var batch = new NpgsqlBatch(connection, transaction);
                foreach (var sql in (string[])[
                    "DELETE FROM steps WHERE month = ANY($1) AND episode_sequence = ANY($2);",
                    "DELETE FROM outcomes WHERE month = ANY($1) AND episode_sequence = ANY($2);",
                    "DELETE FROM episodes WHERE month = ANY($1) AND sequence = ANY($2);"])
                {
                    var command = new NpgsqlBatchCommand(sql);
                    command.Parameters.Add(new NpgsqlParameter<DateOnly[]> { TypedValue = months });
                    command.Parameters.Add(new NpgsqlParameter<long[]> { TypedValue = sequences });
                    batch.BatchCommands.Add(command);
                }

                await batch.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return (rows.Count, droppedMonths);
        }, cancellationToken).ConfigureAwait(false);

        _partitions.Forget(dropped);
        return deleted;
    }
}
