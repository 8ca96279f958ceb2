using System.Text.Json;
using Lore.Cli;
using Lore.Cli.Infrastructure;
using Lore.Testing;
using Spectre.Console;

namespace Lore.PostgreSql.Tests;

/// <summary>The lore command line on a PostgreSQL store: the same commands a SQLite user runs, pointed at a postgres:// URI.</summary>
public sealed class CliOnPostgresTests : IAsyncLifetime
{
    private string _database = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _database = await TestDatabases.RentMigratedAsync();

    public async ValueTask DisposeAsync() => await TestDatabases.ReturnAsync(_database);

    /// <summary>The database as the URI a user would type, with a password (the server trusts local connections, so any password works).</summary>
    private async Task<string> UriAsync()
    {
        var server = await TestDatabases.ServerAsync();
        var database = new Npgsql.NpgsqlConnectionStringBuilder(_database).Database!;
        return $"postgres://{PostgresServer.Superuser}:s3cret-pw@{server.Host}:{server.Port}/{database}?application_name=lore-cli-test";
    }

    [Fact]
    public async Task Demo_ingest_learn_lessons_rollout_status_and_audit_verify_work_on_a_postgres_uri_as_on_a_sqlite_file()
    {
        using var directory = new TempDirectory();
        var sqlite = directory.File("lore.db");
        var postgres = await UriAsync();
        var trajectories = directory.File("more.jsonl");
        await File.WriteAllTextAsync(trajectories, """
            {"messages":[{"role":"user","content":"refund order 7"},{"role":"assistant","content":"refunded"}],"reward":1}
            {"messages":[{"role":"user","content":"cancel order 9"},{"role":"assistant","content":"I cannot"}],"reward":0}
            """, Ct);

        var results = new Dictionary<string, (string Lessons, LearningRun Run, string Status)>();
        foreach (var store in new[] { sqlite, postgres })
        {
            // The simulated workplace learns real lessons, snapshots and audit entries into the store.
            var demo = await RunAsync("demo", "--store", store, "--episodes", "100", "--learn-every", "50", "--json");
            Assert.True(demo.ExitCode == 0, demo.Error);

            var ingest = await RunAsync("ingest", trajectories, "--store", store, "--label", "slice=orders");
            Assert.True(ingest.ExitCode == 0, ingest.Error);
            Assert.Contains("Imported 2 episodes", ingest.Out, StringComparison.Ordinal);

            var learn = await RunAsync("learn", "--store", store, "--json");
            Assert.True(learn.ExitCode == 0, learn.Error);
            var run = JsonSerializer.Deserialize<LearningRun>(learn.Out, LoreJson.Options)!;
            Assert.Equal(102, run.EpisodesRead);

            var lessons = await RunAsync("lessons", "list", "--all", "--store", store, "--json");
            Assert.True(lessons.ExitCode == 0, lessons.Error);
            var listed = JsonSerializer.Deserialize<List<Lesson>>(lessons.Out, LoreJson.Options)!;

            var status = await RunAsync("rollout", "status", "--store", store, "--json");
            Assert.True(status.ExitCode == 0, status.Error);
            using var state = JsonDocument.Parse(status.Out);
            var stable = state.RootElement.GetProperty("state").GetProperty("stableSnapshotId").GetString();

            var verify = await RunAsync("audit", "verify", "--store", store);
            Assert.True(verify.ExitCode == 0, verify.Error);
            Assert.StartsWith("verified ", verify.Out, StringComparison.Ordinal);

            results[store] = (string.Join("\n", listed.Select(l => $"{l.Id} {l.Status} {l.Text}")), run, stable ?? "(none)");
        }

        // The same work learns the same lessons whichever engine stores it (snapshot ids differ: they cover creation times).
        Assert.NotEmpty(results[postgres].Lessons);
        Assert.Equal(results[sqlite].Lessons, results[postgres].Lessons);

        await using var direct = await PostgresLoreStore.OpenAsync(_database, Ct);
        Assert.Equal(await direct.GetActiveSnapshotIdAsync(Tenants.Default, Ct), results[postgres].Status);
        Assert.Equal(102, await direct.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.DoesNotContain("s3cret-pw", direct.Location, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_reading_command_refuses_a_postgres_database_without_a_lore_store_and_creates_nothing()
    {
        var empty = await TestDatabases.CreateEmptyAsync();
        try
        {
            var server = await TestDatabases.ServerAsync();
            var name = new Npgsql.NpgsqlConnectionStringBuilder(empty).Database!;
            var uri = $"postgresql://{PostgresServer.Superuser}:hunter2@{server.Host}:{server.Port}/{name}";

            var result = await RunAsync("lessons", "list", "--store", uri);

            Assert.Equal(1, result.ExitCode);
            Assert.Contains("no Lore store in", result.Error, StringComparison.Ordinal);
            Assert.DoesNotContain("hunter2", result.Error, StringComparison.Ordinal);
            Assert.False(await PostgresLoreStore.ExistsAsync(empty, new PostgresStoreOptions(), Ct));
        }
        finally
        {
            await TestDatabases.DropAsync(empty);
        }
    }

    [Fact]
    public async Task An_unreachable_server_fails_with_one_line_naming_it_without_the_password()
    {
        var result = await RunAsync("lessons", "list", "--store", "postgres://lore:topsecret@127.0.0.1:1/lore");

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("postgres://lore@127.0.0.1:1/lore", line, StringComparison.Ordinal);
        Assert.DoesNotContain("topsecret", line, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_npgsql_connection_string_names_a_postgres_store_too()
    {
        var list = await RunAsync("snapshots", "list", "--store", _database, "--json");

        Assert.True(list.ExitCode == 0, list.Error);
        Assert.Equal("[]", list.Out.Trim());
        Assert.True(await PostgresLoreStore.ExistsAsync(_database, new PostgresStoreOptions(), Ct));
    }

    [Fact]
    public async Task On_both_engines_diff_and_offline_counts_use_the_failure_mode_the_classifier_gave_when_the_episode_was_judged()
    {
        using var directory = new TempDirectory();
        foreach (var location in new[] { directory.File("lore.db"), await UriAsync() })
        {
            var (tallied, stored) = await RunClassifiedCanaryAsync(location);

            // The monitor tallied the classifier's label (not the category's built-in mode), and the stored episodes say the same.
            Assert.Equal(["label: wrong desk for ticket <num>"], tallied);
            Assert.Equal(tallied, stored);

            // lore diff reads the episodes both snapshots served: the same modes as the monitor.
            var diff = await RunAsync("diff", "stable", "candidate", "--store", location, "--json");
            Assert.True(diff.ExitCode == 0, diff.Error);
            var modes = JsonDocument.Parse(diff.Out).RootElement.GetProperty("failureShift").GetProperty("modes").EnumerateArray()
                .Select(m => m.GetProperty("mode").GetString()!).Distinct(StringComparer.Ordinal).ToArray();
            Assert.Equal(tallied, modes);
        }
    }

    /// <summary>Labels every failure the same way, with a number normalisation removes.</summary>
    private sealed class DeskClassifier : IFailureClassifier
    {
        public ValueTask<string?> ClassifyAsync(Episode episode, CancellationToken cancellationToken = default)
            => ValueTask.FromResult<string?>($"wrong desk for ticket {4400 + episode.Outcomes.Count}");
    }

    /// <summary>
    /// A canary of a candidate against a stable snapshot, with a failure classifier, where every episode fails with the
    /// category "order_not_found": most are judged as they end, one ends unjudged and is judged later. Returns the modes
    /// of the shared rollout tally and those the stored episodes give (<see cref="FailureModes.Of"/>).
    /// </summary>
    private static async Task<(string[] Tallied, string[] Stored)> RunClassifiedCanaryAsync(string location)
    {
        await using var store = await StoreLocator.OpenAsync(location, mustExist: false, Ct);
        var at = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);
        var stable = Snapshot.Create(null, Tenants.Default, [DeskLesson("les-desk", "Route billing tickets to the billing desk.")], new RetrievalSettings(), "test", "stable", at);
        var candidate = Snapshot.Create(stable.Id, Tenants.Default, [.. stable.Lessons, DeskLesson("les-desk-2", "Route refund tickets to the refunds desk.")], new RetrievalSettings(), "test", "candidate", at);
        await store.SaveSnapshotAsync(stable, Ct);
        await store.SaveSnapshotAsync(candidate, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, stable.Id, Ct);

        var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = store, LeaveStoreOpen = true, FailureClassifier = new DeskClassifier() }, Ct);
        await using (runtime)
        {
            await runtime.Rollout.CanaryAsync(0.5, "alice", "canary", candidate.Id, Ct);
            for (var i = 0; i < 16; i++)
            {
                var episode = runtime.BeginEpisode("route a ticket to the right desk", new() { ["slice"] = "desk" }, $"user-{i}");
                await using (episode)
                {
                    if (i != 0)
                    {
                        await episode.CompleteAsync(new Outcome(0, OutcomeSource.Environment) { Category = "order_not_found" }, Ct);
                    }
                }

                if (i == 0)
                {
                    await runtime.RecordOutcomeAsync(episode.Id, new Outcome(0, OutcomeSource.User) { Category = "order_not_found" }, Ct);
                }
            }

            // Disposing the runtime finishes the monitor's work: the tally is synced to the store.
        }

        var tally = await store.ReadRolloutFailureTallyAsync(Tenants.Default, candidate.Id, Ct);
        var stored = new List<string>();
        await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = Tenants.Default }, Ct))
        {
            stored.Add(FailureModes.Of(episode) ?? "(not failed)");
        }

        Assert.Equal(16, stored.Count);
        return ([.. tally.Select(r => r.FailureMode).Distinct(StringComparer.Ordinal)], [.. stored.Distinct(StringComparer.Ordinal)]);
    }

    private static Lesson DeskLesson(string id, string text) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnDescription("route a ticket to the right desk"),
        Scope = new LessonScope { Tenant = Tenants.Default },
        Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        CreatedAt = new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero),
    };

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
        console.Profile.Width = 200;
        var exit = await LoreCommandLine.RunAsync(args, console, error, Ct);
        return (exit, output.ToString(), error.ToString());
    }
}
