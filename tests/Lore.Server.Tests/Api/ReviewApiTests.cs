using System.Collections.Immutable;
using System.Net;
using System.Text.Json.Nodes;
using Lore.Server.Tests.Support;
using Xunit;

namespace Lore.Server.Tests.Api;

/// <summary>Review at scale over REST: the queue's filters, bulk decisions with one reason, and the evidence side by side.</summary>
public sealed class ReviewApiTests
{
    private static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A waiting lesson of tenant acme that names a tool, carries a finding and cites the seeded ended episode.</summary>
    internal static Lesson Waiting(string id, LessonKind kind, string tool, string rule, string slice, params string[] episodes) => new()
    {
        Id = id,
        Kind = kind,
        Text = $"Call {tool} only after checking the order's status ({id}).",
        Trigger = LessonTrigger.OnKeywords("refund"),
        Scope = new LessonScope { Tenant = "acme", Labels = ImmutableSortedDictionary<string, string>.Empty.Add("slice", slice), Tools = [tool] },
        Evidence = new LessonEvidence { EpisodeIds = episodes, EpisodeCount = episodes.Length, DistinctSources = 3, Support = 3, ExemplarEpisodeIds = ["ep-acme-running"], ExemplarCount = 1 },
        GuardFindings = [new GuardFinding(rule, $"{rule} fired on {id}", Blocking: false)],
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.8,
        Status = LessonStatus.PendingReview,
        CreatedAt = T0,
    };

    [Fact]
    public async Task A_reviewer_filters_the_queue_and_approves_several_lessons_with_one_reason_in_one_snapshot()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        await server.Store.SaveLessonsAsync(
            [
                Waiting("les-a", LessonKind.ToolGuide, "refund_order", "changes-state", "refunds", "ep-acme-ended"),
                Waiting("les-b", LessonKind.ToolGuide, "refund_order", "changes-state", "refunds"),
                Waiting("les-c", LessonKind.Procedure, "cancel_order", "low-lift", "orders"),
            ],
            Ct);
        using var reviewer = server.CreateClient(t.ReviewerKey);

        Assert.Equal(["les-a", "les-b"], Ids(await reviewer.ApiGetAsync("/api/review?kind=toolGuide&tool=refund_order")));
        Assert.Equal(["les-c"], Ids(await reviewer.ApiGetAsync("/api/review?slice=orders")));
        Assert.Equal(["les-a", "les-b"], Ids(await reviewer.ApiGetAsync("/api/review?finding=changes-state")));
        Assert.Equal(4, Ids(await reviewer.ApiGetAsync("/api/review")).Length);
        var badKind = await reviewer.ApiGetAsync("/api/review?kind=rumour");
        Assert.Equal(HttpStatusCode.BadRequest, badKind.Status);
        Assert.Contains("kind", badKind.ErrorFields);

        // One reason for the lot; one of them not waiting refuses the whole decision, naming it.
        var partly = await reviewer.ApiPostAsync("/api/review/approve", new { ids = new[] { "les-a", t.ServedLessonId }, reason = "checked with the refunds team" });
        Assert.Equal(HttpStatusCode.Conflict, partly.Status);
        Assert.Contains(t.ServedLessonId, partly.Json["detail"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(LessonStatus.PendingReview, (await server.Store.GetLessonAsync("les-a", Ct))!.Status);

        var approved = await reviewer.ApiPostAsync("/api/review/approve", new { ids = new[] { "les-a", "les-b" }, reason = "checked with the refunds team" });
        Assert.True(approved.Status == HttpStatusCode.OK, approved.Text);
        var outcomes = approved.Json["outcomes"]!.AsArray();
        var snapshotId = outcomes[0]!["snapshotId"]!.GetValue<string>();
        Assert.All(outcomes, o => Assert.Equal(snapshotId, o!["snapshotId"]!.GetValue<string>()));
        var snapshot = (await server.Store.GetSnapshotAsync(snapshotId, Ct))!;
        Assert.Equal(new[] { t.ServedLessonId, "les-a", "les-b" }.Order(StringComparer.Ordinal), snapshot.Lessons.Select(l => l.Id).Order(StringComparer.Ordinal));
        Assert.Equal(snapshotId, await server.Store.GetActiveSnapshotIdAsync("acme", Ct));
        foreach (var id in new[] { "les-a", "les-b" })
        {
            var lesson = (await server.Store.GetLessonAsync(id, Ct))!;
            Assert.Equal((LessonStatus.Active, "checked with the refunds team"), (lesson.Status, lesson.Reviews[^1].Reason));
        }

        var rejected = await reviewer.ApiPostAsync("/api/review/reject", new { ids = new[] { "les-c", t.PendingLessonId }, reason = "one customer's workaround" });
        Assert.True(rejected.Status == HttpStatusCode.OK, rejected.Text);
        Assert.Empty(Ids(await reviewer.ApiGetAsync("/api/review")));
        var audit = (await reviewer.ApiGetAsync($"/api/audit?action={AuditActions.ReviewRejected}")).Json.AsArray();
        Assert.Equal(new[] { "les-c", t.PendingLessonId }.Order(StringComparer.Ordinal), audit.Select(e => e!["subject"]!.GetValue<string>()).Order(StringComparer.Ordinal));

        var twice = await reviewer.ApiPostAsync("/api/review/reject", new { ids = new[] { "les-c", "les-c" }, reason = "x" });
        Assert.Equal(HttpStatusCode.BadRequest, twice.Status);
        Assert.Contains("ids", twice.ErrorFields);
    }

    [Fact]
    public async Task The_evidence_of_a_waiting_lesson_comes_side_by_side_with_steps_and_outcomes()
    {
        await using var server = await LoreTestServer.StartAsync();
        var t = await SeededTenant.CreateAsync(server, "acme");
        await server.Store.SaveLessonsAsync([Waiting("les-a", LessonKind.ToolGuide, "refund_order", "changes-state", "refunds", "ep-acme-ended", "ep-gone")], Ct);
        using var reviewer = server.CreateClient(t.ReviewerKey);

        var evidence = await reviewer.ApiGetAsync("/api/review/les-a/evidence?perSide=3");

        Assert.True(evidence.Status == HttpStatusCode.OK, evidence.Text);
        var learned = Assert.Single(evidence.Json["learnedFrom"]!.AsArray());
        Assert.Equal(("ep-acme-ended", "refund order 2", true), (learned!["id"]!.GetValue<string>(), learned["task"]!.GetValue<string>(), learned["succeeded"]!.GetValue<bool>()));
        var step = Assert.Single(learned["steps"]!.AsArray());
        Assert.Equal(("refund_order", "ok"), (step!["tool"]!.GetValue<string>(), step["text"]!.GetValue<string>()));
        Assert.Equal(1, evidence.Json["learnedFromMissing"]!.GetValue<int>());
        var shown = Assert.Single(evidence.Json["shownToWork"]!.AsArray());
        Assert.Equal("ep-acme-running", shown!["id"]!.GetValue<string>());
        Assert.Null(shown["succeeded"]?.GetValue<bool?>());

        Assert.Equal(HttpStatusCode.NotFound, (await reviewer.ApiGetAsync("/api/review/les-nowhere/evidence")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await reviewer.ApiGetAsync("/api/review/les-a/evidence?perSide=0")).Status);
    }

    private static string[] Ids(ApiClient.Response response)
    {
        Assert.True(response.Status == HttpStatusCode.OK, response.Text);
        return [.. response.Json.AsArray().Select(l => l!["id"]!.GetValue<string>())];
    }
}
