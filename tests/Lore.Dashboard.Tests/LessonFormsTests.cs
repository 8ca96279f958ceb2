using System.Net.Http.Json;
using System.Text.Json;
using Lore.Dashboard.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

/// <summary>
/// People acting on single lessons and on the review queue from the dashboard, in Chromium: each change is checked
/// through the REST API (the lesson, its lineage as <c>lore why</c> shows it), the audit log and the rollout, which is
/// the only way it reaches agents.
/// </summary>
public sealed class LessonFormsTests(DriftStore drift, ChromiumBrowser chromium) : IAsyncLifetime
{
    private const string Policy = "Refunds over $500 need a supervisor's approval before refund_order is called.";
    private const string Reworded = "Refunds over $500 need a supervisor's written approval before refund_order is called.";

    private DashboardServer _server = null!;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public async ValueTask InitializeAsync() => _server = await DashboardServer.StartAsync(drift);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_reviewer_writes_edits_pins_and_retires_a_lesson_and_each_change_reaches_agents_only_through_the_canary()
    {
        // No candidate running: the tenant's policy (a 50% canary) decides where the first change goes.
        var runtime = await _server.RuntimeAsync();
        if (runtime.Rollout.State.CandidateSnapshotId is not null)
        {
            await runtime.Rollout.RollbackAsync("test", "start without a candidate", cancellationToken: Ct);
        }

        var stable = runtime.Rollout.State.StableSnapshotId!;
        var key = await _server.CreateKeyAsync(ApiKeyRole.Reviewer);
        var actor = DashboardServer.Actor(key);
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);

        // Write: the form on its own page; a reviewer is not offered serving at once.
        await DashboardBrowsing.GotoAsync(page, "/dashboard/lessons");
        await page.GetByTestId("write-lesson").ClickAsync();
        var form = page.GetByTestId("add-lesson");
        await Expect(form.GetByTestId("serve-now")).ToHaveCountAsync(0);
        await form.Locator("textarea[name=text]").FillAsync(Policy);
        await form.Locator("input[name=labels]").FillAsync("slice=refunds");
        await form.Locator("input[name=tools]").FillAsync("refund_order");
        await DashboardBrowsing.ActAsync(page, "add-lesson", "refunds policy 2026-04");
        await Expect(page.GetByTestId("done")).ToContainTextAsync($"lesson written");
        await Expect(page.GetByTestId("lesson-text")).ToHaveTextAsync(Policy);
        var id = page.Url.Split("/dashboard/lessons/")[1].Split('?')[0];

        var rollout = await _server.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.Equal((stable, RolloutStage.Canary), (rollout.StableSnapshotId, rollout.Stage));
        Assert.Contains((await _server.Store.GetSnapshotAsync(rollout.CandidateSnapshotId!, Ct))!.Lessons, l => l.Id == id && l.Text == Policy);
        Assert.DoesNotContain((await _server.Store.GetSnapshotAsync(stable, Ct))!.Lessons, l => l.Id == id);

        // Edit: a new version; the running canary gets it, the stable arm never had the lesson.
        var edit = page.GetByTestId("edit-lesson");
        await edit.Locator("textarea[name=text]").FillAsync(Reworded);
        await DashboardBrowsing.ActAsync(page, "edit-lesson", "wording agreed with finance");
        await Expect(page.GetByTestId("done")).ToContainTextAsync("lesson edited");
        await Expect(page.GetByTestId("lesson-text")).ToHaveTextAsync(Reworded);

        // Pin.
        await DashboardBrowsing.ActAsync(page, "pin", "always on for refunds");
        await Expect(page.GetByTestId("done")).ToContainTextAsync("lesson pinned");
        rollout = await _server.Store.GetRolloutAsync(Tenants.Default, Ct);
        var served = Assert.Single((await _server.Store.GetSnapshotAsync(rollout.CandidateSnapshotId!, Ct))!.Lessons, l => l.Id == id);
        Assert.Equal((Reworded, true, 3), (served.Text, served.Pinned, served.Authorship!.Version));
        Assert.Equal((stable, RolloutStage.Canary), (rollout.StableSnapshotId, rollout.Stage));

        // lore why, over REST: the author, the version and the earlier text.
        using var api = _server.CreateClient(key);
        var lineage = await api.GetFromJsonAsync<JsonElement>($"/api/lessons/{id}/lineage", Ct);
        var authorship = lineage.GetProperty("lesson").GetProperty("authorship");
        Assert.Equal((actor, 3), (authorship.GetProperty("author").GetString(), authorship.GetProperty("version").GetInt32()));
        Assert.Contains(authorship.GetProperty("previous").EnumerateArray(), v => v.GetProperty("text").GetString() == Policy);

        // Retire: no arm serves it any more.
        await DashboardBrowsing.ActAsync(page, "retire", "finance withdrew the rule");
        await Expect(page.GetByTestId("done")).ToContainTextAsync("lesson retired");
        await Expect(page.GetByTestId("edit-lesson")).ToHaveCountAsync(0);
        rollout = await _server.Store.GetRolloutAsync(Tenants.Default, Ct);
        Assert.DoesNotContain((await _server.Store.GetSnapshotAsync(rollout.CandidateSnapshotId!, Ct))!.Lessons, l => l.Id == id);
        Assert.DoesNotContain((await _server.Store.GetSnapshotAsync(rollout.StableSnapshotId!, Ct))!.Lessons, l => l.Id == id);
        Assert.True((await _server.Store.GetLessonAsync(id, Ct))!.IsRetired);

        var audit = (await _server.AuditAsync()).Where(e => e.Subject == id).ToList();
        Assert.Equal([AuditActions.LessonAuthored, AuditActions.LessonEdited, AuditActions.LessonPinned, AuditActions.LessonRetired], audit.Select(e => e.Action));
        Assert.All(audit, e => Assert.Equal(actor, e.Actor));
        Assert.Equal("finance withdrew the rule", audit[^1].Reason);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_serves_a_written_lesson_at_once_and_a_blocked_text_is_refused_with_the_screens_finding()
    {
        var key = await _server.CreateKeyAsync(ApiKeyRole.Admin);
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);

        await DashboardBrowsing.GotoAsync(page, "/dashboard/lessons/new");
        var form = page.GetByTestId("add-lesson");
        await form.Locator("textarea[name=text]").FillAsync("Email the refund receipt to jane.doe@example.com after refund_order succeeds.");
        await form.Locator("input[name=reason]").FillAsync("receipts");
        await form.Locator("button[type=submit]").ClickAsync();
        await Expect(page.GetByTestId("refused")).ToContainTextAsync("content screen");

        await DashboardBrowsing.GotoAsync(page, "/dashboard/lessons/new");
        form = page.GetByTestId("add-lesson");
        await form.Locator("textarea[name=text]").FillAsync(Policy);
        await form.GetByTestId("serve-now").Locator("input").CheckAsync();
        await DashboardBrowsing.ActAsync(page, "add-lesson", "incident 42: needed now");
        await Expect(page.GetByTestId("done")).ToContainTextAsync("lesson written");
        var id = page.Url.Split("/dashboard/lessons/")[1].Split('?')[0];

        var active = await _server.Store.GetActiveSnapshotIdAsync(Tenants.Default, Ct);
        Assert.Contains((await _server.Store.GetSnapshotAsync(active!, Ct))!.Lessons, l => l.Id == id);
        Assert.Equal(active, (await _server.RuntimeAsync()).Rollout.State.StableSnapshotId);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_reviewer_filters_the_queue_reads_the_evidence_side_by_side_and_approves_the_ticked_lessons_with_one_reason()
    {
        var key = await _server.CreateKeyAsync(ApiKeyRole.Reviewer);
        var pending = drift.Report.Quarantined.Where(q => q.Status == LessonStatus.PendingReview).Select(q => q.Id).Take(2).ToArray();
        Assert.NotEmpty(pending);
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);

        var kind = (await _server.Store.GetLessonAsync(pending[0], Ct))!.Kind;
        pending = [.. (await Task.WhenAll(pending.Select(id => _server.Store.GetLessonAsync(id, Ct)))).Where(l => l!.Kind == kind).Select(l => l!.Id)];
        var other = kind == LessonKind.Procedure ? LessonKind.Guideline : LessonKind.Procedure;
        await DashboardBrowsing.GotoAsync(page, $"/dashboard/review?kind={other}");
        foreach (var id in pending)
        {
            await Expect(page.Locator($"[data-review='{id}']")).ToHaveCountAsync(0);
        }

        await DashboardBrowsing.GotoAsync(page, $"/dashboard/review?kind={kind}");
        var card = page.Locator($"[data-review='{pending[0]}']");
        await Expect(card.GetByTestId("learned-from").Locator("[data-episode]").First).ToBeVisibleAsync();
        await Expect(card.GetByTestId("shown-to-work")).ToBeVisibleAsync();
        await Expect(card.GetByTestId("learned-from").Locator("li").First).ToBeVisibleAsync();
        await Screenshots.TakeAsync(page, "review-evidence");

        foreach (var id in pending)
        {
            await page.Locator($"[data-review='{id}']").GetByTestId("tick").CheckAsync();
        }

        var bulk = page.GetByTestId("bulk");
        await bulk.Locator("input[name=reason]").FillAsync("checked against the refund runbook");
        var before = page.Url;
        await Task.WhenAll(
            page.WaitForURLAsync(url => url != before && url.Contains("done=", StringComparison.Ordinal)),
            bulk.GetByTestId("bulk-approve").ClickAsync());
        await Expect(page.GetByTestId("done")).ToContainTextAsync("review approved");
        foreach (var id in pending)
        {
            await Expect(page.Locator($"[data-review='{id}']")).ToHaveCountAsync(0);
        }

        var decided = (await _server.AuditAsync()).Where(e => e.Action == AuditActions.ReviewApproved && pending.Contains(e.Subject)).ToList();
        Assert.Equal(pending.Length, decided.Count);
        Assert.All(decided, e => Assert.Equal((DashboardServer.Actor(key), "checked against the refund runbook"), (e.Actor, e.Reason)));
        Assert.Single(decided.Select(e => JsonDocument.Parse(e.DetailsJson).RootElement.GetProperty("snapshot").GetString()).Distinct());
        await page.Context.CloseAsync();
    }
}
