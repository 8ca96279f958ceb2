using System.Collections.Immutable;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite.Episodes;

/// <summary>
/// The SQL that writes episodes, steps and outcomes, held as commands prepared once on the store's writer
/// connection and reused by every batch: this is the capture hot path. Callers own the transaction and the
/// store's write gate; the writer only binds values and executes.
/// </summary>
internal sealed class EpisodeWriter : IDisposable
{
    // Episode ids are unique per tenant ($tenant NULL: any tenant's, at most two rows to tell one from several).
    // Episodes staged by an import not yet published (import_id set) cannot be addressed: they do not exist yet.
    private const string FindSql = "SELECT sequence, ended_at, end_reason FROM episodes WHERE id = $id AND ($tenant IS NULL OR tenant = $tenant) AND import_id IS NULL LIMIT 2;";

    private const string StagedSql = "SELECT import_id FROM episodes WHERE id = $id AND tenant = $tenant AND import_id IS NOT NULL LIMIT 1;";

    private const string InsertEpisodeSql = """
        INSERT INTO episodes (id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source, import_id)
        VALUES ($id, $tenant, $unit_key, $task, $labels, $started_at, $ended_at, $snapshot_id, $injected_lesson_ids, $origin, $arm, $source, $import_id)
        RETURNING sequence;
        """;

    private const string InsertStepSql = """
        INSERT INTO steps (episode_sequence, idx, kind, tool_name, tool_failed, payload)
        VALUES ($episode_sequence, $idx, $kind, $tool_name, $tool_failed, $payload);
        """;

    private const string InsertOutcomeSql = """
        INSERT INTO outcomes (episode_sequence, score, source, actor, comment, at, category, reason, failure_mode)
        VALUES ($episode_sequence, $score, $source, $actor, $comment, $at, $category, $reason, $failure_mode);
        """;

    // An episode an outcome ended while another process captured it keeps that end; the capture's own end adds the injected lessons.
    private const string EndEpisodeSql = """
        UPDATE episodes SET injected_lesson_ids = $injected_lesson_ids,
            ended_at = CASE WHEN end_reason = 'outcome' THEN ended_at ELSE $ended_at END,
            end_reason = CASE WHEN end_reason = 'outcome' THEN end_reason ELSE NULL END
        WHERE sequence = $sequence;
        """;

    private const string EndByOutcomeSql = "UPDATE episodes SET ended_at = $ended_at, end_reason = 'outcome' WHERE sequence = $sequence AND ended_at IS NULL;";

    /// <summary>SQLITE_CONSTRAINT_UNIQUE: an insert would have repeated a unique key.</summary>
    private const int UniqueConstraintFailed = 2067;

    private static readonly string ModelCallKind = SqliteText.Name(StepKind.ModelCall);
    private static readonly string ToolCallKind = SqliteText.Name(StepKind.ToolCall);

    private readonly SqliteCommand _find;
    private readonly SqliteCommand _staged;
    private readonly SqliteCommand _insertEpisode;
    private readonly SqliteCommand _insertStep;
    private readonly SqliteCommand _insertOutcome;
    private readonly SqliteCommand _endEpisode;
    private readonly SqliteCommand _endByOutcome;
    private readonly SqliteCommand[] _all;

    public EpisodeWriter(SqliteConnection connection)
    {
        _find = Create(connection, FindSql, ("$id", SqliteType.Text), ("$tenant", SqliteType.Text));
        _staged = Create(connection, StagedSql, ("$id", SqliteType.Text), ("$tenant", SqliteType.Text));
        _insertEpisode = Create(connection, InsertEpisodeSql,
            ("$id", SqliteType.Text), ("$tenant", SqliteType.Text), ("$unit_key", SqliteType.Text), ("$task", SqliteType.Text),
            ("$labels", SqliteType.Text), ("$started_at", SqliteType.Text), ("$ended_at", SqliteType.Text),
            ("$snapshot_id", SqliteType.Text), ("$injected_lesson_ids", SqliteType.Text), ("$origin", SqliteType.Text), ("$arm", SqliteType.Text), ("$source", SqliteType.Text), ("$import_id", SqliteType.Text));
        _insertStep = Create(connection, InsertStepSql,
            ("$episode_sequence", SqliteType.Integer), ("$idx", SqliteType.Integer), ("$kind", SqliteType.Text),
            ("$tool_name", SqliteType.Text), ("$tool_failed", SqliteType.Integer), ("$payload", SqliteType.Text));
        _insertOutcome = Create(connection, InsertOutcomeSql,
            ("$episode_sequence", SqliteType.Integer), ("$score", SqliteType.Real), ("$source", SqliteType.Text),
            ("$actor", SqliteType.Text), ("$comment", SqliteType.Text), ("$at", SqliteType.Text),
            ("$category", SqliteType.Text), ("$reason", SqliteType.Text), ("$failure_mode", SqliteType.Text));
        _endEpisode = Create(connection, EndEpisodeSql,
            ("$ended_at", SqliteType.Text), ("$injected_lesson_ids", SqliteType.Text), ("$sequence", SqliteType.Integer));
        _endByOutcome = Create(connection, EndByOutcomeSql, ("$ended_at", SqliteType.Text), ("$sequence", SqliteType.Integer));
        _all = [_find, _staged, _insertEpisode, _insertStep, _insertOutcome, _endEpisode, _endByOutcome];
    }

    /// <summary>Binds every command to the caller's transaction (Microsoft.Data.Sqlite requires it).</summary>
    public void Enlist(SqliteTransaction? transaction)
    {
        foreach (var command in _all)
        {
            command.Transaction = transaction;
        }
    }

    /// <summary>
    /// The sequence of the tenant's episode with this id, or null. With no tenant, the one episode of any tenant with
    /// the id; an id several tenants hold throws <see cref="InvalidOperationException"/> (ids are unique per tenant only).
    /// </summary>
    public long? Find(string? tenant, string episodeId) => Locate(tenant, episodeId)?.Sequence;

    /// <summary>As <see cref="Find"/>, with whether (when and why) the stored episode has ended.</summary>
    public StoredEpisode? Locate(string? tenant, string episodeId)
    {
        _find.Parameters[0].Value = episodeId;
        _find.Parameters[1].Value = tenant is null ? DBNull.Value : tenant;
        using var reader = _find.ExecuteReader();
        if (!reader.Read())
        {
            return null;
        }

        var stored = new StoredEpisode(
            reader.GetInt64(0),
            reader.IsDBNull(1) ? null : SqliteText.ToTime(reader.GetString(1)),
            reader.IsDBNull(2) ? null : reader.GetString(2));
        if (reader.Read())
        {
            throw new InvalidOperationException($"Episode id '{episodeId}' is held by more than one tenant; name the tenant to address it.");
        }

        return stored;
    }

    /// <summary>Ends the episode as <see cref="EpisodeEndReasons.Outcome"/> at <paramref name="endedAt"/> if it is still open; true if it was.</summary>
    public bool EndByOutcome(long episodeSequence, DateTimeOffset endedAt)
    {
        _endByOutcome.Parameters[0].Value = SqliteText.FromTime(endedAt);
        _endByOutcome.Parameters[1].Value = episodeSequence;
        return _endByOutcome.ExecuteNonQuery() == 1;
    }

    /// <summary>
    /// Inserts a whole episode (header, steps, outcomes); throws naming the id when it is already stored or staged.
    /// With <paramref name="importId"/> the episode is staged: invisible until that import is published.
    /// </summary>
    public long Insert(Episode episode, string? importId = null)
    {
        Validate(episode);
        var p = _insertEpisode.Parameters;
        p[0].Value = episode.Id;
        p[1].Value = episode.Tenant;
        p[2].Value = episode.UnitKey ?? "";
        p[3].Value = episode.Task ?? "";
        p[4].Value = SqliteText.Json(episode.Labels ?? ImmutableSortedDictionary<string, string>.Empty);
        p[5].Value = SqliteText.FromTime(episode.StartedAt);
        p[6].Value = SqliteText.FromTimeOrNull(episode.EndedAt);
        p[7].Value = SqliteText.OrNull(episode.SnapshotId);
        p[8].Value = SqliteText.Json(episode.InjectedLessonIds ?? []);
        p[9].Value = episode.Origin ?? "";
        p[10].Value = SqliteText.OrNull(episode.Arm);
        p[11].Value = episode.Source ?? "";
        p[12].Value = SqliteText.OrNull(importId);
        long sequence;
        try
        {
            sequence = (long)_insertEpisode.ExecuteScalar()!;
        }
        catch (SqliteException e) when (e.SqliteExtendedErrorCode == UniqueConstraintFailed)
        {
            // The table's only unique key is (id, tenant): the id is taken, by a stored episode or a staged one. Asking
            // only now keeps two look-ups off every episode a capture starts; the failed statement wrote nothing.
            throw Taken(episode, e);
        }

        foreach (var step in episode.Steps ?? [])
        {
            InsertStep(sequence, step);
        }

        foreach (var outcome in episode.Outcomes ?? [])
        {
            InsertOutcome(sequence, outcome);
        }

        return sequence;
    }

    private Exception Taken(Episode episode, SqliteException cause)
    {
        _staged.Parameters[0].Value = episode.Id;
        _staged.Parameters[1].Value = episode.Tenant;
        return _staged.ExecuteScalar() is string staging
            ? new InvalidOperationException($"Episode '{episode.Id}' is being imported (staged by import {staging}, not yet published); episode ids are unique within a tenant and an episode is written once.", cause)
            : new StoreConflictException($"Episode '{episode.Id}' is already stored; episode ids are unique within a tenant and an episode is written once.", cause);
    }

    public void InsertStep(long episodeSequence, Step step)
    {
        ArgumentNullException.ThrowIfNull(step);
        var p = _insertStep.Parameters;
        p[0].Value = episodeSequence;
        p[1].Value = step.Index;
        p[2].Value = step.Kind == StepKind.ModelCall ? ModelCallKind : ToolCallKind;
        p[3].Value = SqliteText.OrNull(step.ToolName);
        p[4].Value = step.ToolFailed ? 1L : 0L;
        p[5].Value = SqliteText.Json(step);
        _insertStep.ExecuteNonQuery();
    }

    public void InsertOutcome(long episodeSequence, Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        var p = _insertOutcome.Parameters;
        p[0].Value = episodeSequence;
        p[1].Value = outcome.Score;
        p[2].Value = outcome.Source;
        p[3].Value = SqliteText.OrNull(outcome.Actor);
        p[4].Value = SqliteText.OrNull(outcome.Comment);
        p[5].Value = SqliteText.FromTime(outcome.At);
        p[6].Value = SqliteText.OrNull(outcome.Category);
        p[7].Value = SqliteText.OrNull(outcome.Reason);
        p[8].Value = SqliteText.OrNull(outcome.FailureMode);
        _insertOutcome.ExecuteNonQuery();
    }

    public void End(long episodeSequence, DateTimeOffset endedAt, IReadOnlyList<string> injectedLessonIds)
    {
        var p = _endEpisode.Parameters;
        p[0].Value = SqliteText.FromTime(endedAt);
        p[1].Value = SqliteText.Json(injectedLessonIds ?? []);
        p[2].Value = episodeSequence;
        _endEpisode.ExecuteNonQuery();
    }

    public void Dispose()
    {
        foreach (var command in _all)
        {
            command.Dispose();
        }
    }

    private static void Validate(Episode episode)
    {
        ArgumentNullException.ThrowIfNull(episode);
        if (string.IsNullOrEmpty(episode.Id))
        {
            throw new ArgumentException("An episode needs a non-empty id.", nameof(episode));
        }

        if (string.IsNullOrEmpty(episode.Tenant))
        {
            throw new ArgumentException($"Episode '{episode.Id}' has an empty tenant.", nameof(episode));
        }
    }

    private static SqliteCommand Create(SqliteConnection connection, string sql, params (string Name, SqliteType Type)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, type) in parameters)
        {
            command.Parameters.Add(name, type);
        }

        command.Prepare();
        return command;
    }
}

/// <summary>A stored episode's sequence and, when it has ended, when and why (<see cref="Episode.EndReason"/>).</summary>
internal readonly record struct StoredEpisode(long Sequence, DateTimeOffset? EndedAt, string? EndReason);
