using System.Collections.Immutable;
using Npgsql;
using NpgsqlTypes;

namespace Lore.PostgreSql.Episodes;

/// <summary>
/// Episode headers, steps and outcomes gathered in memory and written in a few statements: binary COPY when a table
/// gets many rows, one multi-row INSERT (arrays unnested in order) when it gets few, where a COPY's setup costs more
/// than it saves. Rows are written in the order they were added, so step and outcome ids (drawn from sequences)
/// keep their arrival order. Every value is converted when it is added, so a record that cannot be stored fails
/// where it was added, not later at the write.
/// </summary>
internal sealed class EpisodeBatch
{
    private static readonly string ModelCallKind = PostgresText.Name(StepKind.ModelCall);
    private static readonly string ToolCallKind = PostgresText.Name(StepKind.ToolCall);

    private readonly List<HeaderRow> _episodes = [];
    private readonly Dictionary<long, HeaderRow> _episodesBySequence = [];
    private readonly List<StepRow> _steps = [];
    private readonly List<OutcomeRow> _outcomes = [];

    public int EpisodeCount => _episodes.Count;

    public int StepCount => _steps.Count;

    public int RowCount => _episodes.Count + _steps.Count + _outcomes.Count;

    /// <summary>The months the batch writes rows into (every one needs its partitions).</summary>
    public IEnumerable<DateOnly> Months => _episodes.Select(e => e.Month).Concat(_steps.Select(s => s.Month)).Concat(_outcomes.Select(o => o.Month)).Distinct();

    /// <summary>Throws <see cref="ArgumentException"/> naming what is missing when the episode cannot be stored.</summary>
    public static void Validate(Episode episode)
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

    /// <summary>A whole episode (header, steps, outcomes) whose registry row has <paramref name="sequence"/>.</summary>
    public void AddEpisode(long sequence, DateOnly month, Episode episode)
    {
        var header = new HeaderRow(
            month,
            sequence,
            episode.Id,
            episode.Tenant,
            episode.UnitKey ?? "",
            episode.Task ?? "",
            PostgresText.Json(episode.Labels ?? ImmutableSortedDictionary<string, string>.Empty),
            PostgresText.FromTime(episode.StartedAt),
            episode.SnapshotId,
            episode.Origin ?? "",
            episode.Arm)
        {
            EndedAt = episode.EndedAt is { } ended ? PostgresText.FromTime(ended) : null,
            InjectedLessonIds = PostgresText.Json(episode.InjectedLessonIds ?? []),
            Source = episode.Source ?? "",
        };
        _episodes.Add(header);
        _episodesBySequence[sequence] = header;
        foreach (var step in episode.Steps ?? [])
        {
            AddStep(sequence, month, step);
        }

        foreach (var outcome in episode.Outcomes ?? [])
        {
            AddOutcome(sequence, month, outcome);
        }
    }

    public void AddStep(long sequence, DateOnly month, Step step)
    {
        ArgumentNullException.ThrowIfNull(step);
        _steps.Add(new StepRow(month, sequence, step.Index, step.Kind == StepKind.ModelCall ? ModelCallKind : ToolCallKind, step.ToolName, step.ToolFailed, PostgresText.Json(step)));
    }

    public void AddOutcome(long sequence, DateOnly month, Outcome outcome)
    {
        ArgumentNullException.ThrowIfNull(outcome);
        _outcomes.Add(new OutcomeRow(month, sequence, outcome.Score, outcome.Source, outcome.Actor, outcome.Comment, PostgresText.FromTime(outcome.At), outcome.Category, outcome.Reason, outcome.FailureMode));
    }

    /// <summary>Ends an episode added to this batch (its header is not written yet, so the end goes into it); false when it is not in the batch.</summary>
    public bool TryEnd(long sequence, DateTimeOffset endedAt, IReadOnlyList<string> injectedLessonIds)
    {
        if (!_episodesBySequence.TryGetValue(sequence, out var header))
        {
            return false;
        }

        header.EndedAt = PostgresText.FromTime(endedAt);
        header.InjectedLessonIds = PostgresText.Json(injectedLessonIds ?? []);
        return true;
    }

    public void Clear()
    {
        _episodes.Clear();
        _episodesBySequence.Clear();
        _steps.Clear();
        _outcomes.Clear();
    }

    /// <summary>Writes every row in the caller's transaction (the partitions of <see cref="Months"/> must exist).</summary>
    public async Task WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, int copyThreshold, CancellationToken cancellationToken)
    {
        if (_episodes.Count > 0)
        {
            if (_episodes.Count >= copyThreshold)
            {
                await CopyEpisodesAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await InsertEpisodesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_steps.Count > 0)
        {
            if (_steps.Count >= copyThreshold)
            {
                await CopyStepsAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await InsertStepsAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }

        if (_outcomes.Count > 0)
        {
            if (_outcomes.Count >= copyThreshold)
            {
                await CopyOutcomesAsync(connection, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await InsertOutcomesAsync(connection, transaction, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private const string EpisodeColumns = "month, sequence, id, tenant, unit_key, task, labels, started_at, ended_at, snapshot_id, injected_lesson_ids, origin, arm, source";

    private const string StepColumns = "month, episode_sequence, idx, kind, tool_name, tool_failed, payload";

    private const string OutcomeColumns = "month, episode_sequence, score, source, actor, comment, at, category, reason, failure_mode";

    private async Task InsertEpisodesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO episodes ({EpisodeColumns})
            SELECT * FROM unnest($1::date[], $2::bigint[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[], $14::text[]);
            """, connection, transaction);
        var p = command.Parameters;
        p.Add(Array(_episodes.Select(e => e.Month)));
        p.Add(Array(_episodes.Select(e => e.Sequence)));
        p.Add(Text(_episodes.Select(e => e.Id)));
        p.Add(Text(_episodes.Select(e => e.Tenant)));
        p.Add(Text(_episodes.Select(e => e.UnitKey)));
        p.Add(Text(_episodes.Select(e => e.Task)));
        p.Add(Text(_episodes.Select(e => e.Labels)));
        p.Add(Text(_episodes.Select(e => e.StartedAt)));
        p.Add(Text(_episodes.Select(e => e.EndedAt)));
        p.Add(Text(_episodes.Select(e => e.SnapshotId)));
        p.Add(Text(_episodes.Select(e => e.InjectedLessonIds)));
        p.Add(Text(_episodes.Select(e => e.Origin)));
        p.Add(Text(_episodes.Select(e => e.Arm)));
        p.Add(Text(_episodes.Select(e => e.Source)));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CopyEpisodesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY episodes ({EpisodeColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var e in _episodes)
        {
            await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.Month, NpgsqlDbType.Date, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(e.Sequence, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Id, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Tenant, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.UnitKey, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Task, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Labels, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.StartedAt, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.EndedAt, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.SnapshotId, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.InjectedLessonIds, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Origin, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Arm, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, e.Source, cancellationToken).ConfigureAwait(false);
        }

        await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task InsertStepsAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        // WITH ORDINALITY ... ORDER BY n: ids (the column default, nextval) are drawn in the order the rows were added.
        await using var command = new NpgsqlCommand($"""
            INSERT INTO steps ({StepColumns})
            SELECT m, s, i, k, t, f, p FROM unnest($1::date[], $2::bigint[], $3::integer[], $4::text[], $5::text[], $6::boolean[], $7::text[])
                WITH ORDINALITY AS u(m, s, i, k, t, f, p, n)
            ORDER BY n;
            """, connection, transaction);
        var p = command.Parameters;
        p.Add(Array(_steps.Select(s => s.Month)));
        p.Add(Array(_steps.Select(s => s.Sequence)));
        p.Add(Array(_steps.Select(s => s.Index)));
        p.Add(Text(_steps.Select(s => s.Kind)));
        p.Add(Text(_steps.Select(s => s.ToolName)));
        p.Add(Array(_steps.Select(s => s.ToolFailed)));
        p.Add(Text(_steps.Select(s => s.Payload)));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CopyStepsAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY steps ({StepColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var s in _steps)
        {
            await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(s.Month, NpgsqlDbType.Date, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(s.Sequence, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(s.Index, NpgsqlDbType.Integer, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, s.Kind, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, s.ToolName, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(s.ToolFailed, NpgsqlDbType.Boolean, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, s.Payload, cancellationToken).ConfigureAwait(false);
        }

        await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task InsertOutcomesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand($"""
            INSERT INTO outcomes ({OutcomeColumns})
            SELECT m, s, sc, so, a, c, t, ca, r, f FROM unnest($1::date[], $2::bigint[], $3::double precision[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[])
                WITH ORDINALITY AS u(m, s, sc, so, a, c, t, ca, r, f, n)
            ORDER BY n;
            """, connection, transaction);
        var p = command.Parameters;
        p.Add(Array(_outcomes.Select(o => o.Month)));
        p.Add(Array(_outcomes.Select(o => o.Sequence)));
        p.Add(Array(_outcomes.Select(o => o.Score)));
        p.Add(Text(_outcomes.Select(o => o.Source)));
        p.Add(Text(_outcomes.Select(o => o.Actor)));
        p.Add(Text(_outcomes.Select(o => o.Comment)));
        p.Add(Text(_outcomes.Select(o => o.At)));
        p.Add(Text(_outcomes.Select(o => o.Category)));
        p.Add(Text(_outcomes.Select(o => o.Reason)));
        p.Add(Text(_outcomes.Select(o => o.FailureMode)));
        await command.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task CopyOutcomesAsync(NpgsqlConnection connection, CancellationToken cancellationToken)
    {
        await using var copy = await connection.BeginBinaryImportAsync($"COPY outcomes ({OutcomeColumns}) FROM STDIN (FORMAT BINARY)", cancellationToken).ConfigureAwait(false);
        foreach (var o in _outcomes)
        {
            await copy.StartRowAsync(cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(o.Month, NpgsqlDbType.Date, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(o.Sequence, NpgsqlDbType.Bigint, cancellationToken).ConfigureAwait(false);
            await copy.WriteAsync(o.Score, NpgsqlDbType.Double, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.Source, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.Actor, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.Comment, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.At, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.Category, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.Reason, cancellationToken).ConfigureAwait(false);
            await WriteTextAsync(copy, o.FailureMode, cancellationToken).ConfigureAwait(false);
        }

        await copy.CompleteAsync(cancellationToken).ConfigureAwait(false);
    }

    private static Task WriteTextAsync(NpgsqlBinaryImporter copy, string? value, CancellationToken cancellationToken)
        => value is null ? copy.WriteNullAsync(cancellationToken) : copy.WriteAsync(value, NpgsqlDbType.Text, cancellationToken);

    private static NpgsqlParameter<T[]> Array<T>(IEnumerable<T> values) => new() { TypedValue = [.. values] };

    private static NpgsqlParameter<string?[]> Text(IEnumerable<string?> values) => new() { TypedValue = [.. values] };

    private sealed record HeaderRow(DateOnly Month, long Sequence, string Id, string Tenant, string UnitKey, string Task, string Labels, string StartedAt, string? SnapshotId, string Origin, string? Arm)
    {
        public string? EndedAt { get; set; }

        public required string InjectedLessonIds { get; set; }

        public string Source { get; init; } = "";
    }

    private sealed record StepRow(DateOnly Month, long Sequence, int Index, string Kind, string? ToolName, bool ToolFailed, string Payload);

    private sealed record OutcomeRow(DateOnly Month, long Sequence, double Score, string Source, string? Actor, string? Comment, string At, string? Category, string? Reason, string? FailureMode);
}
