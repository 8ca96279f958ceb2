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
        WHERE e.tenant = $tenant AND e.ended_at IS NOT NULL AND e.import_id IS NULL
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

    private const string LockHolderSql = "SELECT holder, owner_host, owner_pid, heartbeat_at, expires_at FROM learning_locks WHERE tenant = $tenant;";

    private const string TakeLockSql = """
        INSERT INTO learning_locks (tenant, holder, token, expires_at, owner_host, owner_pid, heartbeat_at)
        VALUES ($tenant, $holder, $token, $expires_at, $owner_host, $owner_pid, $now)
        ON CONFLICT (tenant) DO UPDATE SET
            holder = excluded.holder, token = excluded.token, expires_at = excluded.expires_at,
            owner_host = excluded.owner_host, owner_pid = excluded.owner_pid, heartbeat_at = excluded.heartbeat_at;
        """;

    private const string RenewLockSql = "UPDATE learning_locks SET expires_at = $expires_at, heartbeat_at = $now WHERE tenant = $tenant AND token = $token;";

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

        return WriteAsync(transaction => CompleteLeases(transaction, leases), cancellationToken);
    }

    private void CompleteLeases(SqliteTransaction transaction, IReadOnlyList<EpisodeLease> leases)
    {
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
        }
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
    /// Takes the tenant's learning lock, waiting while another live holder (in this process or another) has it. The
    /// lock is a row naming its holder's host and process id, with an expiry its holder renews (a heartbeat): a holder
    /// that dies lets it lapse after <see cref="LearningLockLease"/>, and a lock whose holder ran on this host in a
    /// process that no longer exists (killed, crashed) is taken over at once, the handle saying from whom
    /// (<see cref="ILearningLockHandle.TakeoverNote"/>).
    /// </summary>
    public async Task<IAsyncDisposable> AcquireLearningLockAsync(string tenant, string holder, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(tenant);
        ArgumentException.ThrowIfNullOrWhiteSpace(holder);
        var token = Guid.CreateVersion7().ToString("n");
        var wait = TimeSpan.FromMilliseconds(10);
        while (true)
        {
            var (taken, note) = await TryTakeLearningLockAsync(tenant, holder, token, cancellationToken).ConfigureAwait(false);
            if (taken)
            {
                return new HeldLearningLock(this, tenant, token, note);
            }

            // Polling is the only way to wait on another process's row; back off to a few checks a second.
            await Task.Delay(wait, cancellationToken).ConfigureAwait(false);
            wait = TimeSpan.FromMilliseconds(Math.Min(wait.TotalMilliseconds * 2, 250));
        }
    }

    private Task<(bool Taken, string? Note)> TryTakeLearningLockAsync(string tenant, string holder, string token, CancellationToken cancellationToken)
        => WriteAsync(transaction =>
        {
            var now = _clock.GetUtcNow();
            string? note = null;
            using (var read = WriteCommand(transaction, LockHolderSql))
            {
                read.Parameters.AddWithValue("$tenant", tenant);
                using var row = read.ExecuteReader();
                if (row.Read())
                {
                    var (previous, host, pid, heartbeat, expires) = (row.GetString(0), row.GetString(1), row.GetInt32(2), row.GetInt64(3), row.GetInt64(4));
                    var lastBeat = heartbeat == 0 ? "never" : $"{(now - new DateTimeOffset(heartbeat, TimeSpan.Zero)).TotalSeconds:F0} s ago";
                    if (expires <= now.UtcTicks)
                    {
                        note = $"The learning lock of tenant '{tenant}' held by '{previous}' (process {pid} on host '{host}') had lapsed (last heartbeat {lastBeat}); taken over by '{holder}'.";
                    }
                    else if (pid != 0 && pid != Environment.ProcessId && string.Equals(host, Environment.MachineName, StringComparison.Ordinal) && !ProcessIsRunning(pid))
                    {
                        note = $"The learning lock of tenant '{tenant}' was held by '{previous}', process {pid} on this host, which is no longer running (last heartbeat {lastBeat}); taken over at once by '{holder}'.";
                    }
                    else
                    {
                        return (false, null);
                    }
                }
            }

            using var take = WriteCommand(transaction, TakeLockSql);
            take.Parameters.AddWithValue("$tenant", tenant);
            take.Parameters.AddWithValue("$holder", holder);
            take.Parameters.AddWithValue("$token", token);
            take.Parameters.AddWithValue("$expires_at", (now + LearningLockLease).UtcTicks);
            take.Parameters.AddWithValue("$owner_host", Environment.MachineName);
            take.Parameters.AddWithValue("$owner_pid", Environment.ProcessId);
            take.Parameters.AddWithValue("$now", now.UtcTicks);
            take.ExecuteNonQuery();
            return (true, note);
        }, cancellationToken);

    private static bool ProcessIsRunning(int pid)
    {
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false; // no process with that id
        }
        catch (InvalidOperationException)
        {
            return false;
        }
    }

    private Task LockCommandAsync(string sql, string tenant, string token)
        => WriteAsync(transaction =>
        {
            var now = _clock.GetUtcNow();
            using var command = WriteCommand(transaction, sql);
            command.Parameters.AddWithValue("$tenant", tenant);
            command.Parameters.AddWithValue("$token", token);
            command.Parameters.AddWithValue("$expires_at", (now + LearningLockLease).UtcTicks);
            command.Parameters.AddWithValue("$now", now.UtcTicks);
            command.ExecuteNonQuery();
        }, CancellationToken.None);

    /// <summary>A held learning lock: renewed in the background until disposed, then deleted.</summary>
    private sealed class HeldLearningLock : ILearningLockHandle
    {
        private readonly SqliteLoreStore _store;
        private readonly string _tenant;
        private readonly string _token;
        private readonly CancellationTokenSource _stop = new();
        private readonly Task _renewal;
        private int _released;

        public HeldLearningLock(SqliteLoreStore store, string tenant, string token, string? takeoverNote)
        {
            _store = store;
            _tenant = tenant;
            _token = token;
            TakeoverNote = takeoverNote;
            _renewal = Task.Run(RenewAsync);
        }

        public string? TakeoverNote { get; }

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
                    catch (StoreUnavailableException)
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
