using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Audit;
using Xunit;

namespace Lore.Tests.Retention;

/// <summary>
/// A retention policy run: a dry run reports each action with its rule and evidence and changes nothing; an applied
/// run deletes old episodes (with the erasure cascade) and retires unused and harmful lessons in one new snapshot.
/// </summary>
public sealed class RetentionTests : IAsyncLifetime
{
    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private static readonly RetentionPolicy Policy = new() { MaxEpisodeAgeDays = 365, UnusedLessonDays = 60, MinLessonEffect = -0.05, MinEffectEpisodes = 10 };

    private readonly TempDirectory _directory = new();
    private ILoreStore _store = null!;
    private string _stable = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _store = await SqliteLoreStore.OpenAsync(_directory.File("lore.db"), Ct);
        var episodes = new List<Episode>
        {
            // Two episodes from last year, the only evidence of les-aged besides one recent episode.
            Episode("ep-old-1", "old-1", Now.AddDays(-400), succeeded: true, []),
            Episode("ep-old-2", "old-2", Now.AddDays(-390), succeeded: false, []),

            // les-unused was last injected three months ago.
            Episode("ep-unused", "unit-u", Now.AddDays(-90), succeeded: true, ["les-unused"]),
        };
        for (var i = 0; i < 40; i++)
        {
            // Recent: les-harmful is injected into 40 episodes that all fail; in 40 where it was eligible, the holdout
            // withheld it (recorded on the model call) and they succeed.
            episodes.Add(Episode($"ep-with-{i}", $"w-{i}", Now.AddDays(-10).AddHours(i), succeeded: false, ["les-used", "les-harmful"]));
            var without = Episode($"ep-without-{i}", $"o-{i}", Now.AddDays(-10).AddHours(i), succeeded: true, ["les-used"]);
            episodes.Add(without with { Steps = [new Step { Index = 0, Kind = StepKind.ModelCall, At = without.StartedAt, InjectedLessonIds = ["les-used"], WithheldLessonIds = ["les-harmful"] }] });
        }

        await LearnedStore.ImportAsync(_store, episodes, Ct);
        var unused = Lesson("les-unused", ["ep-unused", "ep-without-0", "ep-without-1"]);
        var used = Lesson("les-used", ["ep-with-0", "ep-without-2", "ep-without-3"]);
        var aged = Lesson("les-aged", ["ep-old-1", "ep-old-2", "ep-without-4"]);
        var harmful = Lesson("les-harmful", ["ep-with-1", "ep-with-2", "ep-with-3"]);
        await _store.SaveLessonsAsync([unused, used, aged, harmful], Ct);
        var first = Snapshot.Create(null, Tenants.Default, [unused, used, aged], new RetrievalSettings(), "learning", "first", Now.AddDays(-120));
        var second = Snapshot.Create(first.Id, Tenants.Default, [unused, used, aged, harmful], new RetrievalSettings(), "learning", "second", Now.AddDays(-20));
        await _store.SaveSnapshotAsync(first, Ct);
        await _store.SaveSnapshotAsync(second, Ct);
        await _store.SetActiveSnapshotAsync(Tenants.Default, second.Id, Ct);
        _stable = second.Id;
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        _directory.Dispose();
    }

    private static Episode Episode(string id, string unit, DateTimeOffset started, bool succeeded, string[] injected)
    {
        var builder = new EpisodeBuilder(id).Unit(unit).Task("refund an order").Label("slice", "refunds").StartedAt(started);
        return (succeeded ? builder.Succeeded() : builder.Failed()).Build() with { InjectedLessonIds = injected };
    }

    private static Lesson Lesson(string id, string[] evidence) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = $"Advice {id}.",
        Evidence = new LessonEvidence { EpisodeIds = evidence, EpisodeCount = evidence.Length, DistinctSources = evidence.Length, Support = evidence.Length },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        CreatedAt = Now.AddDays(-120),
    };

    private RetentionRunner Runner() => new(_store, timeProvider: new FixedClock(Now));

    private async Task<string> StateAsync()
    {
        var lessons = await _store.ListLessonsAsync(new LessonQuery { IncludeRetired = true }, Ct);
        var snapshots = await _store.ListSnapshotsAsync(Tenants.Default, Ct);
        var rollout = await _store.GetRolloutAsync(Tenants.Default, Ct);
        var audit = 0;
        await foreach (var _ in _store.ReadAuditAsync(0, Ct))
        {
            audit++;
        }

        return $"{await _store.CountEpisodesAsync(Tenants.Default, Ct)} episodes; " +
            string.Join(",", lessons.OrderBy(l => l.Id).Select(l => $"{l.Id}:{l.Status}:{l.Evidence.EpisodeCount}")) +
            $"; {snapshots.Count} snapshots; rollout v{rollout.Version} {rollout.StableSnapshotId}; {audit} audit entries";
    }

    [Fact]
    public async Task A_dry_run_reports_every_action_with_its_rule_and_evidence_and_changes_nothing()
    {
        var before = await StateAsync();

        var report = await Runner().RunAsync(Tenants.Default, Policy, apply: false, "cli:ops", Ct);

        Assert.Equal(before, await StateAsync());
        Assert.False(report.Applied);
        Assert.Null(report.Audit);
        var actions = report.Actions.ToDictionary(a => a.Subject);
        Assert.Equal(["2 episodes", "les-aged", "les-unused", "les-harmful"], report.Actions.Select(a => a.Subject));
        Assert.Equal(("maxEpisodeAgeDays", "delete-episodes"), (actions["2 episodes"].Rule, actions["2 episodes"].Kind));
        Assert.Equal(["ep-old-1", "ep-old-2"], actions["2 episodes"].Ids.Order());
        Assert.Equal("maxEpisodeAgeDays", actions["les-aged"].Rule);
        Assert.Contains("from 3 episodes / 3 sources to 1 / 1", actions["les-aged"].Evidence);
        Assert.Equal("unusedLessonDays", actions["les-unused"].Rule);
        Assert.Contains("last injected 90 days ago", actions["les-unused"].Evidence);
        Assert.Contains("episode ep-unused", actions["les-unused"].Evidence);
        Assert.Equal("minLessonEffect", actions["les-harmful"].Rule);
        Assert.Contains("0.000 with (40 episodes, 40 units) vs 1.000 withheld by the holdout (40 episodes, 40 units)", actions["les-harmful"].Evidence);
        Assert.DoesNotContain("les-used", actions.Keys);
    }

    [Fact]
    public async Task An_applied_run_deletes_and_retires_in_one_new_snapshot_and_records_the_run()
    {
        var report = await Runner().RunAsync(Tenants.Default, Policy, apply: true, "cli:ops", Ct);

        Assert.True(report.Applied);
        Assert.Null(await _store.GetEpisodeAsync("ep-old-1", Ct));
        Assert.NotNull(await _store.GetEpisodeAsync("ep-unused", Ct));
        var stable = (await _store.GetSnapshotAsync(report.StableSnapshotId!, Ct))!;
        Assert.Equal(_stable, stable.ParentId);
        Assert.Equal(["les-used"], stable.Lessons.Select(l => l.Id));
        Assert.Equal(stable.Id, await _store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));

        var unused = (await _store.GetLessonAsync("les-unused", Ct))!;
        Assert.Equal(LessonStatus.Retired, unused.Status);
        Assert.StartsWith("stale:", unused.RetiredReason);
        Assert.StartsWith("retention: the holdout experiment puts the effect at most -0.", (await _store.GetLessonAsync("les-harmful", Ct))!.RetiredReason);
        Assert.Equal(["ep-without-4"], (await _store.GetLessonAsync("les-aged", Ct))!.Evidence.EpisodeIds);

        Assert.Equal(AuditActions.RetentionApplied, report.Audit!.Action);
        var entries = new List<AuditEntry>();
        await foreach (var entry in _store.ReadAuditAsync(0, Ct))
        {
            entries.Add(entry);
        }

        Assert.Contains(entries, e => e.Action == AuditActions.EpisodesDeleted && e.Subject == "2 episodes");
        Assert.Equal(["les-aged", "les-harmful", "les-unused"], entries.Where(e => e.Action == AuditActions.LessonRetired).Select(e => e.Subject).Order());
        Assert.True((await AuditVerifier.VerifyAsync(_store, cancellationToken: Ct)).IsIntact);

        var again = await Runner().RunAsync(Tenants.Default, Policy, apply: true, "cli:ops", Ct);
        Assert.Empty(again.Actions);
        Assert.Null(again.Audit);
    }

    [Fact]
    public async Task Applying_to_a_frozen_tenant_is_refused_before_anything_changes()
    {
        var rollout = await _store.GetRolloutAsync(Tenants.Default, Ct);
        await _store.SaveRolloutAsync(rollout with { Frozen = true, FrozenReason = "incident 12" }, rollout.Version, Ct);
        var before = await StateAsync();

        var dry = await Runner().RunAsync(Tenants.Default, Policy, apply: false, "cli:ops", Ct);
        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => Runner().RunAsync(Tenants.Default, Policy, apply: true, "cli:ops", Ct));

        Assert.True(dry.Frozen);
        Assert.Contains("frozen (incident 12)", error.Message);
        Assert.Equal(before, await StateAsync());
    }

    [Fact]
    public async Task A_rule_left_out_of_the_policy_does_not_act()
    {
        var report = await Runner().RunAsync(Tenants.Default, new RetentionPolicy { UnusedLessonDays = 60 }, apply: false, "cli:ops", Ct);

        Assert.Equal(["les-aged", "les-unused"], report.Actions.Select(a => a.Subject));
        Assert.All(report.Actions, a => Assert.Equal("unusedLessonDays", a.Rule));
    }

    [Theory]
    [InlineData("""{"maxEpisodeAgeDays": "a year"}""", "field 'maxEpisodeAgeDays' must be a positive number of days, not \"a year\"")]
    [InlineData("""{"maxEpisodeAgeDays": -3}""", "field 'maxEpisodeAgeDays' must be a positive number of days")]
    [InlineData("""{"unusedLessonDay": 30}""", "unknown field 'unusedLessonDay'")]
    [InlineData("""{"minLessonEffect": 2}""", "field 'minLessonEffect' must lie between -1 and 1")]
    [InlineData("""{"minLessonEffect": -0.1, "minEffectEpisodes": 2.5}""", "field 'minEffectEpisodes' must be a whole number")]
    [InlineData("""{"maxEpisodeAgeDays": 30, "minEffectEpisodes": 10}""", "field 'minEffectEpisodes' only applies with 'minLessonEffect'")]
    [InlineData("""{"maxEpisodeAgeDays": 30, "maxEpisodeAgeDays": 40}""", "field 'maxEpisodeAgeDays' appears twice")]
    [InlineData("""{}""", "names no rule")]
    [InlineData("""[1]""", "must be a JSON object")]
    [InlineData("""{"maxEpisodeAgeDays": 30""", "not valid JSON")]
    public void A_malformed_policy_fails_naming_the_file_and_the_field(string json, string expected)
    {
        var error = Assert.Throws<FormatException>(() => RetentionPolicy.Parse(json, "retention.json"));

        Assert.StartsWith("retention.json: ", error.Message);
        Assert.Contains(expected, error.Message);
    }

    [Fact]
    public void A_policy_reads_every_rule_and_defaults_the_effect_episodes()
    {
        var policy = RetentionPolicy.Parse("""
            { // comments are allowed
              "maxEpisodeAgeDays": 365, "unusedLessonDays": 45.5, "minLessonEffect": -0.05,
            }
            """);

        Assert.Equal(new RetentionPolicy { MaxEpisodeAgeDays = 365, UnusedLessonDays = 45.5, MinLessonEffect = -0.05, MinEffectEpisodes = 30 }, policy);
    }

    [Fact]
    public void A_policy_file_that_cannot_be_read_is_named()
    {
        var missing = _directory.File("missing.json");

        var error = Assert.Throws<FormatException>(() => RetentionPolicy.Load(missing));

        Assert.Contains(missing, error.Message);
    }
}
