using System.Globalization;
using Lore.Dashboard.Tests.Support;
using Lore.Simulation;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

/// <summary>Each page over the drift scenario's store, read in Chromium the way an operator reads it, with a screenshot.</summary>
public sealed partial class DashboardPagesTests(DriftStore drift, ChromiumBrowser chromium) : IAsyncLifetime
{
    private DashboardServer _server = null!;
    private IPage _page = null!;

    public async ValueTask InitializeAsync()
    {
        _server = await DashboardServer.StartAsync(drift);
        _page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(_page, await _server.CreateKeyAsync(ApiKeyRole.Admin));
    }

    public async ValueTask DisposeAsync()
    {
        await _page.Context.CloseAsync();
        await _server.DisposeAsync();
    }

    [Fact]
    public async Task Timeline_shows_what_is_served_and_every_rollout_event_with_its_actor_and_reason()
    {
        var rollout = await _server.Store.GetRolloutAsync(Tenants.Default, TestContext.Current.CancellationToken);
        Assert.NotNull(rollout.StableSnapshotId);

        await _page.GotoAsync("/dashboard");
        await Expect(_page.GetByTestId("stable")).ToHaveTextAsync(rollout.StableSnapshotId);
        await Expect(_page.GetByTestId("candidate")).ToHaveTextAsync(rollout.CandidateSnapshotId ?? "(none)");

        // The automatic rollback: actor, the regressed slice and the evidence in the reason.
        var rolledBack = _page.Locator("[data-testid=events] tr[data-action='snapshot.rolled-back']");
        await Expect(rolledBack).ToHaveCountAsync(1);
        await Expect(rolledBack).ToContainTextAsync("rollout-monitor");
        await Expect(rolledBack).ToContainTextAsync("regressed on slice 'payments'");

        var promoted = _page.Locator("[data-testid=events] tr[data-action='snapshot.promoted']");
        await Expect(promoted.First).ToContainTextAsync("rollout-monitor");
        await Expect(promoted.First).ToContainTextAsync("better overall");

        // The quarantined poisoning attempt, linked to the lesson.
        var poison = Assert.Single(drift.Report.Quarantined, q => q.Status == LessonStatus.Rejected);
        var quarantined = _page.Locator("[data-testid=events] tr[data-action='lesson.rejected']");
        await Expect(quarantined.Filter(new() { HasText = poison.Id })).ToHaveCountAsync(1);

        // Every snapshot the run created is listed, and each creation is an event.
        var snapshots = await _server.Store.ListSnapshotsAsync(Tenants.Default, TestContext.Current.CancellationToken);
        await Expect(_page.Locator("[data-testid=snapshots] tbody tr")).ToHaveCountAsync(snapshots.Count);
        await Expect(_page.Locator("[data-testid=events] tr[data-action='snapshot.created']")).ToHaveCountAsync(snapshots.Count);
        await Screenshots.TakeAsync(_page, "timeline");

        // A snapshot's page lists what it serves and where it came from.
        await _page.GetByTestId("stable").GetByRole(AriaRole.Link).ClickAsync();
        await Expect(_page.GetByTestId("snapshot-id")).ToContainTextAsync(rollout.StableSnapshotId);
        await Expect(_page.GetByTestId("snapshot-id")).ToContainTextAsync("content address verified");
        var stable = await _server.Store.GetSnapshotAsync(rollout.StableSnapshotId, TestContext.Current.CancellationToken);
        foreach (var lesson in stable!.Lessons)
        {
            await Expect(_page.GetByRole(AriaRole.Link, new() { Name = lesson.Id, Exact = true }).First).ToBeVisibleAsync();
        }

        await Screenshots.TakeAsync(_page, "snapshot");
    }

    [Fact]
    public async Task Outcomes_chart_success_per_arm_and_slice_with_bands_and_mark_the_rollback_and_the_promotion()
    {
        await _page.GotoAsync("/dashboard/outcomes");
        var overall = _page.GetByTestId("chart-overall");
        await Expect(overall).ToBeVisibleAsync();
        foreach (var arm in new[] { "stable", "baseline", "candidate" })
        {
            await Expect(overall.Locator($"g[data-arm={arm}] circle").First).ToBeAttachedAsync();
            await Expect(overall.Locator($"polygon.band.arm-{arm}").First).ToBeAttachedAsync();
        }

        await Expect(overall.Locator("g[data-marker=rolled-back]")).ToHaveCountAsync(1);
        Assert.True(await overall.Locator("g[data-marker=promoted]").CountAsync() >= 1);

        foreach (var slice in WorkplaceSlices.All)
        {
            await Expect(_page.GetByTestId($"chart-slice-{slice}")).ToBeVisibleAsync();
        }

        // The totals are the run's own numbers: the candidate broke payments while the rule had changed.
        foreach (var arm in new[] { RolloutArms.Baseline, RolloutArms.Candidate })
        {
            var episodes = drift.Report.Episodes.Where(e => e.Slice == "payments" && e.Arm == arm).ToList();
            var rate = (double)episodes.Count(e => e.Success) / episodes.Count;
            var row = _page.Locator($"[data-testid=outcome-totals] tr[data-slice=payments][data-arm={arm}]");
            await Expect(row.Locator("td").Nth(2)).ToHaveTextAsync(episodes.Count.ToString(CultureInfo.InvariantCulture));
            await Expect(row.Locator("td").Nth(3)).ToHaveTextAsync(rate.ToString("0.0 %", CultureInfo.InvariantCulture));
        }

        await Screenshots.TakeAsync(_page, "outcomes");
    }

    [Fact]
    public async Task Lessons_can_be_searched_and_show_kind_scope_evidence_effect_and_status()
    {
        var all = await _server.Store.ListLessonsAsync(new LessonQuery { Tenant = Tenants.Default, IncludeRetired = true }, TestContext.Current.CancellationToken);
        await _page.GotoAsync("/dashboard/lessons");
        await Expect(_page.Locator("[data-testid=lessons] tbody tr")).ToHaveCountAsync(all.Count);
        await Screenshots.TakeAsync(_page, "lessons");

        await _page.FillAsync("input[name=q]", "refund_order");
        await Task.WhenAll(_page.WaitForURLAsync("**q=refund_order*"), _page.ClickAsync("form.filters button"));
        var matching = all.Where(l => l.Text.Contains("refund_order", StringComparison.OrdinalIgnoreCase) || l.Scope.Tools.Contains("refund_order")).ToList();
        Assert.NotEmpty(matching);
        await Expect(_page.Locator("[data-testid=lessons] tbody tr")).ToHaveCountAsync(matching.Count);
        foreach (var lesson in matching)
        {
            var row = _page.Locator($"tr[data-lesson='{lesson.Id}']");
            await Expect(row).ToContainTextAsync($"{lesson.Evidence.EpisodeCount} episodes, {lesson.Evidence.DistinctSources} sources");
        }

        // The quarantined lesson is found by its status.
        await _page.GotoAsync("/dashboard/lessons?status=Rejected");
        var poison = Assert.Single(drift.Report.Quarantined, q => q.Status == LessonStatus.Rejected);
        await Expect(_page.Locator($"tr[data-lesson='{poison.Id}']")).ToContainTextAsync("rejected");

        // Effects are measured only by the per-lesson holdout experiment (off unless configured); a lesson that has one
        // shows it in points.
        if (all.FirstOrDefault(l => l.Effect is not null) is { } measured)
        {
            await _page.GotoAsync($"/dashboard/lessons?q={measured.Id}");
            await Expect(_page.Locator($"tr[data-lesson='{measured.Id}']")).ToContainTextAsync(" pts (");
        }
    }

    [Fact]
    public async Task Lesson_page_shows_its_lineage_from_episodes_to_snapshots()
    {
        var served = drift.Report.Lessons.OrderByDescending(l => l.InjectedInEpisodes).First();
        var lineage = await Provenance.LessonAsync(_server.Store, served.Id, Tenants.Default, TestContext.Current.CancellationToken);

        await _page.GotoAsync($"/dashboard/lessons/{served.Id}");
        await Expect(_page.GetByTestId("lesson-text")).ToHaveTextAsync(lineage.Lesson.Text);
        await Expect(_page.GetByTestId("extractor")).ToHaveTextAsync($"{lineage.Lesson.Extractor.Name} {lineage.Lesson.Extractor.Version}");
        await Expect(_page.GetByTestId("lesson-status")).ToHaveTextAsync("active");
        await Expect(_page.Locator("[data-testid=evidence] tbody tr")).ToHaveCountAsync(lineage.Evidence.Count);
        await Expect(_page.Locator("[data-testid=lesson-snapshots] tbody tr")).ToHaveCountAsync(lineage.Snapshots.Count);
        await Screenshots.TakeAsync(_page, "lesson");

        // The evidence links to the episodes themselves.
        var first = lineage.Evidence.First(e => e.Stored);
        await _page.Locator("[data-testid=evidence]").GetByRole(AriaRole.Link, new() { Name = first.EpisodeId }).ClickAsync();
        await Expect(_page.Locator("h1")).ToHaveTextAsync($"Episode {first.EpisodeId}");
    }

    [Fact]
    public async Task Episode_page_shows_the_trajectory_the_snapshot_and_lessons_in_effect_the_arm_and_the_outcome()
    {
        var simulated = drift.Report.Episodes.First(e => e.Arm == RolloutArms.Candidate && e.InjectedLessonIds.Count > 0 && !e.Success);
        var episode = (await _server.Store.GetEpisodeAsync(simulated.EpisodeId, TestContext.Current.CancellationToken))!;

        await _page.GotoAsync($"/dashboard/episodes/{episode.Id}");
        await Expect(_page.GetByTestId("task")).ToHaveTextAsync(episode.Task);
        await Expect(_page.GetByTestId("arm")).ToHaveTextAsync("candidate");
        await Expect(_page.GetByTestId("episode-snapshot")).ToContainTextAsync(episode.SnapshotId!);
        await Expect(_page.GetByTestId("episode-outcome")).ToHaveTextAsync("failure");
        foreach (var id in episode.InjectedLessonIds.Distinct())
        {
            await Expect(_page.Locator("[data-testid=injected]").GetByRole(AriaRole.Link, new() { Name = id })).ToBeVisibleAsync();
        }

        await Expect(_page.Locator("[data-testid=trajectory] .step")).ToHaveCountAsync(episode.Steps.Count);
        foreach (var tool in episode.Steps.Where(s => s.Kind == StepKind.ToolCall).Select(s => s.ToolName!).Distinct())
        {
            await Expect(_page.Locator("[data-testid=trajectory] .step.tool strong", new() { HasText = tool }).First).ToBeVisibleAsync();
        }

        await Screenshots.TakeAsync(_page, "episode");

        await _page.GotoAsync("/dashboard/episodes?arm=candidate&outcome=failure");
        await Expect(_page.Locator("[data-testid=episodes]").GetByRole(AriaRole.Link, new() { Name = episode.Id })).ToBeVisibleAsync();
    }

    [Fact]
    public async Task Review_queue_lists_the_waiting_lesson_with_why_it_waits()
    {
        var waiting = drift.Report.Quarantined.Where(q => q.Status == LessonStatus.PendingReview).ToList();
        Assert.NotEmpty(waiting);
        await _page.GotoAsync("/dashboard/review");
        await Expect(_page.Locator("[data-review]")).ToHaveCountAsync(waiting.Count);
        var card = _page.Locator($"[data-review='{waiting[0].Id}']");
        var lesson = (await _server.Store.GetLessonAsync(waiting[0].Id, TestContext.Current.CancellationToken))!;
        await Expect(card.Locator("p strong")).ToHaveTextAsync(lesson.Text);

        // Why it waits: each rule that sent it to review is named on the card.
        Assert.NotEmpty(lesson.GuardFindings);
        foreach (var rule in lesson.GuardFindings.Select(f => f.Rule).Distinct())
        {
            await Expect(card).ToContainTextAsync(rule);
        }

        await Expect(card.GetByTestId("approve")).ToBeVisibleAsync();
        await Expect(card.GetByTestId("reject")).ToBeVisibleAsync();
        await Screenshots.TakeAsync(_page, "review");
    }

    [Fact]
    public async Task Audit_page_shows_the_log_under_the_verifiers_verdict()
    {
        var verification = await AuditVerifier.VerifyAsync(_server.Store, cancellationToken: TestContext.Current.CancellationToken);
        var entries = await _server.AuditAsync();
        await _page.GotoAsync("/dashboard/audit");
        await Expect(_page.GetByTestId("audit-status")).ToContainTextAsync($"Verified: {verification.Records} records");
        await Expect(_page.GetByTestId("audit-head")).ToHaveTextAsync(verification.Head.ToString());
        await Expect(_page.Locator("[data-testid=audit] tbody tr")).ToHaveCountAsync(Math.Min(200, entries.Count(e => e.Tenant == Tenants.Default)));
        await Screenshots.TakeAsync(_page, "audit");
    }
}
