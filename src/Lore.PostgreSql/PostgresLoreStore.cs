using Lore.PostgreSql.Episodes;
using Lore.PostgreSql.Migrations;
using Npgsql;

namespace Lore.PostgreSql;

/// <summary>
/// Lore's shared store: one PostgreSQL database that many agent hosts and learning workers use at once, so that a
/// team's hosts share one learned state, one rollout and one audit trail. It keeps the same contract as the embedded
/// SQLite store (the same contract tests run against both), with what many writers need on top: row-level locking
/// instead of one writer, batched ingest (binary COPY), monthly partitions of episodes, steps and outcomes that
/// retention drops whole, leases that hand each ended episode to exactly one learning worker, and a notification on
/// every rollout change so that other hosts hear of it at once.
/// </summary>
/// <remarks>
/// Every operation takes a connection from a pool (<see cref="NpgsqlDataSource"/>) for its duration, and every write
/// is one transaction. The schema lives in its own PostgreSQL schema (<see cref="PostgresStoreOptions.Schema"/>) and is
/// migrated when the store opens, under an advisory lock, so hosts starting together migrate it once.
/// </remarks>
public sealed partial class PostgresLoreStore : ILoreStore
{
    /// <summary>The channel every rollout change is announced on, in the transaction that makes it (payload: <c>{"kind":"rollout","tenant":...}</c>).</summary>
    internal const string ChangeChannel = "lore_changes";

    private readonly NpgsqlDataSource _dataSource;
    private readonly EpisodePartitions _partitions;
    private readonly TimeProvider _clock;
    private readonly int _copyThreshold;

    /// <summary>
    /// Null when the store built its own pool (whose connection string names the schema as search path); the quoted
    /// schema when the pool is the user's, whose connections get it as search path for as long as the store holds them.
    /// </summary>
    private readonly string? _searchPath;
    private readonly bool _ownsDataSource;
    private int _closed;

    private PostgresLoreStore(string location, string schema, NpgsqlDataSource dataSource, PostgresStoreOptions options, bool ownsDataSource)
    {
        Location = location;
        Schema = schema;
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        _searchPath = ownsDataSource ? null : PostgresText.QuoteIdentifier(schema);
        _clock = options.Clock;
        _copyThreshold = Math.Max(1, options.CopyThreshold);
        _partitions = new EpisodePartitions(OpenConnectionAsync, schema, options.PartitionLockTimeout);
    }

    /// <summary>The database as a URI without its password, and the schema: <c>postgres://lore@db:5432/lore (schema lore)</c>.</summary>
    public string Location { get; }

    /// <summary>The PostgreSQL schema holding the store's tables.</summary>
    internal string Schema { get; }

    /// <summary>The pool every operation takes its connection from; other parts of the store (the change feed) open theirs here too.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    internal EpisodePartitions Partitions => _partitions;

    /// <summary>
    /// Opens the store in the database <paramref name="connectionString"/> names (a <c>postgres://</c> URI or an Npgsql
    /// connection string), creating its schema or migrating it to this build's version.
    /// </summary>
    /// <exception cref="FormatException">The connection string or URI is malformed.</exception>
    /// <exception cref="IOException">The database cannot be reached or refuses the connection (the message names it, never the password).</exception>
    /// <exception cref="NotSupportedException">The schema was written by a newer Lore whose schema this build does not know.</exception>
    /// <exception cref="InvalidDataException">The schema holds another application's tables.</exception>
    public static Task<PostgresLoreStore> OpenAsync(string connectionString, CancellationToken cancellationToken = default)
        => OpenAsync(connectionString, new PostgresStoreOptions(), cancellationToken);

    /// <inheritdoc cref="OpenAsync(string, CancellationToken)"/>
    public static async Task<PostgresLoreStore> OpenAsync(string connectionString, PostgresStoreOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(options.Clock);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Schema, nameof(options));
        var builder = PostgresConnectionString.Parse(connectionString);
        var location = $"{PostgresConnectionString.Describe(builder)} (schema {options.Schema})";

        // The schema is every connection's search path, so SQL names Lore's tables unqualified.
        builder.SearchPath = PostgresText.QuoteIdentifier(options.Schema);
        if (builder.MaxAutoPrepare == 0)
        {
            // Capture and reads repeat the same few statements: prepare them once per connection.
            builder.MaxAutoPrepare = 64;
            builder.AutoPrepareMinUsages = 2;
        }

        var dataSource = new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
        try
        {
            return await OpenOnAsync(dataSource, location, options, ownsDataSource: true, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Opens the store over a data source the application built and owns (its pooling, TLS, password provider, type
    /// mappings and logging stay as configured), creating or migrating Lore's schema. The data source's own search
    /// path is left alone: each connection the store takes gets Lore's schema as its search path while the store
    /// holds it, and Npgsql's reset on returning it to the pool takes it off again, so the application's other
    /// commands never see it. Disposing the store leaves the data source open.
    /// </summary>
    /// <exception cref="ArgumentException">The data source multiplexes commands (no connection is the store's to set a search path on) or keeps session state across pool returns (<c>No Reset On Close</c>, which would leak Lore's search path into the application's connections).</exception>
    /// <exception cref="IOException">The database cannot be reached or refuses the connection.</exception>
    /// <exception cref="NotSupportedException">The schema was written by a newer Lore whose schema this build does not know.</exception>
    /// <exception cref="InvalidDataException">The schema holds another application's tables.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026:Do not add multiple public overloads with optional parameters", Justification = "Only the cancellation token is optional, as on every other OpenAsync overload; the data source parameter type keeps overload resolution unambiguous.")]
    public static Task<PostgresLoreStore> OpenAsync(NpgsqlDataSource dataSource, PostgresStoreOptions? options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new PostgresStoreOptions();
        ArgumentNullException.ThrowIfNull(options.Clock);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Schema, nameof(options));
        var settings = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString);
        var refusals = new List<string>();
        if (settings.Multiplexing)
        {
            refusals.Add("it multiplexes commands (Multiplexing=true), so the store has no connection of its own to set Lore's schema as search path on; give Lore a data source without multiplexing");
        }

        if (settings.NoResetOnClose)
        {
            refusals.Add("it keeps session state when a connection returns to the pool (No Reset On Close=true), so Lore's search path would stay on connections the application takes next; give Lore a data source that resets connections");
        }

        if (refusals.Count > 0)
        {
            throw new ArgumentException($"Lore cannot use the data source for {PostgresConnectionString.Describe(settings)}: {string.Join("; and ", refusals)}.", nameof(dataSource));
        }

        var location = $"{PostgresConnectionString.Describe(settings)} (schema {options.Schema})";
        return OpenOnAsync(dataSource, location, options, ownsDataSource: false, cancellationToken);
    }

    private static async Task<PostgresLoreStore> OpenOnAsync(NpgsqlDataSource dataSource, string location, PostgresStoreOptions options, bool ownsDataSource, CancellationToken cancellationToken)
    {
        try
        {
            await SchemaMigrator.MigrateAsync(dataSource, options.Schema, location, options.Clock, upToVersion: null, cancellationToken).ConfigureAwait(false);
            var store = new PostgresLoreStore(location, options.Schema, dataSource, options, ownsDataSource);

            // Partitions for this month and the next exist ahead of time, so live capture never waits to create one.
            var thisMonth = PostgresText.MonthOf(options.Clock.GetUtcNow());
            await store._partitions.EnsureAsync([thisMonth, thisMonth.AddMonths(1)], cancellationToken).ConfigureAwait(false);
            return store;
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"Cannot open the Lore store at {location}: {e.Message}", e);
        }
    }

    /// <summary>Whether the database already holds a Lore store in the options' schema (read-only commands refuse to create one).</summary>
    /// <exception cref="IOException">The database cannot be reached.</exception>
    public static async Task<bool> ExistsAsync(string connectionString, PostgresStoreOptions options, CancellationToken cancellationToken)
    {
        var builder = PostgresConnectionString.Parse(connectionString);
        try
        {
            await using var connection = new NpgsqlConnection(builder.ConnectionString);
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            await using var command = Sql(connection, null,
                "SELECT EXISTS (SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = 'schema_migrations');", options.Schema);
            return (bool)(await command.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false))!;
        }
        catch (NpgsqlException e)
        {
            throw new IOException($"Cannot open the Lore store at {PostgresConnectionString.Describe(builder)} (schema {options.Schema}): {e.Message}", e);
        }
    }

    /// <summary>
    /// Closes the pool's connections (a data source the application passed in stays open: it is the application's).
    /// Later calls throw <see cref="ObjectDisposedException"/>.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _closed, 1) == 1)
        {
            return;
        }

        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    private void ThrowIfClosed() => ObjectDisposedException.ThrowIf(Volatile.Read(ref _closed) == 1, this);

    /// <summary>A pooled connection for one operation (dispose it to return it).</summary>
    internal async Task<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var connection = await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        if (_searchPath is null)
        {
            return connection;
        }

        try
        {
            // The application's pool: Lore's schema is this connection's search path until it goes back (the pool's reset clears it).
            await using var setPath = new NpgsqlCommand("SELECT set_config('search_path', $1, false);", connection);
            setPath.Parameters.Add(new NpgsqlParameter<string> { TypedValue = _searchPath });
            await setPath.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a read (every non-streaming read of the store goes through here) on a pooled connection, once more on a
    /// fresh one if the first was found dead: a connection the server
    /// ended while it sat idle in the pool (restart, failover, <c>pg_terminate_backend</c>) fails the first command that
    /// uses it, and a read is safe to repeat. The pool's other idle connections are dropped too, as they died alike.
    /// </summary>
    private async Task<T> ReadAsync<T>(Func<NpgsqlConnection, Task<T>> read, CancellationToken cancellationToken)
    {
        for (var attempt = 1; ; attempt++)
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                return await read(connection).ConfigureAwait(false);
            }
            catch (Exception e) when (attempt == 1 && IsConnectionLost(e) && !cancellationToken.IsCancellationRequested)
            {
                _dataSource.Clear();
            }
        }
    }

    /// <summary>The session ended under the command (administrator shutdown or termination, or a broken socket), as opposed to a failing statement.</summary>
    internal static bool IsConnectionLost(Exception e)
        => e is PostgresException { SqlState: "57P01" or "57P02" or "57P03" }
            || (e is NpgsqlException and not PostgresException && e.InnerException is IOException or System.Net.Sockets.SocketException or EndOfStreamException);

    /// <summary>Runs <paramref name="work"/> in one transaction on a pooled connection, committing only if it returns.</summary>
    private async Task<T> WriteAsync<T>(Func<NpgsqlConnection, NpgsqlTransaction, Task<T>> work, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
            var result = await work(connection, transaction).ConfigureAwait(false);
            await transaction.CommitAsync(cancellationToken).ConfigureAwait(false);
            return result;
        }
        catch (NpgsqlException e) when (Unavailable(e) is { } unavailable)
        {
            throw unavailable;
        }
    }

    /// <summary>A full disk, or a server out of connections or locks, named for the operator; null for any other failure.</summary>
    private StoreUnavailableException? Unavailable(NpgsqlException e) => e switch
    {
        PostgresException { SqlState: "53100" } => new StoreUnavailableException(StoreUnavailableReason.Full,
            $"The disk of the database at {Location} is full. Nothing was written; free space on the server, then retry. (PostgreSQL: {e.Message})", e),
        PostgresException { SqlState: "53300" or "57P03" or "55P03" } => new StoreUnavailableException(StoreUnavailableReason.Busy,
            $"The database at {Location} is busy (out of connections or locks). Nothing was written; retry shortly. (PostgreSQL: {e.Message})", e),
        { InnerException: TimeoutException } when e is not PostgresException => new StoreUnavailableException(StoreUnavailableReason.Busy,
            $"The database at {Location} is busy: no connection came free in time. Nothing was written; retry shortly. ({e.Message})", e),
        _ => null,
    };

    private Task WriteAsync(Func<NpgsqlConnection, NpgsqlTransaction, Task> work, CancellationToken cancellationToken)
        => WriteAsync<bool>(async (connection, transaction) => { await work(connection, transaction).ConfigureAwait(false); return true; }, cancellationToken);

    /// <summary>A command with positional parameters (<c>$1</c>, <c>$2</c>, ...) bound to <paramref name="values"/>; null binds SQL NULL.</summary>
    private static NpgsqlCommand Sql(NpgsqlConnection connection, NpgsqlTransaction? transaction, string sql, params object?[] values)
    {
        var command = new NpgsqlCommand(sql, connection, transaction);
        foreach (var value in values)
        {
            command.Parameters.Add(new NpgsqlParameter { Value = value ?? DBNull.Value });
        }

        return command;
    }

    /// <summary>Announces a change to other hosts; PostgreSQL delivers it when (and only if) the transaction commits.</summary>
    private static async Task NotifyAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string kind, string tenant, CancellationToken cancellationToken)
    {
        await using var notify = Sql(connection, transaction,
            $"SELECT pg_notify('{ChangeChannel}', json_build_object('kind', $1::text, 'tenant', $2::text)::text);", kind, tenant);
        await notify.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
    }
}
