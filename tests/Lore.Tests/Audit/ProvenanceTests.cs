using Xunit;

namespace Lore.Tests.Audit;

/// <summary>why, blame and diff answer from what learning, rollout and the audit log recorded.</summary>
public sealed class ProvenanceTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Why_traces_a_learned_lesson_to_its_extractor_evidence_runs_snapshots_and_audit_entries()
    {
        await using var learned = await LearnedStore.CreateAsync(Ct);
        var store = learned.Store;
        await new AuditTrail(store).RecordAsync(Tenants.Default, "cli:reviewer", AuditActions.ReviewApproved, learned.LessonId, "looks right", new { lesson = learned.LessonId }, Ct);
        await new AuditTrail(store).RecordAsync(Tenants.Default, "cli:reviewer", AuditActions.ReviewApproved, "les-other", "unrelated", new { lesson = "les-other" }, Ct);

        var lineage = await Provenance.LessonAsync(store, learned.LessonId, Tenants.Default, Ct);

        Assert.Equal(LearnedStore.SecondText, lineage.Lesson.Text);
        Assert.Equal("refund-procedure", lineage.Lesson.Extractor.Name);
        var evidence = lineage.Evidence.ToDictionary(e => e.EpisodeId);
        Assert.Equal(6, evidence.Count);
        Assert.All(evidence.Values, e => Assert.True(e.Stored));
        Assert.False(evidence["ep-refund-2"].Succeeded);
        Assert.True(evidence["ep-refund-5"].Succeeded);
        Assert.Equal("refunds", evidence["ep-refund-0"].Slice);

        Assert.Contains(lineage.LearningRuns, r => r.RunId == learned.FirstRun.Id && r.Role == "added" && r.SnapshotId == learned.FirstRun.SnapshotId);
        Assert.Contains(lineage.LearningRuns, r => r.RunId == learned.SecondRun.Id && r.Role == "updated");

        Assert.Equal([learned.FirstRun.SnapshotId, learned.SecondRun.SnapshotId], lineage.Snapshots.Select(s => s.SnapshotId));
        Assert.Equal(LearnedStore.FirstText, lineage.Snapshots[0].Text);
        Assert.Equal("stable", lineage.Snapshots[1].Serving);

        Assert.Contains(lineage.AuditEntries, e => e.Action == AuditActions.ReviewApproved && e.Subject == learned.LessonId);
        Assert.DoesNotContain(lineage.AuditEntries, e => e.Subject == "les-other");
    }

    [Fact]
    public async Task Why_shows_deleted_evidence_as_no_longer_stored()
    {
        await using var learned = await LearnedStore.CreateAsync(Ct);
        await learned.Store.DeleteEpisodesAsync(["ep-refund-1"], Ct);

        var lineage = await Provenance.LessonAsync(learned.Store, learned.LessonId, Tenants.Default, Ct);

        var gone = Assert.Single(lineage.Evidence, e => e.EpisodeId == "ep-refund-1");
        Assert.False(gone.Stored);
        Assert.Null(gone.Succeeded);
    }

    [Fact]
    public async Task Why_of_an_unknown_lesson_or_another_tenants_lesson_is_not_found()
    {
        await using var learned = await LearnedStore.CreateAsync(Ct);

        await Assert.ThrowsAsync<KeyNotFoundException>(() => Provenance.LessonAsync(learned.Store, "les-nope", Tenants.Default, Ct));
        await Assert.ThrowsAsync<KeyNotFoundException>(() => Provenance.LessonAsync(learned.Store, learned.LessonId, "acme", Ct));
    }

    [Fact]
    public async Task Blame_shows_the_snapshot_arm_and_lesson_texts_as_served_and_the_outcome()
    {
        await using var learned = await LearnedStore.CreateAsync(Ct);
        var firstSnapshot = learned.FirstRun.SnapshotId!;
        var served = LearnedStore.Refund("ep-served", "user-9", 30, succeeded: false) with
        {
            SnapshotId = firstSnapshot,
            InjectedLessonIds = [learned.LessonId, "les-vanished"],
            Arm = "candidate",
            StartedAt = LearnedStore.Start.AddHours(1).AddMinutes(30),
        };
        await LearnedStore.ImportAsync(learned.Store, [served], Ct);

        var blame = await Provenance.EpisodeAsync(learned.Store, "ep-served", Tenants.Default, Ct);

        Assert.Equal("candidate", blame.Episode.Arm);
        Assert.Equal(firstSnapshot, blame.Snapshot!.Id);
        Assert.False(blame.Episode.Succeeded);
        Assert.Empty(blame.Episode.Steps);
        Assert.Equal(1, blame.Steps);
        var lesson = blame.Injected[0];
        Assert.Equal(LearnedStore.FirstText, lesson.Text);
        Assert.Equal("snapshot", lesson.Source);
        Assert.Equal(LessonStatus.Active, lesson.CurrentStatus);
        Assert.Equal("unknown", blame.Injected[1].Source);
        Assert.All(blame.SnapshotHistory, e => Assert.True(e.At <= served.StartedAt));
    }

    [Fact]
    public async Task Diff_lists_the_changed_text_of_a_lesson_between_two_learned_snapshots()
    {
        await using var learned = await LearnedStore.CreateAsync(Ct);

        var diff = await Provenance.DiffAsync(learned.Store, learned.FirstRun.SnapshotId!, learned.SecondRun.SnapshotId!, Tenants.Default, Ct);

        Assert.Empty(diff.Added);
        Assert.Empty(diff.Removed);
        Assert.Empty(diff.Settings);
        var change = Assert.Single(diff.Changed);
        Assert.Equal(learned.LessonId, change.LessonId);
        var text = Assert.Single(change.Fields, f => f.Field == "text");
        Assert.Equal(LearnedStore.FirstText, text.Before);
        Assert.Equal(LearnedStore.SecondText, text.After);
        Assert.Contains(change.Fields, f => f.Field == "evidence");
    }

    [Fact]
    public void Diff_names_added_removed_and_changed_lessons_and_settings()
    {
        var keep = Fakes.TestLessons.Lesson("les-keep", "Confirm the address.");
        var before = Fakes.TestLessons.Snapshot([keep, Fakes.TestLessons.Lesson("les-old", "Old advice.")]);
        var changed = keep with
        {
            Trigger = LessonTrigger.OnKeywords("address"),
            Scope = keep.Scope with { Labels = keep.Scope.Labels.Add("slice", "shipping") },
            Confidence = 0.55,
        };
        var after = Fakes.TestLessons.Snapshot([changed, Fakes.TestLessons.Lesson("les-new", "New advice.")], new RetrievalSettings { TopK = 3, TokenBudget = 250 }, parent: before.Id);

        var diff = SnapshotDiff.Compare(before, after);

        Assert.Equal("les-new", Assert.Single(diff.Added).Id);
        Assert.Equal("les-old", Assert.Single(diff.Removed).Id);
        var fields = Assert.Single(diff.Changed).Fields.ToDictionary(f => f.Field);
        Assert.Equal(["trigger", "scope", "confidence"], fields.Keys);
        Assert.Equal("keywords: address", fields["trigger"].After);
        Assert.Contains("labels slice=shipping", fields["scope"].After);
        Assert.Equal(("0.900", "0.550"), (fields["confidence"].Before, fields["confidence"].After));
        Assert.Equal(["topK", "tokenBudget"], diff.Settings.Select(s => s.Field));
        Assert.True(SnapshotDiff.Compare(after, after).IsEmpty);
    }
}
