using System.Diagnostics;
using System.Text;
using Lore.Cli;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Spectre.Console;

namespace Lore.PostgreSql.Tests.Crash;

/// <summary>
/// The crash suite: the real <c>lore</c> command line, as a child process, is killed (SIGKILL, as <c>kill -9</c>) at a
/// named point inside the store's writes of learning, ingest and publication (<see cref="CrashPoints"/>), on SQLite and
/// on PostgreSQL. After each kill the store must be exactly as before the killed command or exactly as after it, with
/// the audit chain intact, every snapshot and served pointer verified, every snapshot audited as created, and, once
/// learning runs again, every lesson's evidence counted exactly as in a store that was never killed.
/// </summary>
public sealed class CrashSuiteTests : IAsyncLifetime
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(4);
    private readonly TempDirectory _directory = new();
    private string? _database;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public ValueTask InitializeAsync() => ValueTask.CompletedTask;

    public async ValueTask DisposeAsync()
    {
        if (_database is not null)
        {
            Npgsql.NpgsqlConnection.ClearAllPools();
            await TestDatabases.ReturnAsync(_database);
        }

        SqliteConnection.ClearAllPools();
        _directory.Dispose();
    }

    public static TheoryData<string, string> LearningPoints => new()
    {
        { "sqlite", CrashPoints.LearningCommitBegin },
        { "sqlite", CrashPoints.LearningCommitLessons },
        { "sqlite", CrashPoints.LearningCommitPublished },
        { "sqlite", CrashPoints.LearningCommitBeforeCommit },
        { "sqlite", CrashPoints.LearningCommitAfterCommit },
        { "postgres", CrashPoints.LearningCommitBegin },
        { "postgres", CrashPoints.LearningCommitLessons },
        { "postgres", CrashPoints.LearningCommitPublished },
        { "postgres", CrashPoints.LearningCommitBeforeCommit },
        { "postgres", CrashPoints.LearningCommitAfterCommit },
    };

    [Theory]
    [MemberData(nameof(LearningPoints))]
    public async Task A_learner_killed_inside_its_commit_leaves_the_store_as_before_or_after_and_no_evidence_counts_twice(string engine, string point)
    {
        var store = await NewStoreAsync(engine);
        await ImportAsync(store, Refunds(0, 120, seed: 1));
        await LearnAsync(store);
        await ImportAsync(store, Refunds(120, 80, seed: 2));
        var before = await StateAsync(store);

        var killed = await RunKilledAsync(point, "learn", "--store", store);

        var after = await StateAsync(store);
        await AssertInvariantsAsync(store);
        if (point == CrashPoints.LearningCommitAfterCommit)
        {
            Assert.Equal(before.Runs + 1, after.Runs);
            Assert.True(after.Cursor > before.Cursor, $"the committed pass moved the cursor ({killed})");
        }
        else
        {
            Assert.Equal(before, after);
        }

        // Learning again (the operator's next 'lore learn') ends where a store that was never killed ends.
        await LearnAsync(store);
        var control = _directory.File($"control-{Guid.NewGuid():n}.db");
        await ImportAsync(control, Refunds(0, 120, seed: 1));
        await LearnAsync(control);
        await ImportAsync(control, Refunds(120, 80, seed: 2));
        await LearnAsync(control);
        var evidence = (await StateAsync(store)).Evidence;
        Assert.NotEmpty(evidence);
        Assert.Equal((await StateAsync(control)).Evidence, evidence);
        await AssertInvariantsAsync(store);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task An_import_killed_before_its_commit_stores_none_of_the_file_and_the_retry_stores_all_of_it(string engine)
    {
        var store = await NewStoreAsync(engine);
        await ImportAsync(store, Refunds(0, 30, seed: 3));
        var file = _directory.File("trajectories.jsonl");
        var lines = Enumerable.Range(0, 40).Select(i => $$"""{"messages":[{"role":"user","content":"refund order {{i}}"},{"role":"assistant","content":"refunded"}],"reward":{{i % 2}}}""");
        await File.WriteAllLinesAsync(file, lines, Ct);

        await RunKilledAsync(CrashPoints.ImportBeforeCommit, "ingest", file, "--store", store);
        Assert.Equal(30, await CountAsync(store));

        var retry = await RunAsync("ingest", file, "--store", store);
        Assert.True(retry.ExitCode == 0, retry.Error);
        Assert.Equal(70, await CountAsync(store));
        await AssertInvariantsAsync(store);
    }

    [Fact]
    public async Task A_staged_import_killed_between_batches_leaves_nothing_visible_holds_nothing_back_and_the_retry_stores_the_whole_file()
    {
        // PostgreSQL imports in one transaction (no write lock to hold: rows are locked, not the table); SQLite stages.
        var store = await NewStoreAsync("sqlite");
        await ImportAsync(store, Refunds(0, 30, seed: 3));
        var file = _directory.File("large.jsonl");
        var lines = Enumerable.Range(0, 600).Select(i => $$"""{"messages":[{"role":"user","content":"refund order {{i}}"},{"role":"assistant","content":"refunded"}],"reward":{{i % 2}}}""");
        await File.WriteAllLinesAsync(file, lines, Ct);

        await RunKilledAsync(CrashPoints.ImportBatchStaged, "ingest", file, "--store", store);
        Assert.Equal(30, await CountAsync(store));
        Assert.True(StagedRows(store) > 0, "the killed import had staged a batch");

        // Learning is not held back by the dead import: its rows are removed, never published.
        await LearnAsync(store);
        Assert.Equal(0, StagedRows(store));
        var retry = await RunAsync("ingest", file, "--store", store);
        Assert.True(retry.ExitCode == 0, retry.Error);
        Assert.Equal(630, await CountAsync(store));
        Assert.Equal(0, StagedRows(store));
        await AssertInvariantsAsync(store);
    }

    /// <summary>Rows of imports not yet published, and imports registered, read straight from the SQLite file.</summary>
    private static long StagedRows(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Mode=ReadOnly;Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT (SELECT COUNT(*) FROM episodes WHERE import_id IS NOT NULL) + (SELECT COUNT(*) FROM imports);";
        return (long)command.ExecuteScalar()!;
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task An_operators_rollout_change_killed_before_its_commit_is_neither_saved_nor_audited(string engine)
    {
        var store = await NewStoreAsync(engine);
        await ImportAsync(store, Refunds(0, 120, seed: 1));
        await LearnAsync(store);
        var before = await StateAsync(store);

        await RunKilledAsync(CrashPoints.LearningCommitBeforeCommit, "freeze", "--reason", "incident 7", "--store", store);

        Assert.Equal(before, await StateAsync(store));
        await AssertInvariantsAsync(store);
        var freeze = await RunAsync("freeze", "--reason", "incident 7", "--store", store);
        Assert.True(freeze.ExitCode == 0, freeze.Error);
        var frozen = await StateAsync(store);
        Assert.True(frozen.Frozen);
        Assert.Equal(before.AuditRecords + 1, frozen.AuditRecords);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_server_killed_mid_episode_is_recovered_at_restart_and_the_episodes_outcome_is_learned_from_once(string engine)
    {
        var store = await NewStoreAsync(engine);
        await ImportAsync(store, Refunds(0, 120, seed: 1));
        await LearnAsync(store);

        string key;
        await using (var first = await ServedChild.StartAsync(store))
        {
            key = first.IssuedKey ?? throw new InvalidOperationException($"lore serve printed no admin key: {first.Output}");
            using var client = first.Client(key);
            using var started = await client.PostAsync("/api/episodes", Json($$"""
                {"id":"ep-killed","task":"refund order 9001","unit":"customer-3","labels":{"slice":"refunds"},
                 "steps":[{"kind":"toolCall","tool":"refund_order","arguments":{"order":9001},"result":"Error: order 9001 must be looked up before it can be refunded"}]}
                """), Ct);
            Assert.Equal(System.Net.HttpStatusCode.Created, started.StatusCode);
            first.Kill();
        }

        await using (var opened = await OpenAsync(store))
        {
            var left = (await opened.GetEpisodeAsync(Tenants.Default, "ep-killed", Ct))!;
            Assert.Equal((null, 1), (left.EndedAt, left.Steps.Count));
        }

        await using (var second = await ServedChild.StartAsync(store, "--abandon-idle-episodes-after", "0"))
        {
            using var client = second.Client(key);
            using var outcome = await client.PostAsync("/api/episodes/ep-killed/outcomes", Json("""{"score":0,"comment":"refund failed"}"""), Ct);
            var answer = await outcome.Content.ReadAsStringAsync(Ct);
            Assert.True(outcome.StatusCode == System.Net.HttpStatusCode.Created, answer);
            Assert.Contains("\"endReason\":\"abandoned\"", answer, StringComparison.Ordinal);
            second.Kill();
        }

        await LearnAsync(store);
        var afterFirst = await StateAsync(store);
        await LearnAsync(store);
        var afterSecond = await StateAsync(store);

        await using (var opened = await OpenAsync(store))
        {
            var runs = await opened.ListLearningRunsAsync(Tenants.Default, 2, Ct);
            Assert.Equal([0, 1], runs.Select(r => r.NewEpisodes));
            var recovered = (await opened.GetEpisodeAsync(Tenants.Default, "ep-killed", Ct))!;
            Assert.Equal((EpisodeEndReasons.Abandoned, 0.0), (recovered.EndReason, recovered.Score));
            var abandonedAudits = 0;
            await foreach (var entry in opened.ReadAuditAsync(0, Ct))
            {
                abandonedAudits += entry.Action == AuditActions.EpisodesAbandoned ? 1 : 0;
            }

            Assert.Equal(1, abandonedAudits);
        }

        Assert.Equal(afterFirst.Evidence, afterSecond.Evidence);
        await AssertInvariantsAsync(store);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task An_outcome_on_one_host_ends_an_episode_open_on_another_whose_later_steps_are_refused_naming_it(string engine)
    {
        var store = await NewStoreAsync(engine);
        await ImportAsync(store, Refunds(0, 120, seed: 1));
        await LearnAsync(store);

        await using var capturing = await ServedChild.StartAsync(store);
        var key = capturing.IssuedKey ?? throw new InvalidOperationException($"lore serve printed no admin key: {capturing.Output}");
        await using var judging = await ServedChild.StartAsync(store);
        using var capturingClient = capturing.Client(key);
        using var judgingClient = judging.Client(key);
        using (var started = await capturingClient.PostAsync("/api/episodes", Json("""
            {"id":"ep-two-hosts","task":"refund order 9002","unit":"customer-4","labels":{"slice":"refunds"},
             "steps":[{"kind":"toolCall","tool":"refund_order","arguments":{"order":9002},"result":"Error: order 9002 must be looked up before it can be refunded"}]}
            """), Ct))
        {
            Assert.Equal(System.Net.HttpStatusCode.Created, started.StatusCode);
        }

        using (var outcome = await judgingClient.PostAsync("/api/episodes/ep-two-hosts/outcomes", Json("""{"score":0,"comment":"refund failed"}"""), Ct))
        {
            var answer = await outcome.Content.ReadAsStringAsync(Ct);
            Assert.True(outcome.StatusCode == System.Net.HttpStatusCode.Created, answer);
            Assert.Contains("\"endReason\":\"outcome\"", answer, StringComparison.Ordinal);
        }

        using (var late = await capturingClient.PostAsync("/api/episodes/ep-two-hosts/steps", Json("""
            {"steps":[{"kind":"toolCall","tool":"lookup_order","arguments":{"order":9002},"result":"found"}]}
            """), Ct))
        {
            var answer = await late.Content.ReadAsStringAsync(Ct);
            Assert.True(late.StatusCode == System.Net.HttpStatusCode.Conflict, answer);
            Assert.Contains("ep-two-hosts", answer, StringComparison.Ordinal);
        }

        capturing.Kill();
        judging.Kill();
        await LearnAsync(store);
        await using (var opened = await OpenAsync(store))
        {
            var episode = (await opened.GetEpisodeAsync(Tenants.Default, "ep-two-hosts", Ct))!;
            Assert.Equal((EpisodeEndReasons.Outcome, 1, 0.0), (episode.EndReason, episode.Steps.Count, episode.Score));
            Assert.Equal([1], (await opened.ListLearningRunsAsync(Tenants.Default, 1, Ct)).Select(r => r.NewEpisodes));
        }

        await AssertInvariantsAsync(store);
    }

    private static StringContent Json(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> NewStoreAsync(string engine)
    {
        if (engine == "sqlite")
        {
            return _directory.File($"crash-{Guid.NewGuid():n}.db");
        }

        _database = await TestDatabases.RentMigratedAsync();

        // A reused database had its sessions ended when it was returned: connections pooled for its URI are dead.
        Npgsql.NpgsqlConnection.ClearAllPools();
        var server = await TestDatabases.ServerAsync();
        var database = new Npgsql.NpgsqlConnectionStringBuilder(_database).Database!;
        return $"postgres://{PostgresServer.Superuser}:pw@{server.Host}:{server.Port}/{database}";
    }

    private static async Task<ILoreStore> OpenAsync(string store)
        => store.StartsWith("postgres://", StringComparison.Ordinal)
            ? await PostgresLoreStore.OpenAsync(store, Ct)
            : await SqliteLoreStore.OpenAsync(store, Ct);

    /// <summary>Refund episodes where skipping lookup_order makes refund_order fail; the same seed gives the same episodes.</summary>
    private static List<Episode> Refunds(int first, int count, int seed)
    {
        var random = new Random(seed);
        var start = new DateTimeOffset(2026, 2, 1, 0, 0, 0, TimeSpan.Zero);
        return Enumerable.Range(first, count).Select(i =>
        {
            var builder = new EpisodeBuilder($"ep-{i:D5}").Unit($"customer-{i % 17}").StartedAt(start.AddMinutes(i)).Label("slice", "refunds");
            if (random.NextDouble() < 0.5)
            {
                return builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}").Succeeded().Build();
            }

            builder.Tool("refund_order", $$"""{"order":{{i}}}""", $"Error: order {i} must be looked up before it can be refunded");
            return random.NextDouble() < 0.4
                ? builder.Tool("lookup_order", $$"""{"order":{{i}}}""", "{\"total\":30}").Tool("refund_order", $$"""{"order":{{i}}}""", "{\"ok\":true}").Succeeded().Build()
                : builder.Failed().Build();
        }).ToList();
    }

    private static async Task ImportAsync(string store, IEnumerable<Episode> episodes)
    {
        await using var opened = await OpenAsync(store);
        await using var import = await opened.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        await import.CommitAsync(Ct);
    }

    private static async Task<long> CountAsync(string store)
    {
        await using var opened = await OpenAsync(store);
        return await opened.CountEpisodesAsync(Tenants.Default, Ct);
    }

    private static async Task LearnAsync(string store)
    {
        var learn = await RunAsync("learn", "--store", store);
        Assert.True(learn.ExitCode == 0, learn.Out + learn.Error);
    }

    /// <summary>What the crash must leave as before or as after: lessons with their evidence, snapshots, runs, cursor, rollout, audit.</summary>
    private sealed record StoreState(string Evidence, string Snapshots, int Runs, long Cursor, string Served, bool Frozen, int AuditRecords);

    private static async Task<StoreState> StateAsync(string store)
    {
        await using var opened = await OpenAsync(store);
        var lessons = await opened.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct);
        var evidence = string.Join("\n", lessons.Select(l => $"{l.Id} {l.Status} episodes={l.Evidence.EpisodeCount} support={l.Evidence.Support}"));
        var snapshots = string.Join(",", (await opened.ListSnapshotsAsync(Tenants.Default, Ct)).Select(s => s.Id).Order(StringComparer.Ordinal));
        var runs = (await opened.ListLearningRunsAsync(Tenants.Default, 1000, Ct)).Count;
        var rollout = await opened.GetRolloutAsync(Tenants.Default, Ct);
        var audit = 0;
        await foreach (var _ in opened.ReadAuditAsync(0, Ct))
        {
            audit++;
        }

        return new StoreState(evidence, snapshots, runs, await opened.GetCursorAsync($"learning:{Tenants.Default}", Ct), $"{rollout.StableSnapshotId}/{rollout.CandidateSnapshotId}/v{rollout.Version}", rollout.Frozen, audit);
    }

    /// <summary>Audit chain intact, every snapshot and served pointer verified, every snapshot audited as created, every run's snapshot stored.</summary>
    private static async Task AssertInvariantsAsync(string store)
    {
        await using var opened = await OpenAsync(store);
        var chain = await AuditVerifier.VerifyAsync(opened, cancellationToken: Ct);
        Assert.True(chain.IsIntact, chain.Fault?.Description);
        var snapshots = await SnapshotVerifier.VerifyAsync(opened, cancellationToken: Ct);
        Assert.True(snapshots.IsIntact, string.Join("; ", snapshots.Faults.Select(f => $"{f.SnapshotId}: {f.Problem}")));
        var created = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in opened.ReadAuditAsync(0, Ct))
        {
            if (entry.Action == AuditActions.SnapshotCreated)
            {
                created.Add(entry.Subject);
            }
        }

        var stored = (await opened.ListSnapshotsAsync(Tenants.Default, Ct)).Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        Assert.All(stored, id => Assert.Contains(id, created));
        foreach (var run in await opened.ListLearningRunsAsync(Tenants.Default, 1000, Ct))
        {
            if (run.SnapshotId is { } id)
            {
                Assert.Contains(id, stored);
            }
        }
    }

    private static async Task<(int ExitCode, string Out, string Error)> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        var exit = await LoreCommandLine.RunAsync(args, console, error, Ct);
        return (exit, output.ToString(), error.ToString());
    }

    /// <summary><c>lore serve</c> as a child process on a free port, killed (SIGKILL) by the test or when disposed.</summary>
    private sealed class ServedChild : IAsyncDisposable
    {
        private readonly Process _process;
        private readonly StringBuilder _output = new();
        private readonly Task _drainError;
        private Task _drainOutput = Task.CompletedTask;

        private ServedChild(Process process)
        {
            _process = process;
            _drainError = process.StandardError.ReadToEndAsync(Ct).ContinueWith(t => Append(t.IsCompletedSuccessfully ? t.Result : ""), TaskScheduler.Default);
        }

        public Uri BaseAddress { get; private set; } = null!;

        /// <summary>The admin key printed by the first start on a store without keys.</summary>
        public string? IssuedKey { get; private set; }

        public string Output
        {
            get
            {
                lock (_output)
                {
                    return _output.ToString();
                }
            }
        }

        public static async Task<ServedChild> StartAsync(string store, params string[] extra)
        {
            var info = new ProcessStartInfo("dotnet")
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                UseShellExecute = false,
                WorkingDirectory = AppContext.BaseDirectory,
            };
            foreach (var arg in (string[])[Path.Combine(AppContext.BaseDirectory, "Lore.Cli.dll"), "serve", "--store", store, "--urls", "http://127.0.0.1:0", .. extra])
            {
                info.ArgumentList.Add(arg);
            }

            info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
            var served = new ServedChild(Process.Start(info)!);
            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            deadline.CancelAfter(Generous);
            while (await served._process.StandardOutput.ReadLineAsync(deadline.Token) is { } line)
            {
                served.Append(line + "\n");
                if (line.StartsWith("lore_", StringComparison.Ordinal))
                {
                    served.IssuedKey = line.Trim();
                }

                if (line.Contains("Listening on ", StringComparison.Ordinal))
                {
                    var address = line[line.IndexOf("http://", StringComparison.Ordinal)..].Split([' ', ','], 2)[0];
                    served.BaseAddress = new Uri(address);
                    served._drainOutput = served._process.StandardOutput.ReadToEndAsync(Ct).ContinueWith(t => served.Append(t.IsCompletedSuccessfully ? t.Result : ""), TaskScheduler.Default);
                    return served;
                }
            }

            await served.DisposeAsync();
            throw new InvalidOperationException($"lore serve ended before listening: {served.Output}");
        }

        public HttpClient Client(string key)
        {
            var client = new HttpClient { BaseAddress = BaseAddress };
            client.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", key);
            return client;
        }

        /// <summary>SIGKILL, as <c>kill -9</c>: no shutdown code runs.</summary>
        public void Kill()
        {
            if (!_process.HasExited)
            {
                _process.Kill(entireProcessTree: true);
            }
        }

        public async ValueTask DisposeAsync()
        {
            Kill();
            await _process.WaitForExitAsync(Ct);
            await Task.WhenAll(_drainOutput, _drainError);
            _process.Dispose();
        }

        private void Append(string text)
        {
            lock (_output)
            {
                _output.Append(text);
            }
        }
    }

    /// <summary>Runs the lore CLI as a child process armed to kill itself at <paramref name="point"/>; returns what it printed.</summary>
    private static async Task<string> RunKilledAsync(string point, params string[] args)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "Lore.Cli.dll"));
        foreach (var arg in args)
        {
            info.ArgumentList.Add(arg);
        }

        info.Environment[CrashPoints.Variable] = point;
        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var child = Process.Start(info)!;
        var stdout = child.StandardOutput.ReadToEndAsync(Ct);
        var stderr = child.StandardError.ReadToEndAsync(Ct);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        deadline.CancelAfter(Generous);
        try
        {
            await child.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException) when (!Ct.IsCancellationRequested)
        {
            child.Kill(entireProcessTree: true);
            Assert.Fail($"lore {string.Join(' ', args)} did not reach crash point {point} within {Generous}.");
        }

        var printed = new StringBuilder().Append(await stdout).Append(await stderr).ToString();
        Assert.True(child.ExitCode != 0, $"lore {string.Join(' ', args)} exited {child.ExitCode} without reaching crash point {point}: {printed}");
        Assert.Contains($"crash point '{point}' reached", printed, StringComparison.Ordinal);
        return printed;
    }
}
