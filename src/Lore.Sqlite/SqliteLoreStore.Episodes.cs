using System.Runtime.CompilerServices;
using Lore.Sqlite.Episodes;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Episodes, steps and outcomes: capture appends, imports and reads. The SQL itself lives in EpisodeWriter and EpisodeReader.
public sealed partial class SqliteLoreStore
{
    /// <summary>
    /// Applies the records in one transaction, in order. A record for an episode that is neither stored nor started
    /// earlier in the batch fails the whole batch with a <see cref="KeyNotFoundException"/> naming the id; starting
    /// an id that already exists fails it with an <see cref="InvalidOperationException"/>. Either way nothing is written.
    /// </summary>
    public Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(records);
        if (records.Count == 0)
        {
            return Task.CompletedTask;
        }

        return WriteAsync(transaction =>
        {
            _episodes.Enlist(transaction);
            var sequences = new Dictionary<(string? Tenant, string Id), BatchEpisode>();
            for (var i = 0; i < records.Count; i++)
            {
                if ((i & 63) == 0)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                }

                Apply(records[i], i, records.Count, sequences);
            }
        }, cancellationToken);
    }

    private void Apply(CaptureRecord record, int position, int batchSize, Dictionary<(string? Tenant, string Id), BatchEpisode> sequences)
    {
        switch (record)
        {
            case null:
                throw new ArgumentException($"Capture record {position} of the batch is null; the batch of {batchSize} records was not written.", "records");
            case EpisodeStarted started:
                try
                {
                    var episode = new BatchEpisode(_episodes.Insert(started.Episode), null, null);
                    sequences[(started.Episode.Tenant, started.EpisodeId)] = episode;
                    sequences.TryAdd((null, started.EpisodeId), episode);
                }
                catch (StoreConflictException e)
                {
                    throw new StoreConflictException($"{e.Message} The batch of {batchSize} capture records was not written.", e);
                }
                catch (InvalidOperationException e)
                {
                    throw new InvalidOperationException($"{e.Message} The batch of {batchSize} capture records was not written.", e);
                }

                break;
            case StepRecorded step:
                var target = Resolve(step, batchSize, sequences);
                if (target is { EndReason: EpisodeEndReasons.Outcome, EndedAt: { } endedAt })
                {
                    throw StoreArguments.StepAfterOutcomeEnd(step.EpisodeId, endedAt, batchSize);
                }

                _episodes.InsertStep(target.Sequence, step.Step);
                break;
            case OutcomeRecorded outcome:
                var judged = Resolve(outcome, batchSize, sequences);
                _episodes.InsertOutcome(judged.Sequence, outcome.Outcome);
                if (outcome.EndsEpisode && outcome.Outcome is not null && _episodes.EndByOutcome(judged.Sequence, outcome.Outcome.At))
                {
                    judged.Ended(outcome.Outcome.At, EpisodeEndReasons.Outcome);
                }

                break;
            case EpisodeEnded ended:
                _episodes.End(Resolve(ended, batchSize, sequences).Sequence, ended.EndedAt, ended.InjectedLessonIds);
                break;
            default:
                throw new ArgumentException($"Capture record {position} is a {record.GetType().Name}, which this store cannot write; the batch was not written.", "records");
        }
    }

    /// <summary>The record's episode: started earlier in the batch, else stored (in the record's tenant when it names one).</summary>
    private BatchEpisode Resolve(CaptureRecord record, int batchSize, Dictionary<(string? Tenant, string Id), BatchEpisode> sequences)
    {
        var key = (record.Tenant, record.EpisodeId);
        if (sequences.TryGetValue(key, out var episode))
        {
            return episode;
        }

        StoredEpisode? found;
        try
        {
            found = _episodes.Locate(record.Tenant, record.EpisodeId);
        }
        catch (InvalidOperationException e)
        {
            throw new InvalidOperationException($"{e.Message} The batch of {batchSize} capture records was not written.", e);
        }

        var stored = found ?? throw new KeyNotFoundException(
            $"Episode '{record.EpisodeId}' is not in the store{(record.Tenant is null ? "" : $" for tenant '{record.Tenant}'")} (and was not started earlier in the batch); the batch of {batchSize} capture records was not written.");
        episode = new BatchEpisode(stored.Sequence, stored.EndedAt, stored.EndReason);
        sequences[key] = episode;
        return episode;
    }

    /// <summary>
    /// An episode a capture batch addresses, and when and why it ended (before the batch, or in it by an outcome). Only an
    /// episode an outcome ended refuses steps: other ended episodes still take them (an OTLP trace's late spans, a capture
    /// that outlived its recovery as abandoned), as before.
    /// </summary>
    private sealed class BatchEpisode(long sequence, DateTimeOffset? endedAt, string? endReason)
    {
        public long Sequence { get; } = sequence;

        public DateTimeOffset? EndedAt { get; private set; } = endedAt;

        public string? EndReason { get; private set; } = endReason;

        public void Ended(DateTimeOffset at, string reason)
        {
            EndedAt = at;
            EndReason = reason;
        }
    }

    /// <summary>
    /// Starts a staged import (see <see cref="SqliteEpisodeImport"/>): it writes in bounded batches, each a short write
    /// transaction, and holds no lock between them, so other writes (even the caller's own) proceed while it runs.
    /// First removes what imports of dead processes left staged.
    /// </summary>
    public async Task<IEpisodeImport> BeginImportAsync(CancellationToken cancellationToken = default)
    {
        ThrowIfClosed();
        await RemoveDeadImportsAsync(cancellationToken).ConfigureAwait(false);
        var importId = "imp-" + Guid.CreateVersion7().ToString("n");
        await RegisterImportAsync(importId, cancellationToken).ConfigureAwait(false);
        return new SqliteEpisodeImport(this, importId);
    }

    /// <inheritdoc />
    public Task AddOutcomeAsync(string episodeId, Outcome outcome, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episodeId);
        ArgumentNullException.ThrowIfNull(outcome);
        return WriteAsync(transaction =>
        {
            _episodes.Enlist(transaction);
            var sequence = _episodes.Find(null, episodeId)
                ?? throw new KeyNotFoundException($"Episode '{episodeId}' is not in the store; the outcome was not recorded.");
            _episodes.InsertOutcome(sequence, outcome);
            _episodes.EndByOutcome(sequence, outcome.At);
        }, cancellationToken);
    }

    /// <inheritdoc />
    public async Task<Episode?> GetEpisodeAsync(string episodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(episodeId);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return EpisodeReader.ReadOne(connection, null, episodeId);
    }

    /// <inheritdoc />
    public async Task<Episode?> GetEpisodeAsync(string tenant, string episodeId, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(episodeId);
        ThrowIfClosed();
        cancellationToken.ThrowIfCancellationRequested();

        // Most ids asked about are new (the proxy checks each new X-Lore-Episode id): answered by a prepared probe.
        try
        {
            if (!_episodeIds.IsTaken(tenant, episodeId))
            {
                return null;
            }
        }
        catch (SqliteException e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return EpisodeReader.ReadOne(connection, tenant, episodeId);
    }

    /// <summary>Streams the selected episodes oldest first, reading a page of episodes (with their steps and outcomes) per round trip.</summary>
    public async IAsyncEnumerable<Episode> ReadEpisodesAsync(EpisodeQuery query, [EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(query);
        ArgumentNullException.ThrowIfNull(query.Tenant);
        if (query.Limit is < 0)
        {
            throw new ArgumentOutOfRangeException(nameof(query), query.Limit, "EpisodeQuery.Limit must not be negative.");
        }

        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        foreach (var episode in EpisodeReader.Read(connection, query, cancellationToken))
        {
            yield return episode;
        }
    }

    /// <inheritdoc />
    public async Task<long> CountEpisodesAsync(string tenant, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        await using var connection = await OpenReaderAsync(cancellationToken).ConfigureAwait(false);
        return EpisodeReader.Count(connection, tenant);
    }

    private const string DeleteStepsSql = "DELETE FROM steps WHERE episode_sequence = $sequence;";

    private const string DeleteOutcomesSql = "DELETE FROM outcomes WHERE episode_sequence = $sequence;";

    private const string DeleteEpisodeSql = "DELETE FROM episodes WHERE sequence = $sequence;";

    /// <summary>
    /// Deletes the episodes with their steps and outcomes in one transaction and returns how many of the ids were
    /// stored; unknown ids (and repeats) are ignored. Sequences of deleted episodes are never reused.
    /// </summary>
    /// <remarks>
    /// Erasure reaches the bytes: the writer runs with <c>secure_delete</c> on, so freed space is zeroed (including
    /// what page splits leave behind), and after the deletion the WAL is checkpointed and truncated so that old page
    /// images do not linger there. A reader active at that moment can keep the WAL from being truncated; the next
    /// checkpoint then overwrites it. Content written by builds before schema 2 (which did not zero split residue) is
    /// only fully gone after a <c>VACUUM</c>.
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

        var deleted = await WriteAsync(transaction =>
        {
            _episodes.Enlist(transaction);
            using var steps = WriteCommand(transaction, DeleteStepsSql);
            using var outcomes = WriteCommand(transaction, DeleteOutcomesSql);
            using var episodes = WriteCommand(transaction, DeleteEpisodeSql);
            var stepsSequence = steps.Parameters.Add("$sequence", SqliteType.Integer);
            var outcomesSequence = outcomes.Parameters.Add("$sequence", SqliteType.Integer);
            var episodeSequence = episodes.Parameters.Add("$sequence", SqliteType.Integer);
            var count = 0;
            foreach (var id in ids)
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_episodes.Find(tenant, id) is not { } sequence)
                {
                    continue;
                }

                stepsSequence.Value = sequence;
                outcomesSequence.Value = sequence;
                episodeSequence.Value = sequence;
                steps.ExecuteNonQuery();
                outcomes.ExecuteNonQuery();
                episodes.ExecuteNonQuery();
                count++;
            }

            return count;
        }, cancellationToken).ConfigureAwait(false);

        if (deleted > 0)
        {
            await TruncateWalAsync().ConfigureAwait(false);
        }

        return deleted;
    }
}
