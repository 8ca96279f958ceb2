using System.Text.Json;
using Lore.Testing;

namespace Lore.Cli.Tests;

public sealed class CommandLineTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private string Store => _dir.File("lore.db");

    [Fact]
    public async Task Ingest_then_learn_on_the_tau_bench_sample_creates_a_snapshot_that_lists_and_shows()
    {
        var sample = SharedData.TauBenchOrSkip();

        var ingest = await CliRunner.RunAsync("ingest", sample, "--store", Store, "--label", "slice=airline");
        Assert.True(ingest.ExitCode == 0, ingest.Error);
        Assert.Contains("Imported 40 episodes", ingest.Out);

        var learn = await CliRunner.RunAsync("learn", "--store", Store, "--json");
        Assert.True(learn.ExitCode == 0, learn.Error);
        var run = JsonSerializer.Deserialize<LearningRun>(learn.Out, LoreJson.Options)!;
        Assert.Equal(40, run.EpisodesRead);

        var snapshots = await CliRunner.RunAsync("snapshots", "list", "--store", Store, "--json");
        Assert.Equal(0, snapshots.ExitCode);
        var list = JsonSerializer.Deserialize<List<SnapshotSummary>>(snapshots.Out, LoreJson.Options)!;
        if (run.SnapshotId is not null)
        {
            var active = Assert.Single(list, s => s.IsActive);
            Assert.Equal(run.SnapshotId, active.Id);

            var show = await CliRunner.RunAsync("snapshots", "show", run.SnapshotId, "--store", Store);
            Assert.True(show.ExitCode == 0, show.Error);
            Assert.Contains("verified", show.Out);

            var lessons = await CliRunner.RunAsync("lessons", "list", "--store", Store, "--json");
            var served = JsonSerializer.Deserialize<List<Lesson>>(lessons.Out, LoreJson.Options)!;
            Assert.NotEmpty(served);
            var lesson = await CliRunner.RunAsync("lessons", "show", served[0].Id, "--store", Store);
            Assert.True(lesson.ExitCode == 0, lesson.Error);
            Assert.Contains(served[0].Id, lesson.Out);
            Assert.Contains("evidence", lesson.Out);
        }
    }

    [Fact]
    public async Task Ingest_of_a_malformed_file_fails_with_one_line_naming_the_record_and_writes_nothing()
    {
        var file = _dir.File("bad.jsonl");
        await File.WriteAllTextAsync(file, """
            {"messages":[{"role":"user","content":"refund order 1"},{"role":"assistant","content":"done"}],"reward":1}
            {"messages":[{"role":"user","content":"refund order 2"},{"role":"assistant","content": 42}],"reward":1}
            """, TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("ingest", file, "--store", Store);

        Assert.Equal(1, result.ExitCode);
        var line = Assert.Single(result.Error.Split('\n', StringSplitOptions.RemoveEmptyEntries));
        Assert.StartsWith("lore: error:", line);
        Assert.Contains("record 1", line);

        // The store file this command would have created for the import is not left behind.
        Assert.False(File.Exists(Store), "a refused import left a store file");
    }

    [Fact]
    public async Task Learn_reads_tool_effects_from_a_file_and_names_a_bad_entry()
    {
        var sample = SharedData.TauBenchOrSkip();
        Assert.Equal(0, (await CliRunner.RunAsync("ingest", sample, "--store", Store)).ExitCode);
        var bad = _dir.File("bad-tools.json");
        await File.WriteAllTextAsync(bad, """{"calculate": "sometimes"}""", TestContext.Current.CancellationToken);
        var good = _dir.File("tools.json");
        await File.WriteAllTextAsync(good, """{"calculate": "readOnly", "book_reservation": "moneyMoving"}""", TestContext.Current.CancellationToken);

        var refused = await CliRunner.RunAsync("learn", "--store", Store, "--tools", bad);
        var learned = await CliRunner.RunAsync("learn", "--store", Store, "--tools", good);

        Assert.Equal(1, refused.ExitCode);
        Assert.Contains("'calculate' has \"sometimes\"", refused.Error, StringComparison.Ordinal);
        Assert.True(learned.ExitCode == 0, learned.Error);
    }

    [Fact]
    public async Task Ingest_twice_then_learn_on_the_airline_dev_set_skips_the_copy_and_says_why_each_served_lesson_is_believed()
    {
        var dev = SharedData.RequireOrSkip("tau-bench-airline-gpt-4o-dev.json");
        var copy = _dir.File("renamed-copy.json");
        File.Copy(dev, copy);

        Assert.Contains("Imported 100 episodes", (await CliRunner.RunAsync("ingest", dev, "--store", Store, "--label", "slice=airline")).Out);
        var again = await CliRunner.RunAsync("ingest", copy, "--store", Store, "--label", "slice=airline");
        Assert.True(again.ExitCode == 0, again.Error);
        Assert.Contains("Imported 0 episodes", again.Out);
        Assert.Contains("skipped 100 already in the store", again.Out);

        var learn = await CliRunner.RunAsync("learn", "--store", Store);

        Assert.True(learn.ExitCode == 0, learn.Error);
        Assert.Contains("100 episodes read (100 new)", learn.Out);
        Assert.Contains("why each is believed", learn.Out);
        Assert.Matches(@"les-[0-9a-f]{16}: \d+ episodes from \d+ tasks and \d+ sources", learn.Out);
        Assert.DoesNotContain("[yellow]", learn.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("[/]", learn.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Reading_commands_refuse_a_store_that_does_not_exist()
    {
        var result = await CliRunner.RunAsync("lessons", "list", "--store", _dir.File("missing.db"));

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("no store at", result.Error);
        Assert.False(File.Exists(_dir.File("missing.db")));
    }

    [Fact]
    public async Task Unknown_ids_exit_non_zero_with_a_reason()
    {
        await using (await Lore.Sqlite.SqliteLoreStore.OpenAsync(Store, TestContext.Current.CancellationToken))
        {
            // An empty store: the ids below cannot exist in it.
        }

        var lesson = await CliRunner.RunAsync("lessons", "show", "les-nope", "--store", Store);
        Assert.Equal(1, lesson.ExitCode);
        Assert.Contains("no lesson 'les-nope'", lesson.Error);

        var snapshot = await CliRunner.RunAsync("snapshots", "show", "snap-nope", "--store", Store);
        Assert.Equal(1, snapshot.ExitCode);
        Assert.Contains("no snapshot 'snap-nope'", snapshot.Error);
    }

    [Fact]
    public async Task Bad_arguments_exit_with_usage_code()
    {
        var result = await CliRunner.RunAsync("lessons", "list", "--kind", "sermon", "--store", Store);
        Assert.NotEqual(0, result.ExitCode);

        var unknown = await CliRunner.RunAsync("frobnicate");
        Assert.Equal(2, unknown.ExitCode);
        Assert.StartsWith("lore: error:", unknown.Error);
    }

    [Fact]
    public async Task Ingest_label_must_be_key_value()
    {
        var file = _dir.File("ok.jsonl");
        await File.WriteAllTextAsync(file, """{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}""", TestContext.Current.CancellationToken);

        var result = await CliRunner.RunAsync("ingest", file, "--store", Store, "--label", "slice");

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("--label 'slice' is not KEY=VALUE", result.Error);
    }

    [Fact]
    public async Task The_drift_scenario_goes_on_with_the_failure_shift_chapter_in_its_own_tenant_of_the_same_store()
    {
        // Short chapters: each chapter's own story (the rollback, the hold) is asserted by its scenario's tests.
        var demo = await CliRunner.RunAsync("demo", "--scenario", "drift", "--episodes", "60", "--store", Store);

        Assert.True(demo.ExitCode == 0, demo.Error);
        Assert.Contains("What the control plane did", demo.Out, StringComparison.Ordinal);
        Assert.Contains("Chapter 2: improved, or merely shifted the errors?", demo.Out, StringComparison.Ordinal);
        Assert.Contains("tenant default-shift", demo.Out, StringComparison.Ordinal);
        Assert.True(demo.Out.IndexOf("What the control plane did", StringComparison.Ordinal) < demo.Out.IndexOf("Chapter 2", StringComparison.Ordinal));
        await using var store = await Lore.Sqlite.SqliteLoreStore.OpenAsync(Store, TestContext.Current.CancellationToken);
        Assert.Equal(60L, await store.CountEpisodesAsync(Tenants.Default, TestContext.Current.CancellationToken));
        Assert.Equal(60L, await store.CountEpisodesAsync("default-shift", TestContext.Current.CancellationToken));
    }

    [Fact]
    public async Task Lessons_list_all_shows_a_quarantined_lesson_as_rejected_not_active()
    {
        var drift = await CliRunner.RunAsync("demo", "--scenario", "drift", "--episodes", "250", "--store", Store, "--json");
        Assert.True(drift.ExitCode == 0, drift.Error);
        await using (var store = await Lore.Sqlite.SqliteLoreStore.OpenAsync(Store, TestContext.Current.CancellationToken))
        {
            Assert.NotEmpty(await store.ListLessonsAsync(new LessonQuery { Status = LessonStatus.Rejected }, TestContext.Current.CancellationToken));
        }

        var all = await CliRunner.RunAsync("lessons", "list", "--all", "--store", Store);

        Assert.Equal(0, all.ExitCode);
        Assert.Contains("rejected", all.Out);
    }
}
