using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

// Episode leases for learning workers, and the tenant's learning lock (migration 0003). Every grant runs in the
// writer's immediate transaction (BEGIN IMMEDIATE): SQLite admits one writer per file at a time, across processes,
// so two workers can never read the same free episode and both grant it.
public sealed partial class SqliteLoreStore : ILearningLock
{
    /// <summary>How long the learning lock lives without renewal; its holder renews it every third of that.</summary>
    internal static readonly TimeSpan LearningLockLease = TimeSpan.FromSeconds(30);

    private static readonly TimeSpan LongestLease = TimeSpan.FromDays(365);

    private const string FreeEpisodesSql = """
        SELECT e.sequence, e.id
        FROM episodes e LEFT JOIN episode_leases l ON l.episode_sequence = e.sequence
        WHERE e.tenant = $tenant AND e.ended_at IS NOT NULL
          AND (l.episode_sequence IS NULL OR (l.processed_at IS NULL AND l.expires_at <= $now))
        ORDER BY e.sequence
        LIMIT $max;
        """;

    private const string GrantSql = """
        INSERT INTO episode_leases (episode_sequence, tenant, worker, token, expires_at, attempts, processed_at)
        VALUES ($sequence, $tenant, $worker, $token, $expires_at, 1, NULL)
        ON CONFLICT (episode_sequence) DO UPDATE SET
            worker = excluded.worker, token = excluded.token, expires_at = excluded.expires_at, attempts = attempts + 1
        RETURNING attempts;
        """;

    // Completing twice with the same token is harmless: the first time stays the processing time.
    private const string CompleteSql = """
        UPDATE episode_leases SET processed_at = COALESCE(processed_at, $now)
        WHERE episode_sequence = $sequence AND token = $token;
        """;

    private const string LeaseHolderSql = "SELECT worker, attempts, processed_at IS NOT NULL FROM episode_leases WHERE episode_sequence = $sequence;";

    private const string TakeLockSql = """
        INSERT INTO learning_locks (tenant, holder, token, expires_at) VALUES ($tenant, $holder, $token, $expires_at)
        ON CONFLICT (tenant) DO UPDATE SET holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at
        WHERE learning_locks.expires_at <= $now;
        """;

    private const string RenewLockSql = "UPDATE learning_locks SET expires_at = $expires_at WHERE tenant = $tenant AND token = $token;";

    private const string ReleaseLockSql = "DELETE FROM learning_locks WHERE tenant = $tenant AND token = $token;";

    /// <summary>
    /// Leases up to <paramref name="max"/> ended episodes of the tenant that no live lease holds and that were never
    /// processed, oldest first. A zero <paramref name="duration"/> grants leases that are expired at once (a worker
    /// that dies straight away), which is how tests exercise recovery without waiting.
    /// </summary>
    public Task<IReadOnlyList<EpisodeLease>> LeaseEpisodesAsync(string tenant, string worker, int max, TimeSpan duration, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(worker);
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        if (duration < TimeSpan.Zero || duration > LongestLease)
        {
            throw new ArgumentOutOfRangeException(nameof(duration), duration, $"A lease lasts from zero to {LongestLease.TotalDays:F0} days.");
        }

        return WriteAsync<IReadOnlyList<EpisodeLease>>(transaction =>
        {
            var now = _clock.GetUtcNow();
            var expires = now + duration;
            var free = new List<(long Sequence, string Id)>(max);
            using (var select = WriteCommand(transaction, FreeEpisodesSql))
            {
                select.Parameters.AddWithValue("$tenant", tenant);
                select.Parameters.AddWithValue("$now", now.UtcTicks);
                select.Parameters.AddWithValue("$max", max);
                using var rows = select.ExecuteReader();
                while (rows.Read())
                {
                    free.Add((rows.GetInt64(0), rows.GetString(1)));
                }
            }

            var leases = new List<EpisodeLease>(free.Count);
            using var grant = WriteCommand(transaction, GrantSql);
            var sequence = grant.Parameters.Add("$sequence", SqliteType.Integer);
            var token = grant.Parameters.Add("$token", SqliteType.Text);
            grant.Parameters.AddWithValue("$tenant", tenant);
            grant.Parameters.AddWithValue("$worker", worker);
            grant.Parameters.AddWithValue("$expires_at", expires.UtcTicks);
            foreach (var (seq, id) in free)
            {
                var granted = Guid.CreateVersion7().ToString("n");
                sequence.Value = seq;
                token.Value = granted;
                var attempts = Convert.ToInt32(grant.ExecuteScalar(), System.Globalization.CultureInfo.InvariantCulture);
                leases.Add(new EpisodeLease
                {
                    EpisodeId = id,
                    Sequence = seq,
                    Tenant = tenant,
                    Worker = worker,
                    Token = granted,
                    ExpiresAt = expires,
                    Attempt = attempts,
                });
            }

            return leases;
        }, cancellationToken);
    }

    /// <summary>
    /// Marks the leased episodes processed in one transaction. A lease whose token is no longer the episode's (it
    /// expired and another worker was granted it) fails the whole call with <see cref="StoreConflictException"/>
    /// naming the episode, and nothing is marked. A lease that expired but was not granted again still completes.
    /// </summary>
    public Task CompleteLeasesAsync(IReadOnlyList<EpisodeLease> leases, CancellationToken cancellationToken = default)
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
            return Task.CompletedTask;
        }

        return WriteAsync(transaction =>
        {
            var now = SqliteText.FromTimeUtc(_clock.GetUtcNow());
            using var complete = WriteCommand(transaction, CompleteSql);
            var sequence = complete.Parameters.Add("$sequence", SqliteType.Integer);
            var token = complete.Parameters.Add("$token", SqliteType.Text);
            complete.Parameters.AddWithValue("$now", now);
            foreach (var lease in leases)
            {
                sequence.Value = lease.Sequence;
                token.Value = lease.Token;
                if (complete.ExecuteNonQuery() == 0)
                {
                    throw new StoreConflictException(DescribeLost(transaction, lease, leases.Count));
                }
            }
        }, cancellationToken);
    }

    private string DescribeLost(SqliteTransaction transaction, EpisodeLease lease, int batch)
    {
        using var read = WriteCommand(transaction, LeaseHolderSql);
        read.Parameters.AddWithValue("$sequence", lease.Sequence);
        using var row = read.ExecuteReader();
        var why = !row.Read()
            ? "the episode has no lease (it was deleted, or never leased)"
            : $"its lease expired and was granted again to worker '{row.GetString(0)}' (attempt {row.GetInt64(1)}{(row.GetBoolean(2) ? ", already processed" : "")})";
        return $"The lease of episode '{lease.EpisodeId}' held by worker '{lease.Worker}' (attempt {lease.Attempt}) is stale: {why}. " +
            $"None of the {batch} leases was completed; the episodes stay with their current holders.";
    }

    /// <summary>
    /// Takes the tenant's learning lock, waiting while another holder (in this process or another) has it. The lock
    /// is a row with an expiry renewed while held, so a holder that dies lets it lapse after <see cref="LearningLockLease"/>.
    /// </summary>
    public async Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        var token = Guid.CreateVersion7().ToString("n");
        var wait = TimeSpan.FromMilliseconds(10);
        while (!await TryTakeLearningLockAsync(tenant, holder, token, cancellationToken).ConfigureAwait(false))
        {
            // Polling is the only way to wait on another process's row; back off to a few checks a second.
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 250));
        }

        return new HeldLearningLock(this, tenant, token);
    }

    private Task<bool> TryTakeLearningLockAsync(string tenant, string holder, string token, CancellationToken cancellationToken)
        => WriteAsync(transaction =>
        {
            var now = _clock.GetUtcNow();
            using var take = WriteCommand(transaction, TakeLockSql);
            take.Parameters.AddWithValue("$tenant", tenant);
            take.Parameters.AddWithValue("$holder", holder);
            take.Parameters.AddWithValue("$token", token);
            take.Parameters.AddWithValue("$expires_at", (now + LearningLockLease).UtcTicks);
            take.Parameters.AddWithValue("$now", now.UtcTicks);
            return take.ExecuteNonQuery() == 1;
        }, cancellationToken);

    private Task LockCommandAsync(string sql, string tenant, string token)
        => WriteAsync(transaction =>
        {
            using var command = WriteCommand(transaction, sql);
            command.Parameters.AddWithValue("$tenant", tenant);
            command.Parameters.AddWithValue("$token", token);
            command.Parameters.AddWithValue("$expires_at", (_clock.GetUtcNow() + LearningLockLease).UtcTicks);
            command.ExecuteNonQuery();
        }, CancellationToken.None);

    /// <summary>A held learning lock: renewed in the background until disposed, then deleted.</summary>
    private sealed class HeldLearningLock : IAsyncDisposable
    {
        private readonly SqliteLoreStore _store;
        private readonly string _tenant;
        private readonly string _token;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private int _released;

        public HeldLearningLock(SqliteLoreStore store, string tenant, string token)
        {
            _store = store;
            _tenant = tenant;
            _token = token;
            _renewal = Task.Run(RenewAsync);
        }

        private async Task RenewAsync()
        {
            try
            {
                while (true)
                {
                    await Task.Delay(LearningLockLease / 3, _stop.Token).ConfigureAwait(false);
                    try
                    {
                        await _store.LockCommandAsync(RenewLockSql, _tenant, _token).ConfigureAwait(false);
                    }
                    catch (SqliteException)
                    {
                        // A busy file delays this renewal; the next one, a third of the lease later, tries again.
                    }
                }
            }
            catch (OperationCanceledException)
            {
            }
            catch (ObjectDisposedException)
            {
                // The store closed under the holder: the lock lapses on its own.
            }
        }

        public async ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 1)
            {
                return;
            }

            await _stop.CancelAsync().ConfigureAwait(false);
            await _renewal.ConfigureAwait(false);
            _stop.Dispose();
            try
            {
                await _store.LockCommandAsync(ReleaseLockSql, _tenant, _token).ConfigureAwait(false);
            }
            catch (ObjectDisposedException)
            {
                // The store closed first: the lock lapses after its lease.
            }
        }
    }
}
