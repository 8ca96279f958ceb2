using Lore.Sqlite;
using Lore.Testing;
using Lore.Tests.Audit;
using Xunit;

namespace Lore.Tests.Retention;

/// <summary>
/// Deleting a unit's episodes (right to erasure) cascades to the lessons they supported, and the audit log keeps a
/// record of the deletion without keeping anything that was deleted.
/// </summary>
public sealed class ErasureTests : IAsyncLifetime
{
    private const string Alice = "customer-alice@example.com";
    private const string AliceTask = "refund the blue kettle for Alice Liddell, 12 Wonder Lane";

    private static readonly DateTimeOffset Now = new(2026, 6, 1, 12, 0, 0, TimeSpan.Zero);

    private readonly TempDirectory _directory = new();
    private ILoreStore _store = null!;
    private string _stable = "";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync()
    {
        _store = await SqliteLoreStore.OpenAsync(_directory.File("lore.db"), Ct);
        var episodes = new List<Episode>
        {
            Episode("ep-alice-1", Alice, AliceTask),
            Episode("ep-alice-2", Alice, AliceTask + " again"),
        };
        for (var i = 2; i <= 6; i++)
        {
            episodes.Add(Episode($"ep-u{i}", $"customer-{i}", $"refund order {i}"));
        }

        await LearnedStore.ImportAsync(_store, episodes, Ct);
        var lessons = new[]
        {
            Lesson("les-narrow", ["ep-alice-1", "ep-u2", "ep-u3"], sources: 3),
            Lesson("les-broad", ["ep-alice-2", "ep-u2", "ep-u3", "ep-u4", "ep-u5"], sources: 5),
            Lesson("les-other", ["ep-u4", "ep-u5", "ep-u6"], sources: 3),
            Lesson("les-fact", ["ep-alice-1"], sources: 1) with
            {
                Kind = LessonKind.UserFact,
                Text = "Alice Liddell wants refunds to card ending 4242.",
                Trigger = LessonTrigger.OnKeywords("alice", "liddell"),
                Scope = new LessonScope { Tenant = Tenants.Default, UnitKey = Alice },
            },
        };
        await _store.SaveLessonsAsync(lessons, Ct);
        var snapshot = Snapshot.Create(null, Tenants.Default, lessons, new RetrievalSettings(), "learning", "learned", Now.AddDays(-3));
        await _store.SaveSnapshotAsync(snapshot, Ct);
        await _store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);
        _stable = snapshot.Id;
    }

    public async ValueTask DisposeAsync()
    {
        await _store.DisposeAsync();
        _directory.Dispose();
    }

    private static Episode Episode(string id, string unit, string task)
        => new EpisodeBuilder(id).Unit(unit).Task(task).StartedAt(Now.AddDays(-5)).Tool("lookup_order", "{}", "found").Succeeded().Build();

    private static Lesson Lesson(string id, string[] evidence, int sources) => new()
    {
        Id = id,
        Kind = LessonKind.Procedure,
        Text = $"Advice {id}: look the order up before refunding.",
        Trigger = LessonTrigger.OnKeywords("refund"),
        Evidence = new LessonEvidence { EpisodeIds = evidence, EpisodeCount = evidence.Length, DistinctSources = sources, Support = evidence.Length },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        CreatedAt = Now.AddDays(-4),
    };

    private EpisodeErasure Erasure() => new(_store, timeProvider: new FixedClock(Now));

    private async Task<List<AuditEntry>> AuditAsync()
    {
        var entries = new List<AuditEntry>();
        await foreach (var entry in _store.ReadAuditAsync(0, Ct))
        {
            entries.Add(entry);
        }

        return entries;
    }

    [Fact]
    public async Task Erasing_a_unit_retires_the_lessons_left_without_enough_evidence_in_a_new_stable_snapshot()
    {
        var erasure = Erasure();
        var plan = await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct);

        var result = await erasure.ApplyAsync(plan, "cli:dpo", "erasure request 2026-117", Ct);

        Assert.Equal(2, result.Deleted);
        Assert.Null(await _store.GetEpisodeAsync("ep-alice-1", Ct));
        Assert.NotNull(await _store.GetEpisodeAsync("ep-u2", Ct));
        Assert.Equal(["les-fact", "les-narrow"], plan.Retirements.Select(r => r.LessonId));
        Assert.Equal("evidence-below-threshold", plan.Retirements.Single(r => r.LessonId == "les-narrow").Rule);
        Assert.Equal("unit-erased", plan.Retirements.Single(r => r.LessonId == "les-fact").Rule);

        Assert.Equal(result.StableSnapshotId, await _store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        var served = (await _store.GetSnapshotAsync(result.StableSnapshotId!, Ct))!;
        Assert.Equal(_stable, served.ParentId);
        Assert.True(served.IsIntact);
        Assert.Equal(["les-broad", "les-other"], served.Lessons.Select(l => l.Id));
        var broad = served.Lessons[0].Evidence;
        Assert.Equal(["ep-u2", "ep-u3", "ep-u4", "ep-u5"], broad.EpisodeIds);
        Assert.Equal((4, 4), (broad.EpisodeCount, broad.DistinctSources));

        var narrow = (await _store.GetLessonAsync("les-narrow", Ct))!;
        Assert.Equal(LessonStatus.Retired, narrow.Status);
        Assert.Contains("below the admission thresholds", narrow.RetiredReason);
        Assert.Equal(["ep-u2", "ep-u3"], narrow.Evidence.EpisodeIds);
        var fact = (await _store.GetLessonAsync("les-fact", Ct))!;
        Assert.Equal(LessonStatus.Retired, fact.Status);
        Assert.DoesNotContain("Alice", fact.Text, StringComparison.OrdinalIgnoreCase);
        Assert.DoesNotContain("4242", fact.Text);
        Assert.Empty(fact.Trigger.Keywords);
        Assert.StartsWith("unit-", fact.Scope.UnitKey);
        Assert.Equal(3, (await _store.GetLessonAsync("les-other", Ct))!.Evidence.EpisodeCount);
    }

    [Fact]
    public async Task The_audit_log_records_the_deletion_by_count_and_unit_pseudonym_and_keeps_nothing_deleted()
    {
        var erasure = Erasure();
        var result = await erasure.ApplyAsync(await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct), "cli:dpo", "erasure request 2026-117", Ct);

        var entries = await AuditAsync();
        var deletion = Assert.Single(entries, e => e.Action == AuditActions.EpisodesDeleted);
        Assert.Equal("2 episodes", deletion.Subject);
        Assert.Equal("cli:dpo", deletion.Actor);
        Assert.Equal("erasure request 2026-117", deletion.Reason);
        Assert.Equal(result.Audit, deletion);
        using var details = System.Text.Json.JsonDocument.Parse(deletion.DetailsJson);
        Assert.Equal(2, details.RootElement.GetProperty("episodes").GetInt32());
        var unit = Assert.Single(details.RootElement.GetProperty("units").EnumerateArray()).GetString()!;
        Assert.Matches("^unit-[0-9a-f]{16}$", unit);
        Assert.Contains(entries, e => e.Action == AuditActions.LessonRetired && e.Subject == "les-narrow");
        Assert.Contains(entries, e => e.Action == AuditActions.SnapshotPromoted && e.Subject == result.StableSnapshotId);

        var everything = string.Join("\n", entries.Select(e => string.Join("|", e.Tenant, e.Actor, e.Action, e.Subject, e.Reason, e.DetailsJson)));
        foreach (var deleted in new[] { Alice, "alice", "Liddell", "kettle", "Wonder Lane", "ep-alice-1", "ep-alice-2", "4242" })
        {
            Assert.DoesNotContain(deleted, everything, StringComparison.OrdinalIgnoreCase);
        }

        Assert.True((await AuditVerifier.VerifyAsync(_store, cancellationToken: Ct)).IsIntact);
    }

    [Fact]
    public async Task Planning_changes_nothing()
    {
        var before = await _store.CountEpisodesAsync(Tenants.Default, Ct);

        var plan = await Erasure().PlanUnitAsync(Tenants.Default, Alice, Ct);

        Assert.Equal(["ep-alice-1", "ep-alice-2"], plan.EpisodeIds.Order());
        Assert.Equal(["les-broad"], plan.PrunedLessonIds);
        Assert.Equal(before, await _store.CountEpisodesAsync(Tenants.Default, Ct));
        Assert.Equal(_stable, await _store.GetActiveSnapshotIdAsync(Tenants.Default, Ct));
        Assert.Empty(await AuditAsync());
    }

    [Fact]
    public async Task Deleting_episodes_by_id_retires_every_lesson_they_leave_below_the_thresholds()
    {
        var erasure = Erasure();
        var plan = await erasure.PlanEpisodesAsync(Tenants.Default, ["ep-u4"], Ct);

        var result = await erasure.ApplyAsync(plan, "cli:ops", "retention of a test run", Ct);

        Assert.Equal(1, result.Deleted);
        Assert.Equal(["les-other"], plan.Retirements.Select(r => r.LessonId));
        var served = (await _store.GetSnapshotAsync(result.StableSnapshotId!, Ct))!;
        Assert.Equal(["les-broad", "les-fact", "les-narrow"], served.Lessons.Select(l => l.Id));
        Assert.Equal(4, served.Lessons[0].Evidence.EpisodeCount);
    }

    [Fact]
    public async Task Unknown_episode_ids_are_refused_by_name_and_nothing_is_deleted()
    {
        var error = await Assert.ThrowsAsync<KeyNotFoundException>(() => Erasure().PlanEpisodesAsync(Tenants.Default, ["ep-u2", "ep-ghost"], Ct));

        Assert.Contains("'ep-ghost'", error.Message);
        Assert.DoesNotContain("ep-u2", error.Message);
        Assert.NotNull(await _store.GetEpisodeAsync("ep-u2", Ct));
    }

    [Fact]
    public async Task A_candidate_in_rollout_is_replaced_by_one_without_the_retired_lessons()
    {
        var parent = (await _store.GetSnapshotAsync(_stable, Ct))!;
        var candidate = Snapshot.Create(_stable, Tenants.Default, [.. parent.Lessons, Lesson("les-canary", ["ep-u5", "ep-u6", "ep-alice-2"], 3)], new RetrievalSettings(), "learning", "canary", Now.AddDays(-1));
        await _store.SaveSnapshotAsync(candidate, Ct);
        var rollout = await _store.GetRolloutAsync(Tenants.Default, Ct);
        await _store.SaveRolloutAsync(rollout with { CandidateSnapshotId = candidate.Id, Stage = RolloutStage.Canary, CanaryShare = 0.2 }, rollout.Version, Ct);

        var erasure = Erasure();
        var result = await erasure.ApplyAsync(await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct), "cli:dpo", "erasure", Ct);

        var state = await _store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal(RolloutStage.Canary, state.Stage);
        Assert.Equal(0.2, state.CanaryShare);
        Assert.Equal(result.CandidateSnapshotId, state.CandidateSnapshotId);
        var replaced = (await _store.GetSnapshotAsync(state.CandidateSnapshotId!, Ct))!;
        Assert.Equal(candidate.Id, replaced.ParentId);
        Assert.Equal(["les-broad", "les-other"], replaced.Lessons.Select(l => l.Id));
    }

    [Fact]
    public async Task Erasure_goes_ahead_while_the_tenant_is_frozen_and_says_so()
    {
        var rollout = await _store.GetRolloutAsync(Tenants.Default, Ct);
        await _store.SaveRolloutAsync(rollout with { Frozen = true, FrozenReason = "incident 9" }, rollout.Version, Ct);

        var erasure = Erasure();
        var result = await erasure.ApplyAsync(await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct), "cli:dpo", "erasure", Ct);

        Assert.Equal(2, result.Deleted);
        var state = await _store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.True(state.Frozen);
        Assert.Equal(result.StableSnapshotId, state.StableSnapshotId);
        Assert.Contains("\"frozen\":true", result.Audit!.DetailsJson);
    }

    [Fact]
    public async Task Running_an_erasure_again_after_it_finished_finds_nothing_more_to_do()
    {
        var erasure = Erasure();
        var first = await erasure.ApplyAsync(await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct), "cli:dpo", "erasure", Ct);

        var again = await erasure.PlanUnitAsync(Tenants.Default, Alice, Ct);

        Assert.Empty(again.EpisodeIds);
        Assert.Empty(again.Retirements);
        var repeat = await erasure.ApplyAsync(again, "cli:dpo", "erasure", Ct);
        Assert.Null(repeat.Audit);
        Assert.Equal(first.StableSnapshotId, repeat.StableSnapshotId);
    }
}
