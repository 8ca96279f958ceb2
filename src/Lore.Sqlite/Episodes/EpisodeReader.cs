using System.Collections.Immutable;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Episodes;

/// <summary>
/// The SQL that reads episodes back. Episodes are read a page at a time: one query for the headers of the page,
/// one for all their outcomes and one for all their steps (by the page's range of sequences), stitched in memory,
/// so reading ten thousand episodes costs a few dozen queries, not three per episode.
/// </summary>
internal static class EpisodeReader
{
    public const int PageSize = 256;

    private const string HeaderColumns =
        "e.sequence, e.id, e.tenant, e.unit_key, e.task, e.labels, e.started_at, e.ended_at, e.snapshot_id, e.injected_lesson_ids, e.origin, e.arm, e.source, e.end_reason";

    private const string HeaderByIdSql = $"SELECT {HeaderColumns} FROM episodes e WHERE e.id = $id AND ($tenant IS NULL OR e.tenant = $tenant) AND e.import_id IS NULL LIMIT 2;";

    private const string HeadersPageSql = $"""
        SELECT {HeaderColumns} FROM episodes e
        WHERE e.tenant = $tenant AND e.sequence > $after AND ($ended_only = 0 OR e.ended_at IS NOT NULL) AND e.import_id IS NULL
        ORDER BY e.sequence
        LIMIT $limit;
        """;

    /// <summary>The sequence just below the newest <c>$skip</c> matching episodes (the (n+1)-th newest), or nothing when there are fewer.</summary>
    private const string NewestBoundarySql = """
        SELECT e.sequence FROM episodes e
        WHERE e.tenant = $tenant AND e.sequence > $after AND ($ended_only = 0 OR e.ended_at IS NOT NULL) AND e.import_id IS NULL
        ORDER BY e.sequence DESC
        LIMIT 1 OFFSET $skip;
        """;

    // The sequences of the page are picked by an IN subquery rather than a join, so that SQLite walks the steps
    // index in (episode, arrival) order and never sorts step payloads in a temporary b-tree.
    private const string StepsInRangeSql = """
        SELECT s.episode_sequence, s.payload FROM steps s
        WHERE s.episode_sequence IN (SELECT sequence FROM episodes WHERE tenant = $tenant AND sequence BETWEEN $first AND $last AND ($ended_only = 0 OR ended_at IS NOT NULL) AND import_id IS NULL)
        ORDER BY s.episode_sequence, s.id;
        """;

    private const string OutcomesInRangeSql = """
        SELECT o.episode_sequence, o.score, o.source, o.actor, o.comment, o.at, o.category, o.reason, o.failure_mode FROM outcomes o
        WHERE o.episode_sequence IN (SELECT sequence FROM episodes WHERE tenant = $tenant AND sequence BETWEEN $first AND $last AND ($ended_only = 0 OR ended_at IS NOT NULL) AND import_id IS NULL)
        ORDER BY o.episode_sequence, o.id;
        """;

    private const string CountSql = "SELECT COUNT(*) FROM episodes WHERE tenant = $tenant AND import_id IS NULL;";

    /// <summary>Streams the episodes a query selects, oldest first, a page at a time.</summary>
    public static IEnumerable<Episode> Read(SqliteConnection connection, EpisodeQuery query, CancellationToken cancellationToken)
    {
        var remaining = query.Limit;
        if (remaining == 0)
        {
            yield break;
        }

        var after = query.AfterSequence;
        if (query.NewestFirst && remaining is { } newest)
        {
            using var boundary = connection.CreateCommand();
            boundary.CommandText = NewestBoundarySql;
            boundary.Parameters.AddWithValue("$tenant", query.Tenant);
            boundary.Parameters.AddWithValue("$after", after);
            boundary.Parameters.AddWithValue("$ended_only", query.EndedOnly ? 1 : 0);
            boundary.Parameters.AddWithValue("$skip", newest);
            if (boundary.ExecuteScalar() is long below)
            {
                after = below;
            }
        }

        while (true)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var pageSize = Math.Min(PageSize, remaining ?? PageSize);
            var page = ReadPage(connection, query, after, pageSize);
            foreach (var episode in page)
            {
                yield return episode;
            }

            if (page.Count < pageSize)
            {
                yield break;
            }

            after = page[^1].Sequence;
            if (remaining is not null)
            {
                remaining -= page.Count;
                if (remaining == 0)
                {
                    yield break;
                }
            }
        }
    }

    /// <summary>One page in one read transaction, so a page's steps and outcomes are those of the same moment as its headers.</summary>
    private static List<Episode> ReadPage(SqliteConnection connection, EpisodeQuery query, long after, int pageSize)
    {
        using var transaction = connection.BeginTransaction(deferred: true);
        var headers = new List<Episode>(pageSize);
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = HeadersPageSql;
            command.Parameters.AddWithValue("$tenant", query.Tenant);
            command.Parameters.AddWithValue("$after", after);
            command.Parameters.AddWithValue("$ended_only", query.EndedOnly ? 1 : 0);
            command.Parameters.AddWithValue("$limit", pageSize);
            using var reader = command.ExecuteReader();
            while (reader.Read())
            {
                headers.Add(ReadHeader(reader));
            }
        }

        if (headers.Count == 0)
        {
            return headers;
        }

        var first = headers[0].Sequence;
        var last = headers[^1].Sequence;
        var range = new (string, object)[] { ("$first", first), ("$last", last), ("$tenant", query.Tenant), ("$ended_only", query.EndedOnly ? 1 : 0) };
        var outcomes = ReadOutcomes(connection, transaction, OutcomesInRangeSql, range);
        var steps = query.WithoutSteps ? null : ReadSteps(connection, transaction, StepsInRangeSql, range);
        transaction.Commit();

        for (var i = 0; i < headers.Count; i++)
        {
            var h = headers[i];
            headers[i] = h with
            {
                Outcomes = outcomes.TryGetValue(h.Sequence, out var o) ? o : [],
                Steps = steps is not null && steps.TryGetValue(h.Sequence, out var s) ? s : [],
            };
        }

        return headers;
    }

    /// <summary>The tenant's episode with the id (any tenant's when null; an id several tenants hold then throws).</summary>
    public static Episode? ReadOne(SqliteConnection connection, string? tenant, string episodeId)
    {
        using var transaction = connection.BeginTransaction(deferred: true);
        Episode header;
        using (var command = connection.CreateCommand())
        {
            command.Transaction = transaction;
            command.CommandText = HeaderByIdSql;
            command.Parameters.AddWithValue("$id", episodeId);
            command.Parameters.AddWithValue("$tenant", tenant is null ? DBNull.Value : tenant);
            using var reader = command.ExecuteReader();
            if (!reader.Read())
            {
                return null;
            }

            header = ReadHeader(reader);
            if (reader.Read())
            {
                throw new InvalidOperationException($"Episode id '{episodeId}' is held by more than one tenant; name the tenant to read it.");
            }
        }

        var range = new (string, object)[] { ("$first", header.Sequence), ("$last", header.Sequence), ("$tenant", header.Tenant), ("$ended_only", 0) };
        var outcomes = ReadOutcomes(connection, transaction, OutcomesInRangeSql, range);
        var steps = ReadSteps(connection, transaction, StepsInRangeSql, range);
        transaction.Commit();
        return header with
        {
            Outcomes = outcomes.TryGetValue(header.Sequence, out var o) ? o : [],
            Steps = steps.TryGetValue(header.Sequence, out var s) ? s : [],
        };
    }

    public static long Count(SqliteConnection connection, string tenant)
    {
        using var command = connection.CreateCommand();
        command.CommandText = CountSql;
        command.Parameters.AddWithValue("$tenant", tenant);
        return (long)command.ExecuteScalar()!;
    }

    private static Episode ReadHeader(SqliteDataReader r)
    {
        var id = r.GetString(1);
        return new Episode
        {
            Sequence = r.GetInt64(0),
            Id = id,
            Tenant = r.GetString(2),
            UnitKey = r.GetString(3),
            Task = r.GetString(4),
            Labels = SqliteText.FromJson<ImmutableSortedDictionary<string, string>>(r.GetString(5), $"The labels of episode '{id}'"),
            StartedAt = SqliteText.ToTime(r.GetString(6)),
            EndedAt = r.IsDBNull(7) ? null : SqliteText.ToTime(r.GetString(7)),
            SnapshotId = r.IsDBNull(8) ? null : r.GetString(8),
            InjectedLessonIds = SqliteText.FromJson<string[]>(r.GetString(9), $"The injected lesson ids of episode '{id}'"),
            Origin = r.GetString(10),
            Arm = r.IsDBNull(11) ? null : r.GetString(11),
            Source = r.GetString(12),
            EndReason = r.IsDBNull(13) ? null : r.GetString(13),
        };
    }

    private static readonly Func<long, string> StepDescription = sequence => $"A step of the episode with sequence {sequence}";

    private static Dictionary<long, List<Step>> ReadSteps(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var bySequence = new Dictionary<long, List<Step>>();
        using var command = Command(connection, transaction, sql, parameters);
        using var reader = command.ExecuteReader();
        List<Step>? current = null;
        var currentSequence = long.MinValue;
        while (reader.Read())
        {
            var sequence = reader.GetInt64(0);
            if (sequence != currentSequence)
            {
                currentSequence = sequence;
                current = [];
                bySequence[sequence] = current;
            }

            current!.Add(SqliteText.FromJson<Step, long>(reader.GetFieldValue<byte[]>(1), StepDescription, sequence));
        }

        return bySequence;
    }

    private static Dictionary<long, List<Outcome>> ReadOutcomes(SqliteConnection connection, SqliteTransaction transaction, string sql, params (string Name, object Value)[] parameters)
    {
        var bySequence = new Dictionary<long, List<Outcome>>();
        using var command = Command(connection, transaction, sql, parameters);
        using var reader = command.ExecuteReader();
        while (reader.Read())
        {
            var sequence = reader.GetInt64(0);
            if (!bySequence.TryGetValue(sequence, out var list))
            {
                list = [];
                bySequence[sequence] = list;
            }

            list.Add(new Outcome(
                reader.GetDouble(1),
                reader.GetString(2),
                reader.IsDBNull(3) ? null : reader.GetString(3),
                reader.IsDBNull(4) ? null : reader.GetString(4),
                SqliteText.ToTime(reader.GetString(5)))
            {
                Category = reader.IsDBNull(6) ? null : reader.GetString(6),
                Reason = reader.IsDBNull(7) ? null : reader.GetString(7),
                FailureMode = reader.IsDBNull(8) ? null : reader.GetString(8),
            });
        }

        return bySequence;
    }

    private static SqliteCommand Command(SqliteConnection connection, SqliteTransaction transaction, string sql, (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value);
        }

        return command;
    }
}
