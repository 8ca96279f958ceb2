using Npgsql;

namespace Lore.PostgreSql;

// Episode leases for learning workers, and the tenant's learning lock. A lease lives on the episode's registry row,
// which exists for every episode: claiming runs FOR NO KEY UPDATE SKIP LOCKED over the free rows, so concurrent
// workers (in any process) skip what another is claiming, and a row another worker claimed and committed meanwhile is
// re-checked against its new version, which then holds a live lease.
public sealed partial class PostgresLoreStore : ILearningLock
{
    private static readonly TimeSpan LongestLease = TimeSpan.FromDays(365);

    private const string LeaseSql = """
        WITH free AS (
            SELECT sequence FROM episode_registry
            WHERE tenant = $1 AND ended AND processed_at IS NULL AND (lease_expires_at IS NULL OR lease_expires_at <= $2)
            ORDER BY sequence
            LIMIT $3
            FOR NO KEY UPDATE SKIP LOCKED
        )
        UPDATE episode_registry r
        SET lease_worker = $4, lease_token = replace(gen_random_uuid()::text, '-', ''), lease_expires_at = $5, lease_attempts = r.lease_attempts + 1
        FROM free WHERE r.sequence = free.sequence
        RETURNING r.sequence, r.id, r.lease_token, r.lease_attempts;
        """;

    // Completing twice with the same token is harmless: the first time stays the processing time.
    private const string CompleteSql = """
        UPDATE episode_registry r SET processed_at = COALESCE(r.processed_at, $3)
        FROM unnest($1::bigint[], $2::text[]) AS c(sequence, token)
        WHERE r.sequence = c.sequence AND r.lease_token = c.token
        RETURNING r.sequence, c.token;
        """;

    private const string LeaseHolderSql = "SELECT lease_worker, lease_attempts, processed_at IS NOT NULL FROM episode_registry WHERE sequence = $1;";

    /// <summary>
    /// Leases up to <paramref name="max"/> ended episodes of the tenant that no live lease holds and that were never
    /// processed, oldest first, in one statement. A zero <paramref name="duration"/> grants leases that are expired at
    /// once (a worker that dies straight away), which is how tests exercise recovery without waiting. Expiry is judged
    /// by the store's clock (<see cref="PostgresStoreOptions.Clock"/>), so hosts sharing a store keep clocks in sync.
    /// </summary>
    public async Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(worker);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (duration < TimeSpan.Zero || duration > LongestLease)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"A lease lasts from zero to {LongestLease.TotalDays:F0} days.");
        }

        return await WriteAsync<IReadOnlyList<EpisodeLease>>(async (connection, transaction) =>
        {
            var now = _clock.GetUtcNow();
            var expires = now + duration;
            var leases = new List<EpisodeLease>();
            await using var lease = Sql(connection, transaction, LeaseSql, tenant, now.UtcTicks, max, worker, expires.UtcTicks);
            await using var reader = await lease.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                leases.Add(new EpisodeLease
                {
                    Sequence = reader.GetInt64(0),
                    EpisodeId = reader.GetString(1),
                    Token = reader.GetString(2),
                    Attempt = reader.GetInt32(3),
                    Tenant = tenant,
                    Worker = worker,
                    ExpiresAt = expires,
                });
            }

            leases.Sort((a, b) => a.Sequence.CompareTo(b.Sequence));
            return leases;
        }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Marks the leased episodes processed in one transaction. A lease whose token is no longer the episode's (it
    /// expired and another worker was granted it) fails the whole call with <see cref="StoreConflictException"/>
    /// naming the episode, and nothing is marked. A lease that expired but was not granted again still completes.
    /// </summary>
    public async Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(leases);
        for (var i = 0; i < leases.Count; i++)
        {
            if (leases[i] is null)
            {
                throw new ArgumentException($"Lease {i} of the {leases.Count} to complete is null; none was completed.", nameof(leases));
            }
        }

        if (leases.Count == 0)
        {
            return;
        }

        await WriteAsync((connection, transaction) => CompleteLeasesAsync(connection, transaction, leases, cancellationToken), cancellationToken).ConfigureAwait(false);
    }

    private async Task CompleteLeasesAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken)
    {
        {
            var completed = new HashSet<(long, string)>();
            await using (var complete = Sql(connection, transaction, CompleteSql,
                leases.Select(l => l.Sequence).ToArray(), leases.Select(l => l.Token).ToArray(), PostgresText.FromTimeUtc(_clock.GetUtcNow())))
            await using (var reader = await complete.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false))
            {
                while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
                {
                    completed.Add((reader.GetInt64(0), reader.GetString(1)));
                }
            }

            // Throwing before the commit undoes the UPDATE: none of the batch is completed.
            if (leases.FirstOrDefault(l => !completed.Contains((l.Sequence, l.Token))) is { } lost)
            {
                throw new StoreConflictException(await DescribeLostAsync(connection, transaction, lost, leases.Count, cancellationToken).ConfigureAwait(false));
            }
        }
    }

    private static async Task<string> DescribeLostAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, EpisodeLease lease, int batch, CancellationToken cancellationToken)
    {
        await using var read = Sql(connection, transaction, LeaseHolderSql, lease.Sequence);
        await using var row = await read.ExecuteReaderAsync(cancellationToken).ConfigureAwait(false);
        var why = !await row.ReadAsync(cancellationToken).ConfigureAwait(false) || row.IsDBNull(0)
            ? "the episode has no lease (it was deleted, or never leased)"
            : $"its lease expired and was granted again to worker '{row.GetString(0)}' (attempt {row.GetInt32(1)}{(row.GetBoolean(2) ? ", already processed" : "")})";
        return $"The lease of episode '{lease.EpisodeId}' held by worker '{lease.Worker}' (attempt {lease.Attempt}) is stale: {why}. " +
            $"None of the {batch} leases was completed; the episodes stay with their current holders.";
    }

    /// <summary>
    /// Takes the tenant's learning lock: a PostgreSQL session advisory lock held on a connection of its own until
    /// the result is disposed. Waiting is done by the server (no polling), and a holder that dies releases the lock
    /// with its session. <paramref name="holder"/> names the caller in the connection's application name while it waits and holds.
    /// </summary>
    public async Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        var key = AdvisoryLocks.Key(Schema, "learning", tenant);
        var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using (var take = Sql(connection, null, "SELECT set_config('application_name', $1, false), pg_advisory_lock($2);", $"lore learning lock: {holder}", key))
            {
                await take.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            }

            return new HeldLearningLock(connection, key);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>A held learning lock: the connection holding the advisory lock, unlocked and returned to the pool on dispose.</summary>
    private sealed class HeldLearningLock(NpgsqlConnection connection, long key) : IAsyncDisposable
    {
        private int _released;

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
            {
                return;
            }

            try
            {
                await using var release = Sql(connection, null, "SELECT pg_advisory_unlock($1), set_config('application_name', '', false);", key);
                await release.ExecuteNonQueryAsync().ConfigureAwait(false);
            }
            catch (NpgsqlException)
            {
                // The connection broke: its session ended, and the lock with it.
            }
            finally
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
        }
    }
}
