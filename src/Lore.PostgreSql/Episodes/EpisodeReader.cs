using System.Buffers;
using System.Collections.Immutable;
using System.Data;
using System.Runtime.CompilerServices;
using Npgsql;

namespace Lore.PostgreSql.Episodes;

/// <summary>
/// The SQL that reads episodes back, a page at a time: the page's registry rows (by the tenant's sequence index)
/// joined to their headers, then all their outcomes and all their steps (by month and sequence, so only the
/// partitions of the page's months are read), stitched in memory. Each page is read in one REPEATABLE READ
/// transaction, so its steps and outcomes are those of the same moment as its headers.
/// </summary>
internal static class EpisodeReader
{
    public const int PageSize = 256;

    private const string HeaderColumns =
        "r.sequence, r.month, e.id, e.tenant, e.unit_key, e.task, e.labels, e.started_at, e.ended_at, e.snapshot_id, e.injected_lesson_ids, e.origin, e.arm, e.source, e.end_reason";

    private const string HeaderByIdSql = $"""
        SELECT {HeaderColumns} FROM episode_registry r JOIN episodes e ON e.month = r.month AND e.sequence = r.sequence
        WHERE r.id = $1 AND ($2::text IS NULL OR r.tenant = $2)
        LIMIT 2;
        """;

    // The page's registry rows are chosen first, and each is then looked up in its month's partition (the lateral
    // subquery's OFFSET 0 keeps the planner from merging it into a join). Written as a plain join, a registry without
    // statistics (just after a bulk import) was planned as a join of every episode after the page's start, sorted to
    // keep the first page-full: each page cost time in proportion to the episodes still to read.
    private const string HeadersPageSql = $"""
        SELECT {HeaderColumns}
        FROM (SELECT sequence, month FROM episode_registry
              WHERE tenant = $1 AND sequence > $2 AND (NOT $3 OR ended)
              ORDER BY sequence
              LIMIT $4) r
        CROSS JOIN LATERAL (SELECT * FROM episodes WHERE month = r.month AND sequence = r.sequence OFFSET 0) e
        ORDER BY r.sequence;
        """;

    /// <summary>The sequence just below the newest <c>$4</c> matching episodes (the (n+1)-th newest), or nothing when there are fewer.</summary>
    private const string NewestBoundarySql = """
        SELECT sequence FROM episode_registry
        WHERE tenant = $1 AND sequence > $2 AND (NOT $3 OR ended)
        ORDER BY sequence DESC
        LIMIT 1 OFFSET $4;
        """;

    // A page's sequences ($2) are matched only when they have gaps (other tenants' episodes, unended ones); a
    // gapless page is its range. Steps come unordered, so the server sorts nothing (a page's steps are most of its
    // bytes), and are put in id order per episode here.
    private const string StepsSql = """
        SELECT episode_sequence, id, payload FROM steps
        WHERE month = ANY($1) AND episode_sequence BETWEEN $3 AND $4 AND ($2::bigint[] IS NULL OR episode_sequence = ANY($2));
        """;

    private const string OutcomesSql = """
        SELECT episode_sequence, score, source, actor, comment, at, category, reason, failure_mode FROM outcomes
        WHERE month = ANY($1) AND episode_sequence BETWEEN $3 AND $4 AND ($2::bigint[] IS NULL OR episode_sequence = ANY($2))
        ORDER BY episode_sequence, id;
        """;

    private const string CountSql = "SELECT count(*) FROM episode_registry WHERE tenant = $1;";

    /// <summary>
    /// Streams the episodes a query selects, oldest first, a page at a time. Once a page's headers are read the next
    /// page is read on a second connection (opened by <paramref name="openAnother"/> when there is a next page), so the
    /// server answers one page while the steps of the other are decoded here: a learning pass's read waited on the
    /// server for more than half its time when the pages took turns.
    /// </summary>
    public static async IAsyncEnumerable<Episode> ReadAsync(NpgsqlConnection connection, Func<CancellationToken, Task<NpgsqlConnection>> openAnother, EpisodeQuery query, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var remaining = query.Limit;
        if (remaining == 0)
        {
            yield break;
        }

        var after = query.AfterSequence;
        if (query.NewestFirst && remaining is { } newest)
        {
            await using var boundary = new NpgsqlCommand(NewestBoundarySql, connection);
            boundary.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Tenant });
            boundary.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
            boundary.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = query.EndedOnly });
            boundary.Parameters.Add(new NpgsqlParameter<long> { TypedValue = newest });
            if (await boundary.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false) is long below)
            {
                after = below;
            }
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        NpgsqlConnection? second = null;
        var current = PageRead.Start(connection, query, after, Math.Min(PageSize, remaining ?? PageSize), stop.Token);
        PageRead? next = null;
        try
        {
            while (true)
            {
                // The next page starts from this page's last header, on the connection the previous page has finished with.
                var (last, count) = await current.Headers.ConfigureAwait(false);
                var pageSize = current.PageSize;
                remaining -= count;
                if (count == pageSize && remaining is not 0)
                {
                    var nextConnection = ReferenceEquals(current.Connection, connection)
                        ? second ??= await openAnother(stop.Token).ConfigureAwait(false)
                        : connection;
                    next = PageRead.Start(nextConnection, query, last, Math.Min(PageSize, remaining ?? PageSize), stop.Token);
                }

                foreach (var episode in await current.Episodes.ConfigureAwait(false))
                {
                    yield return episode;
                }

                if (next is null)
                {
                    yield break;
                }

                (current, next) = (next, null);
            }
        }
        finally
        {
            // A reader that stops early (or fails) leaves no page reading on a connection about to be returned.
            await stop.CancelAsync().ConfigureAwait(false);
            foreach (var read in (PageRead?[])[current, next])
            {
                if (read is not null)
                {
                    // Its failure, if any, has reached the reader already, or is of a read the reader no longer wants.
                    await ((Task)read.Episodes).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
                }
            }

            if (second is not null)
            {
                await second.DisposeAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>One page being read on its own connection and transaction: its headers first (which give the next page's start), then the whole episodes.</summary>
    private sealed class PageRead
    {
        private readonly TaskCompletionSource<(long Last, int Count)> _headers = new(TaskCreationOptions.RunContinuationsAsynchronously);

        private PageRead(NpgsqlConnection connection, int pageSize)
        {
            Connection = connection;
            PageSize = pageSize;
        }

        public NpgsqlConnection Connection { get; }

        public int PageSize { get; }

        /// <summary>The sequence of the page's last episode and how many it has, as soon as its headers are read.</summary>
        public Task<(long Last, int Count)> Headers => _headers.Task;

        public Task<List<Episode>> Episodes { get; private set; } = null!;

        public static PageRead Start(NpgsqlConnection connection, EpisodeQuery query, long after, int pageSize, CancellationToken cancellationToken)
        {
            var read = new PageRead(connection, pageSize);
            read.Episodes = Task.Run(() => read.ReadAsync(query, after, cancellationToken), CancellationToken.None);
            return read;
        }

        private async Task<List<Episode>> ReadAsync(EpisodeQuery query, long after, CancellationToken cancellationToken)
        {
            try
            {
                await using var transaction = await Connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
                var headers = new List<(Episode Episode, DateOnly Month)>(PageSize);
                await using (var command = new NpgsqlCommand(HeadersPageSql, Connection, transaction))
                {
                    command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = query.Tenant });
                    command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = after });
                    command.Parameters.Add(new NpgsqlParameter<bool> { TypedValue = query.EndedOnly });
                    command.Parameters.Add(new NpgsqlParameter<int> { TypedValue = PageSize });
                    await ReadHeadersAsync(command, headers, cancellationToken).ConfigureAwait(false);
                }

                _headers.TrySetResult((headers.Count == 0 ? after : headers[^1].Episode.Sequence, headers.Count));
                var page = headers.Count == 0 ? [] : await CompleteAsync(Connection, transaction, headers, !query.WithoutSteps, cancellationToken).ConfigureAwait(false);
                await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
                return page;
            }
            catch (Exception e)
            {
                _headers.TrySetException(e);
                throw;
            }
        }
    }

    /// <summary>The tenant's episode with the id (any tenant's when null; an id several tenants hold then throws).</summary>
    public static async Task<Episode?> ReadOneAsync(NpgsqlConnection connection, string? tenant, string episodeId, CancellationToken cancellationToken)
    {
        await using var transaction = await connection.BeginTransactionAsync(IsolationLevel.RepeatableRead, cancellationToken).ConfigureAwait(false);
        var headers = new List<(Episode Episode, DateOnly Month)>(1);
        await using (var command = new NpgsqlCommand(HeaderByIdSql, connection, transaction))
        {
            command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = episodeId });
            command.Parameters.Add(new NpgsqlParameter { Value = (object?)tenant ?? DBNull.Value, NpgsqlDbType = NpgsqlTypes.NpgsqlDbType.Text });
            await ReadHeadersAsync(command, headers, cancellationToken).ConfigureAwait(false);
        }

        if (headers.Count == 0)
        {
            return null;
        }

        if (headers.Count > 1)
        {
            throw new InvalidOperationException($"Episode id '{episodeId}' is held by more than one tenant; name the tenant to read it.");
        }

        var episode = (await CompleteAsync(connection, transaction, headers, withSteps: true, cancellationToken).ConfigureAwait(false))[0];
        await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
        return episode;
    }

    public static async Task<long> CountAsync(NpgsqlConnection connection, string tenant, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(CountSql, connection);
        command.Parameters.Add(new NpgsqlParameter<string> { TypedValue = tenant });
        return (long)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
    }

    /// <summary>Reads the outcomes (and steps) of the headers and returns the complete episodes in header order.</summary>
    private static async Task<List<Episode>> CompleteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, List<(Episode Episode, DateOnly Month)> headers, bool withSteps, CancellationToken cancellationToken)
    {
        var months = headers.Select(h => h.Month).Distinct().ToArray();
        var sequences = headers.Select(h => h.Episode.Sequence).ToArray();
        var outcomes = new Dictionary<long, List<Outcome>>();
        await using (var command = Range(OutcomesSql, connection, transaction, months, sequences))
        await using (var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
        {
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                var sequence = reader.GetInt64(0);
                if (!outcomes.TryGetValue(sequence, out var list))
                {
                    list = [];
                    outcomes[sequence] = list;
                }

                list.Add(new Outcome(
                    reader.GetDouble(1),
                    reader.GetString(2),
                    reader.IsDBNull(3) ? null : reader.GetString(3),
                    reader.IsDBNull(4) ? null : reader.GetString(4),
                    PostgresText.ToTime(reader.GetString(5)))
                {
                    Category = reader.IsDBNull(6) ? null : reader.GetString(6),
                    Reason = reader.IsDBNull(7) ? null : reader.GetString(7),
                    FailureMode = reader.IsDBNull(8) ? null : reader.GetString(8),
                });
            }
        }

        var steps = new Dictionary<long, EpisodeSteps>();
        if (withSteps)
        {
            await using var command = Range(StepsSql, connection, transaction, months, sequences);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            EpisodeSteps? current = null;
            var payload = ArrayPool<byte>.Shared.Rent(16 * 1024);
            try
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    var sequence = reader.GetInt64(0);
                    if (current is null || current.Sequence != sequence)
                    {
                        if (!steps.TryGetValue(sequence, out current))
                        {
                            current = new EpisodeSteps(sequence);
                            steps[sequence] = current;
                        }
                    }

                    current.Add(reader.GetInt64(1), ReadStep(reader, sequence, ref payload));
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(payload);
            }
        }

        return headers.Select(h => h.Episode with
        {
            Outcomes = outcomes.TryGetValue(h.Episode.Sequence, out var o) ? o : [],
            Steps = steps.TryGetValue(h.Episode.Sequence, out var s) ? s.InIdOrder() : [],
        }).ToList();
    }

    /// <summary>One episode's steps as they arrive, put in id (append) order when they did not arrive in it.</summary>
    private sealed class EpisodeSteps(long sequence)
    {
        private readonly List<Step> _steps = [];
        private readonly List<long> _ids = [];
        private bool _unordered;

        public long Sequence { get; } = sequence;

        public void Add(long id, Step step)
        {
            _unordered |= _ids.Count > 0 && id < _ids[^1];
            _ids.Add(id);
            _steps.Add(step);
        }

        public List<Step> InIdOrder()
        {
            if (_unordered)
            {
                var ids = _ids.ToArray();
                var ordered = _steps.ToArray();
                Array.Sort(ids, ordered);
                return [.. ordered];
            }

            return _steps;
        }
    }

    private static NpgsqlCommand Range(string sql, NpgsqlConnection connection, NpgsqlTransaction transaction, DateOnly[] months, long[] sequences)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        command.Parameters.Add(new NpgsqlParameter<DateOnly[]> { TypedValue = months });
        var (first, last) = (sequences.Min(), sequences.Max());
        var gapless = last - first + 1 == sequences.Length;
        command.Parameters.Add(new NpgsqlParameter<long[]?> { TypedValue = gapless ? null : sequences });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = first });
        command.Parameters.Add(new NpgsqlParameter<long> { TypedValue = last });
        return command;
    }

    private static async Task ReadHeadersAsync(NpgsqlCommand command, List<(Episode Episode, DateOnly Month)> headers, CancellationToken cancellationToken)
    {
        await using var r = await command.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        while (await r.ReadAsync(cancellationToken).ConfigureAwait(false))
        {
            var id = r.GetString(2);
            headers.Add((new Episode
            {
                Sequence = r.GetInt64(0),
                Id = id,
                Tenant = r.GetString(3),
                UnitKey = r.GetString(4),
                Task = r.GetString(5),
                Labels = PostgresText.FromJson<ImmutableSortedDictionary<string, string>>(r.GetString(6), $"The labels of episode '{id}'"),
                StartedAt = PostgresText.ToTime(r.GetString(7)),
                EndedAt = r.IsDBNull(8) ? null : PostgresText.ToTime(r.GetString(8)),
                SnapshotId = r.IsDBNull(9) ? null : r.GetString(9),
                InjectedLessonIds = PostgresText.FromJson<string[]>(r.GetString(10), $"The injected lesson ids of episode '{id}'"),
                Origin = r.GetString(11),
                Arm = r.IsDBNull(12) ? null : r.GetString(12),
                Source = r.GetString(13),
                EndReason = r.IsDBNull(14) ? null : r.GetString(14),
            }, r.GetFieldValue<DateOnly>(1)));
        }
    }

    /// <summary>
    /// A step's JSON read as the UTF-8 bytes the server sent (the text column's binary form) into a reused buffer and
    /// parsed from there: no .NET string per step, and the row is named only if its JSON is unreadable.
    /// </summary>
    private static Step ReadStep(NpgsqlDataReader reader, long sequence, ref byte[] buffer)
    {
        using var stream = reader.GetStream(2);
        var length = checked((int)stream.Length);
        if (buffer.Length < length)
        {
            ArrayPool<byte>.Shared.Return(buffer);
            buffer = ArrayPool<byte>.Shared.Rent(length);
        }

        stream.ReadExactly(buffer, 0, length);
        return PostgresText.FromJson<Step, long>(buffer.AsSpan(0, length), static s => $"A step of the episode with sequence {s}", sequence);
    }
}
