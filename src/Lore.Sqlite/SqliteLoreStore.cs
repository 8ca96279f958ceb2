using Lore.Sqlite.Episodes;
using Lore.Sqlite.Migrations;
using Microsoft.Data.Sqlite;

namespace Lore.Sqlite;

/// <summary>
/// Lore's embedded store: everything in one SQLite file (WAL journal, versioned migrations), so that a developer
/// gets durable capture and learning with no server to run. One instance is meant to be shared by the background
/// capture writer and any number of readers.
/// </summary>
/// <remarks>
/// Writes go through one long-lived writer connection, serialised by an async gate (SQLite has one writer at a time
/// anyway, and waiting on the gate is cheaper and fairer than spinning on the file lock); the capture hot path reuses
/// commands prepared on it. Reads take a read-only connection from the pool per operation, so they run beside the
/// writer without blocking it. Every commit is flushed to disk before it returns by default (see
/// <see cref="SqliteStoreOptions.FlushEveryCommit"/>).
/// </remarks>
public sealed partial class SqliteLoreStore : ILoreStore
{
    private const int SqliteCorrupt = 11;
    private const int SqliteCantOpen = 14;
    private const int SqliteNotADatabase = 26;

    private readonly SqliteConnection _writer;
    private readonly EpisodeWriter _episodes;
    private readonly string _readerConnectionString;
    private readonly EpisodeIdProbe _episodeIds;
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    private volatile bool _closed;
    private int _disposing;

    private static readonly TimeSpan CheckpointWait = TimeSpan.FromSeconds(1);

    private readonly TimeProvider _clock;
    private readonly TimeSpan _busyTimeout;

    private SqliteLoreStore(string location, SqliteConnection writer, string readerConnectionString, SqliteStoreOptions options)
    {
        Location = location;
        _clock = options.Clock;
        _busyTimeout = options.BusyTimeout;
        _writer = writer;
        _readerConnectionString = readerConnectionString;
        _episodes = new EpisodeWriter(writer);
        _episodeIds = new EpisodeIdProbe(readerConnectionString, keep: Math.Max(2, Environment.ProcessorCount));
    }

    /// <summary>The full path of the database file.</summary>
    public string Location { get; }

    /// <summary>Opens the store at <paramref name="path"/>, creating the file (and its folder) when absent and migrating its schema.</summary>
    /// <exception cref="InvalidDataException">The file is not a SQLite database, is corrupt, or belongs to another application.</exception>
    /// <exception cref="NotSupportedException">The file was written by a newer Lore whose schema this build does not know.</exception>
    public static SqliteLoreStore Open(string path) => Open(path, new SqliteStoreOptions());

    /// <inheritdoc cref="Open(string)"/>
    public static SqliteLoreStore Open(string path, SqliteStoreOptions options)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Clock);
        var location = Path.GetFullPath(path);
        if (Directory.Exists(location))
        {
            throw new ArgumentException($"'{location}' is a folder; a Lore store is a file (for example '{Path.Combine(location, "lore.db")}').", nameof(path));
        }

        if (File.Exists(location) && new FileInfo(location).Length == 0)
        {
            // SQLite would make an empty file a new database; Lore never leaves one behind, so it is someone else's.
            throw new InvalidDataException($"'{location}' is an empty file, not a Lore store; it was left as it is. Remove it, or give the path of a store or of a file that does not exist yet.");
        }

        var folder = Path.GetDirectoryName(location);
        if (!string.IsNullOrEmpty(folder))
        {
            Directory.CreateDirectory(folder);
        }

        var timeoutSeconds = (int)Math.Ceiling(options.BusyTimeout.TotalSeconds);
        var writerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = location,
            Mode = SqliteOpenMode.ReadWriteCreate,
            Pooling = false, // held for the store's lifetime and closed at dispose
            ForeignKeys = true,
            DefaultTimeout = timeoutSeconds,
        }.ToString();
        var readerConnectionString = new SqliteConnectionStringBuilder
        {
            DataSource = location,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = true,
            DefaultTimeout = timeoutSeconds,
        }.ToString();

        var writer = new SqliteConnection(writerConnectionString);
        try
        {
            writer.Open();

            // Another application's database is refused before anything is changed in it (the WAL switch rewrites its header).
            SchemaMigrator.RefuseForeign(writer, location);
            var journal = Pragma(writer, "PRAGMA journal_mode = WAL;") as string;
            if (!string.Equals(journal, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new IOException($"'{location}' could not be switched to the WAL journal (SQLite kept '{journal}'); put the store on a local file system.");
            }

            Pragma(writer, options.FlushEveryCommit ? "PRAGMA synchronous = FULL;" : "PRAGMA synchronous = NORMAL;");
            Pragma(writer, $"PRAGMA busy_timeout = {(long)options.BusyTimeout.TotalMilliseconds};");
            Pragma(writer, "PRAGMA secure_delete = ON;"); // freed space is zeroed, so erased episodes leave no bytes behind
            SchemaMigrator.Migrate(writer, location, options.Clock);
            return new SqliteLoreStore(location, writer, readerConnectionString, options);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteNotADatabase)
        {
            writer.Dispose();
            throw new InvalidDataException($"'{location}' is not a SQLite database, so it cannot be opened as a Lore store (SQLite: {e.Message}).", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteCorrupt)
        {
            writer.Dispose();
            throw new InvalidDataException($"'{location}' is a corrupt SQLite database (SQLite: {e.Message}).", e);
        }
        catch (SqliteException e) when (e.SqliteErrorCode == SqliteCantOpen)
        {
            writer.Dispose();
            throw new IOException($"'{location}' cannot be opened as a Lore store (SQLite: {e.Message}).", e);
        }
        catch
        {
            writer.Dispose();
            throw;
        }
    }

    /// <inheritdoc cref="Open(string)"/>
    public static Task<SqliteLoreStore> OpenAsync(string path, CancellationToken cancellationToken = default)
        => OpenAsync(path, new SqliteStoreOptions(), cancellationToken);

    /// <inheritdoc cref="Open(string)"/>
    public static Task<SqliteLoreStore> OpenAsync(string path, SqliteStoreOptions options, CancellationToken cancellationToken = default)
        => Task.Run(() => Open(path, options), cancellationToken);

    /// <summary>Waits for in-flight writes, then closes the file. Later calls throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposing, 1) == 1)
        {
            return;
        }

        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            _closed = true;
            _episodeIds.Dispose();
            using (var pooled = new SqliteConnection(_readerConnectionString))
            {
                SqliteConnection.ClearPool(pooled);
            }

            _episodes.Dispose();
            _writer.Dispose(); // the last connection to close checkpoints the WAL into the file
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>Runs <paramref name="work"/> in one immediate transaction on the writer connection, committing only if it returns.</summary>
    private async Task<T> WriteAsync<T>(Func<SqliteTransaction, T> work, CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            using var transaction = _writer.BeginTransaction(deferred: false);
            var result = work(transaction);
            transaction.Commit();
            return result;
        }
        catch (SqliteException e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    /// <summary>
    /// Copies the WAL into the file and truncates it, so that page images from before a deletion do not stay on disk.
    /// Best effort: a reader in the middle of a read can keep the WAL from being truncated (SQLite then reports busy
    /// rather than failing), and the next checkpoint overwrites it.
    /// </summary>
    private async Task TruncateWalAsync()
    {
        await _writeGate.WaitAsync().ConfigureAwait(false);
        try
        {
            if (!_closed)
            {
                // Wait for readers briefly rather than for the whole busy timeout: capture waits behind this gate.
                Pragma(_writer, $"PRAGMA busy_timeout = {(long)CheckpointWait.TotalMilliseconds};");
                try
                {
                    Pragma(_writer, "PRAGMA wal_checkpoint(TRUNCATE);");
                }
                finally
                {
                    Pragma(_writer, $"PRAGMA busy_timeout = {(long)_busyTimeout.TotalMilliseconds};");
                }
            }
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private Task WriteAsync(Action<SqliteTransaction> work, CancellationToken cancellationToken)
        => WriteAsync<bool>(transaction => { work(transaction); return true; }, cancellationToken);

    private SqliteCommand WriteCommand(SqliteTransaction transaction, string sql)
    {
        var command = _writer.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        return command;
    }

    /// <summary>A read-only connection from the pool, for one read operation.</summary>
    private async Task<SqliteConnection> OpenReaderAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var connection = new SqliteConnection(_readerConnectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch (SqliteException e) when (Unavailable(e) is { } unavailable)
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw unavailable;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    private const int SqliteBusy = 5;
    private const int SqliteLocked = 6;
    private const int SqliteIoError = 10;
    private const int SqliteFull = 13;

    /// <summary>A busy file, a full disk or a failing disk, named for the operator; null for any other failure.</summary>
    private StoreUnavailableException? Unavailable(SqliteException e) => e.SqliteErrorCode switch
    {
        SqliteBusy or SqliteLocked => new StoreUnavailableException(StoreUnavailableReason.Busy,
            $"The store at {Location} is busy: another process has held its write lock for longer than the busy timeout ({_busyTimeout.TotalSeconds:F0} s). Nothing was written; retry shortly. (SQLite: {e.Message})", e),
        SqliteFull => new StoreUnavailableException(StoreUnavailableReason.Full,
            $"The disk holding the store at {Location} is full. Nothing was written; free space on it, then retry. (SQLite: {e.Message})", e),
        SqliteIoError => new StoreUnavailableException(StoreUnavailableReason.Failing,
            $"The disk holding the store at {Location} failed an I/O operation, most often because it is full. Nothing was written; check its free space. (SQLite: {e.Message})", e),
        _ => null,
    };

    private static SqliteCommand ReadCommand(SqliteConnection connection, string sql)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        return command;
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(_closed || Volatile.Read(ref _disposing) == 1, this);

    /// <summary>A pragma's value as the writer connection sees it (tests check the durability settings with it).</summary>
    internal object? WriterPragma(string name)
    {
        ThrowIfClosed();
        _writeGate.Wait();
        try
        {
            return Pragma(_writer, $"PRAGMA {name};");
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private static object? Pragma(SqliteConnection connection, string sql)
    {
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        return command.ExecuteScalar();
    }
}
