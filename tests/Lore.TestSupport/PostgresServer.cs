using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Lore.Testing;

/// <summary>
/// A throwaway PostgreSQL server for tests: <c>initdb</c> into a temp folder, started on 127.0.0.1 on a free port,
/// stopped and deleted afterwards. Tests get a fresh database each (<see cref="CreateDatabaseAsync"/>), optionally
/// copied from a prepared template so that migrations run once per test run, not once per test.
/// </summary>
/// <remarks>
/// <para>
/// The server binaries (<c>initdb</c>, <c>pg_ctl</c>) must be on PATH. When they are not, starting throws naming
/// what is missing: the PostgreSQL tests exercise a real server and are never skipped silently.
/// </para>
/// <para>
/// PostgreSQL refuses to run as root (<c>initdb</c> and <c>postgres</c> both exit with "cannot be run as root"),
/// and CI containers often run the tests as root. Then every server command runs through
/// <c>runuser -u USER --</c> as an unprivileged account (<c>LORE_PG_OS_USER</c> if set, else <c>postgres</c>,
/// else <c>nobody</c>), and the server's folder is created by root and handed to that account with <c>chown</c>,
/// because initdb insists on owning the data directory and the socket directory must be writable by the server.
/// As an ordinary user the commands run directly.
/// </para>
/// <para>
/// Settings: trust authentication on 127.0.0.1 only (a throwaway server holds nothing secret), UTF8, and
/// <c>fsync=off</c>/<c>full_page_writes=off</c>. Turning off fsync only risks data on an operating-system crash or
/// power loss, which no test simulates: a killed backend or an immediate server stop still finds every committed
/// transaction in the WAL, which the kernel holds. <c>synchronous_commit</c> stays on, so a commit is acknowledged
/// only once its WAL is written, and tests that kill connections or the server still check real durability.
/// </para>
/// </remarks>
public sealed class PostgresServer : IAsyncDisposable
{
    /// <summary>The superuser initdb creates; trust authentication means no password.</summary>
    public const string Superuser = "lore";

    private const string OwnerFile = "owner.pid";

    private static readonly string RootFolder = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "lore-pg");

    private static readonly Lazy<Task<PostgresServer>> SharedServer = new(StartSharedAsync);

    private readonly string? _osUser;
    private int _databases;
    private int _stopped;

    private PostgresServer(string folder, int port, string? osUser, bool durable)
    {
        Folder = folder;
        Port = port;
        _osUser = osUser;
        Durable = durable;
    }

    /// <summary>Whether the server flushes its WAL to disk (fsync on), as a production server does; benchmarks want that, tests need not.</summary>
    public bool Durable { get; }

    /// <summary>The temp folder holding the data directory, the socket and the server log.</summary>
    public string Folder { get; }

    public string DataDirectory => System.IO.Path.Combine(Folder, "data");

    public string LogFile => System.IO.Path.Combine(Folder, "server.log");

    public string Host => "127.0.0.1";

    public int Port { get; }

    /// <summary>A connection string to the <c>postgres</c> maintenance database, for creating and dropping databases.</summary>
    public string AdminConnectionString => ConnectionString("postgres");

    /// <summary>
    /// The server shared by every test of this process: started on first use, stopped and deleted when the process
    /// exits. Servers left behind by a test process that was killed are stopped and deleted when the next one starts.
    /// </summary>
    public static Task<PostgresServer> SharedAsync() => SharedServer.Value;

    /// <summary>
    /// Starts a server of the caller's own (for tests that stop or restart it); dispose it to stop and delete it.
    /// <paramref name="durable"/> keeps fsync on, for benchmarks compared with stores that flush every commit.
    /// </summary>
    public static async Task<PostgresServer> StartAsync(bool durable = false, CancellationToken cancellationToken = default)
    {
        var initdb = FindBinary("initdb");
        var pgCtl = FindBinary("pg_ctl");
        var osUser = Environment.IsPrivilegedProcess ? UnprivilegedUser() : null;
        SweepAbandonedServers(pgCtl, osUser);

        Directory.CreateDirectory(RootFolder);
        var folder = System.IO.Path.Combine(RootFolder, Guid.NewGuid().ToString("n")[..12]);
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(System.IO.Path.Combine(folder, OwnerFile), Environment.ProcessId.ToString(CultureInfo.InvariantCulture), cancellationToken);
        if (osUser is not null)
        {
            await RunAsync("chown", ["-R", osUser, folder], null, cancellationToken);
        }

        try
        {
            var data = System.IO.Path.Combine(folder, "data");
            await RunAsync(initdb, ["-D", data, "-U", Superuser, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions"], osUser, cancellationToken);

            // Another process may take the free port between choosing it and the server binding it; try a few.
            for (var attempt = 1; ; attempt++)
            {
                var port = FreePort();
                var server = new PostgresServer(folder, port, osUser, durable);
                try
                {
                    await server.PgCtlAsync(pgCtl, cancellationToken, "start", "-w", "-t", "60", "-l", server.LogFile, "-o", server.ServerOptions());
                    return server;
                }
                catch (InvalidOperationException) when (attempt < 3)
                {
                    // Not started (most likely the port was taken); the data directory is untouched, try another port.
                }
            }
        }
        catch
        {
            TryDelete(folder);
            throw;
        }
    }

    /// <summary>A connection string to <paramref name="database"/> on this server.</summary>
    public string ConnectionString(string database) => new NpgsqlConnectionStringBuilder
    {
        Host = Host,
        Port = Port,
        Username = Superuser,
        Database = database,
        IncludeErrorDetail = true,
    }.ConnectionString;

    /// <summary>The same database as a <c>postgres://</c> URI (what a user passes to <c>lore --store</c>).</summary>
    public string Uri(string database) => $"postgres://{Superuser}@{Host}:{Port.ToString(CultureInfo.InvariantCulture)}/{database}";

    /// <summary>
    /// Creates an empty database (a copy of <paramref name="template"/>, or of <c>template0</c>) with a fresh name and
    /// returns its connection string.
    /// </summary>
    public async Task<string> CreateDatabaseAsync(string? template = null, CancellationToken cancellationToken = default)
    {
        var name = $"test_{Environment.ProcessId}_{Interlocked.Increment(ref _databases)}";
        await ExecuteAdminAsync($"CREATE DATABASE {Quote(name)} TEMPLATE {Quote(template ?? "template0")} ENCODING 'UTF8';", cancellationToken);
        return ConnectionString(name);
    }

    /// <summary>
    /// Creates a database named <paramref name="name"/>, lets <paramref name="prepare"/> fill it (for example run
    /// migrations), and marks it a template for <see cref="CreateDatabaseAsync"/>. <paramref name="prepare"/> must
    /// close its connections (dispose its data source): PostgreSQL copies only a template nobody is connected to.
    /// </summary>
    public async Task CreateTemplateAsync(string name, Func<string, Task> prepare, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(prepare);
        await ExecuteAdminAsync($"CREATE DATABASE {Quote(name)} TEMPLATE template0 ENCODING 'UTF8';", cancellationToken);
        var connectionString = ConnectionString(name);
        await prepare(connectionString);
        using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await ExecuteAdminAsync($"ALTER DATABASE {Quote(name)} WITH IS_TEMPLATE true ALLOW_CONNECTIONS false;", cancellationToken);
    }

    /// <summary>Drops a database created by <see cref="CreateDatabaseAsync"/>, closing any connection still open to it.</summary>
    public async Task DropDatabaseAsync(string connectionString, CancellationToken cancellationToken = default)
    {
        var name = new NpgsqlConnectionStringBuilder(connectionString).Database
            ?? throw new ArgumentException("The connection string names no database.", nameof(connectionString));
        using (var pooled = new NpgsqlConnection(connectionString))
        {
            NpgsqlConnection.ClearPool(pooled);
        }

        await ExecuteAdminAsync($"DROP DATABASE IF EXISTS {Quote(name)} WITH (FORCE);", cancellationToken);
    }

    /// <summary>Runs one statement on the maintenance database.</summary>
    public async Task ExecuteAdminAsync(string sql, CancellationToken cancellationToken = default)
    {
        await using var connection = new NpgsqlConnection(AdminConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Stops the server at once (<c>pg_ctl stop -m immediate</c>, as a crash would) and deletes its folder.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _stopped, 1) == 1)
        {
            return;
        }

        NpgsqlConnection.ClearAllPools();
        try
        {
            await PgCtlAsync(FindBinary("pg_ctl"), CancellationToken.None, "stop", "-m", "immediate", "-w", "-t", "30");
        }
        finally
        {
            TryDelete(Folder);
        }
    }

    /// <summary>Everything the server printed, for failure messages.</summary>
    public string ReadLog()
    {
        try
        {
            using var stream = new FileStream(LogFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
            using var reader = new StreamReader(stream);
            return reader.ReadToEnd();
        }
        catch (IOException e)
        {
            return $"(no server log: {e.Message})";
        }
    }

    private string ServerOptions() => string.Join(' ',
        $"-p {Port.ToString(CultureInfo.InvariantCulture)}",
        "-c listen_addresses=127.0.0.1",
        $"-k {Folder}",
        Durable ? "-c fsync=on" : "-c fsync=off",
        Durable ? "-c full_page_writes=on" : "-c full_page_writes=off",
        "-c synchronous_commit=on",
        "-c max_connections=400",
        "-c shared_buffers=128MB",
        "-c max_locks_per_transaction=256",
        "-c log_min_messages=warning");

    private Task PgCtlAsync(string pgCtl, CancellationToken cancellationToken, params string[] command)
        => RunAsync(pgCtl, ["-D", DataDirectory, .. command], _osUser, cancellationToken, () => ReadLog());

    private static async Task<PostgresServer> StartSharedAsync()
    {
        var server = await StartAsync();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => server.DisposeAsync().AsTask().GetAwaiter().GetResult();
        return server;
    }

    /// <summary>Runs a command (as <paramref name="osUser"/> when given) and throws with its output when it fails.</summary>
    private static async Task RunAsync(string file, IReadOnlyList<string> arguments, string? osUser, CancellationToken cancellationToken, Func<string>? moreContext = null)
    {
        var start = new ProcessStartInfo
        {
            FileName = osUser is null ? file : "runuser",
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = System.IO.Path.GetTempPath(),
        };
        if (osUser is not null)
        {
            foreach (var argument in (string[])["-u", osUser, "--", file])
            {
                start.ArgumentList.Add(argument);
            }
        }

        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {start.FileName}.");
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromMinutes(2));
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }

        if (process.ExitCode != 0)
        {
            var command = string.Join(' ', start.ArgumentList.Prepend(start.FileName));
            throw new InvalidOperationException(
                $"'{command}' failed with exit code {process.ExitCode}:\n{await output}\n{await error}" +
                (moreContext is null ? "" : $"\nServer log:\n{moreContext()}"));
        }
    }

    /// <summary>The full path of a PostgreSQL server binary on PATH; throws naming it when absent.</summary>
    private static string FindBinary(string name)
    {
        foreach (var folder in (Environment.GetEnvironmentVariable("PATH") ?? "").Split(System.IO.Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = System.IO.Path.Combine(folder, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new InvalidOperationException(
            $"The PostgreSQL server binary '{name}' is not on PATH ({Environment.GetEnvironmentVariable("PATH")}). The PostgreSQL tests start a " +
            "throwaway PostgreSQL 15 server with initdb and pg_ctl and are not skipped without one: install the server " +
            "(for example apt-get install postgresql-15) and put its bin folder (e.g. /usr/lib/postgresql/15/bin) on PATH.");
    }

    private static string UnprivilegedUser()
    {
        var candidates = new List<string>();
        if (Environment.GetEnvironmentVariable("LORE_PG_OS_USER") is { Length: > 0 } configured)
        {
            candidates.Add(configured);
        }

        candidates.AddRange(["postgres", "nobody"]);
        foreach (var user in candidates)
        {
            using var id = Process.Start(new ProcessStartInfo("id", ["-u", user]) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false });
            if (id is null)
            {
                continue;
            }

            id.WaitForExit();
            if (id.ExitCode == 0)
            {
                return user;
            }
        }

        throw new InvalidOperationException(
            "The tests run as root, which PostgreSQL refuses to run as, and none of the accounts " + string.Join(", ", candidates) +
            " exists to run the throwaway server as. Create one (useradd postgres) or set LORE_PG_OS_USER to an unprivileged account.");
    }

    /// <summary>Stops and deletes servers whose owning test process is gone (it was killed before it could clean up).</summary>
    private static void SweepAbandonedServers(string pgCtl, string? osUser)
    {
        if (!Directory.Exists(RootFolder))
        {
            return;
        }

        foreach (var folder in Directory.EnumerateDirectories(RootFolder))
        {
            var owner = System.IO.Path.Combine(folder, OwnerFile);
            if (!File.Exists(owner) || !int.TryParse(File.ReadAllText(owner), CultureInfo.InvariantCulture, out var pid) || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            var data = System.IO.Path.Combine(folder, "data");
            if (File.Exists(System.IO.Path.Combine(data, "postmaster.pid")))
            {
                try
                {
                    RunAsync(pgCtl, ["-D", data, "stop", "-m", "immediate", "-w", "-t", "30"], osUser, CancellationToken.None).GetAwaiter().GetResult();
                }
                catch (InvalidOperationException)
                {
                    // Already stopped (a stale postmaster.pid): deleting the folder is all that is left.
                }
            }

            TryDelete(folder);
        }
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static void TryDelete(string folder)
    {
        try
        {
            Directory.Delete(folder, recursive: true);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
