using System.Net.Http.Json;
using System.Text.Json;
using Lore.Dashboard.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

/// <summary>
/// The buttons, clicked in Chromium with a reason typed in: their effect is checked through the REST API and the
/// store, and in the audit log with the key as actor; the runtime serving the tenant sees the change at once.
/// </summary>
public sealed class DashboardActionsTests(DriftStore drift, ChromiumBrowser chromium) : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await DashboardServer.StartAsync(drift);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_reviewer_approves_a_waiting_lesson_with_a_reason_and_the_decision_is_audited_with_the_key()
    {
        var key = await _server.CreateKeyAsync(ApiKeyRole.Reviewer);
        var lesson = drift.Report.Quarantined.First(q => q.Status == LessonStatus.PendingReview).Id;
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);

        // A reviewer decides lessons but does not steer the rollout.
        await Expect(page.Locator("form[action^='/dashboard/rollout']")).ToHaveCountAsync(0);

        await page.GotoAsync("/dashboard/review");
        var card = page.Locator($"[data-review='{lesson}']");
        await DashboardBrowsing.ActAsync(page, "approve", "checked against the refund runbook", card);
        await Expect(page.GetByTestId("done")).ToContainTextAsync($"review approved {lesson} by {DashboardServer.Actor(key)}");
        await Expect(page.Locator($"[data-review='{lesson}']")).ToHaveCountAsync(0);

        // Through the REST API: the lesson is admitted, with the decision on it.
        using var api = _server.CreateClient(key);
        var admitted = await api.GetFromJsonAsync<JsonElement>($"/api/lessons/{lesson}", TestContext.Current.CancellationToken);
        Assert.Equal("active", admitted.GetProperty("status").GetString(), ignoreCase: true);
        var review = admitted.GetProperty("lesson").GetProperty("reviews").EnumerateArray().Last();
        Assert.Equal(DashboardServer.Actor(key), review.GetProperty("reviewer").GetString());
        Assert.Equal("checked against the refund runbook", review.GetProperty("reason").GetString());

        // The audit log records it with the key as actor, and a snapshot containing the lesson exists.
        var entry = (await _server.AuditAsync()).Last(e => e.Action == AuditActions.ReviewApproved);
        Assert.Equal(lesson, entry.Subject);
        Assert.Equal(DashboardServer.Actor(key), entry.Actor);
        Assert.Equal("checked against the refund runbook", entry.Reason);
        var snapshotId = JsonDocument.Parse(entry.DetailsJson).RootElement.GetProperty("snapshot").GetString()!;
        var snapshot = await _server.Store.GetSnapshotAsync(snapshotId, TestContext.Current.CancellationToken);
        Assert.Contains(snapshot!.Lessons, l => l.Id == lesson);
        await Screenshots.TakeAsync(page, "review-approved");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_rolls_back_the_canary_with_a_reason_and_every_unit_gets_the_stable_snapshot_at_once()
    {
        // Arrange a running canary of an older snapshot through the engine, as learning would.
        var runtime = await _server.RuntimeAsync();
        var stable = runtime.Rollout.State.StableSnapshotId!;
        var older = (await _server.Store.ListSnapshotsAsync(Tenants.Default, TestContext.Current.CancellationToken)).First(s => s.Id != stable && s.LessonCount > 0).Id;
        await runtime.Rollout.CanaryAsync(0.5, "test", "a canary to roll back", older, TestContext.Current.CancellationToken);

        var key = await _server.CreateKeyAsync(ApiKeyRole.Admin);
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);
        await Expect(page.GetByTestId("candidate")).ToHaveTextAsync(older);
        await DashboardBrowsing.ActAsync(page, "rollback", "payments looked worse in the canary");

        await Expect(page.GetByTestId("done")).ToContainTextAsync($"rolled back {older} by {DashboardServer.Actor(key)}");
        await Expect(page.GetByTestId("candidate")).ToHaveTextAsync("(none)");
        var row = page.Locator("[data-testid=events] tbody tr").First;
        await Expect(row).ToContainTextAsync("rolled back");
        await Expect(row).ToContainTextAsync(DashboardServer.Actor(key));
        await Expect(row).ToContainTextAsync("payments looked worse in the canary");

        // The runtime serving the tenant changed in the same request; the REST API and the store agree.
        Assert.Null(runtime.Rollout.State.CandidateSnapshotId);
        Assert.Equal(RolloutStage.None, runtime.Rollout.State.Stage);
        using var api = _server.CreateClient(key);
        var status = await api.GetFromJsonAsync<JsonElement>("/api/rollout", TestContext.Current.CancellationToken);
        var state = status.GetProperty("state");
        Assert.Equal(JsonValueKind.Null, state.TryGetProperty("candidateSnapshotId", out var candidate) ? candidate.ValueKind : JsonValueKind.Null);
        Assert.Equal(stable, state.GetProperty("stableSnapshotId").GetString());
        var entry = (await _server.AuditAsync()).Last();
        Assert.Equal((AuditActions.SnapshotRolledBack, older, DashboardServer.Actor(key), "payments looked worse in the canary"), (entry.Action, entry.Subject, entry.Actor, entry.Reason));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_serves_an_older_snapshot_to_everyone_with_a_reason()
    {
        var key = await _server.CreateKeyAsync(ApiKeyRole.Admin);
        var stable = (await _server.Store.GetRolloutAsync(Tenants.Default, TestContext.Current.CancellationToken)).StableSnapshotId;
        var older = (await _server.Store.ListSnapshotsAsync(Tenants.Default, TestContext.Current.CancellationToken)).First(s => s.Id != stable).Id;
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);
        await page.GetByTestId("rollback-to").Locator("select").SelectOptionAsync(older);
        await DashboardBrowsing.ActAsync(page, "rollback-to", "the latest promotion broke refunds");

        await Expect(page.GetByTestId("stable")).ToHaveTextAsync(older);
        Assert.Equal(older, (await _server.RuntimeAsync()).Rollout.State.StableSnapshotId);
        Assert.Equal(older, await _server.Store.GetActiveSnapshotIdAsync(Tenants.Default, TestContext.Current.CancellationToken));
        var entry = (await _server.AuditAsync()).Last();
        Assert.Equal((AuditActions.SnapshotRolledBack, DashboardServer.Actor(key), "the latest promotion broke refunds"), (entry.Action, entry.Actor, entry.Reason));
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_freezes_with_a_reason_promotion_is_then_refused_and_unfreezing_is_audited_too()
    {
        var key = await _server.CreateKeyAsync(ApiKeyRole.Admin);
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, key);

        await DashboardBrowsing.ActAsync(page, "freeze", "incident 4711: refunds misbehaving");
        await Expect(page.GetByTestId("done")).ToContainTextAsync($"frozen default by {DashboardServer.Actor(key)}");
        await Expect(page.GetByTestId("frozen")).ToContainTextAsync("frozen");
        await Expect(page.GetByTestId("rollout")).ToContainTextAsync("incident 4711: refunds misbehaving");
        await Expect(page.GetByTestId("freeze")).ToHaveCountAsync(0);
        await Expect(page.GetByTestId("unfreeze")).ToBeVisibleAsync();
        await Screenshots.TakeAsync(page, "frozen");

        using var api = _server.CreateClient(key);
        var state = (await api.GetFromJsonAsync<JsonElement>("/api/rollout", TestContext.Current.CancellationToken)).GetProperty("state");
        Assert.True(state.GetProperty("frozen").GetBoolean());
        Assert.Equal("incident 4711: refunds misbehaving", state.GetProperty("frozenReason").GetString());
        Assert.True((await _server.RuntimeAsync()).Rollout.State.Frozen);
        var frozen = (await _server.AuditAsync()).Last();
        Assert.Equal((AuditActions.Frozen, DashboardServer.Actor(key), "incident 4711: refunds misbehaving"), (frozen.Action, frozen.Actor, frozen.Reason));

        // While frozen, a posted rollback (the form is no longer offered) is refused by the rollout, and says why.
        var token = await page.GetByTestId("unfreeze").Locator("input[type=hidden]").First.GetAttributeAsync("value");
        var tokenName = await page.GetByTestId("unfreeze").Locator("input[type=hidden]").First.GetAttributeAsync("name");
        var older = (await _server.Store.ListSnapshotsAsync(Tenants.Default, TestContext.Current.CancellationToken)).Last().Id;
        var refused = await page.APIRequest.PostAsync("/dashboard/rollout/rollback", new APIRequestContextOptions
        {
            Form = page.APIRequest.CreateFormData().Set(tokenName!, token!).Set("reason", "try anyway").Set("to", older),
            MaxRedirects = 0,
        });
        Assert.Equal(409, refused.Status);
        Assert.Contains("frozen", await refused.TextAsync(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(frozen.Sequence, (await _server.AuditAsync()).Last().Sequence);

        await DashboardBrowsing.ActAsync(page, "unfreeze", "incident 4711 closed");
        await Expect(page.GetByTestId("frozen")).ToHaveTextAsync("no");
        var unfrozen = (await _server.AuditAsync()).Last();
        Assert.Equal((AuditActions.Unfrozen, DashboardServer.Actor(key), "incident 4711 closed"), (unfrozen.Action, unfrozen.Actor, unfrozen.Reason));

        // Both changes are on the audit page, which still verifies.
        await page.GotoAsync("/dashboard/audit");
        await Expect(page.GetByTestId("audit-status")).ToContainTextAsync("Verified");
        await Expect(page.Locator($"tr[data-sequence='{frozen.Sequence}']")).ToContainTextAsync("incident 4711: refunds misbehaving");
        await Expect(page.Locator($"tr[data-sequence='{unfrozen.Sequence}']")).ToContainTextAsync("incident 4711 closed");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_open_page_reloads_itself_when_the_rollout_changes_elsewhere()
    {
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, await _server.CreateKeyAsync(ApiKeyRole.Agent));
        await Expect(page.GetByTestId("frozen")).ToHaveTextAsync("no");

        // Another operator freezes through the engine (as `lore freeze` would); the page polls and reloads by itself.
        var runtime = await _server.RuntimeAsync();
        await runtime.Rollout.FreezeAsync("cli:alice", "change freeze for the release", TestContext.Current.CancellationToken);
        await Expect(page.GetByTestId("frozen")).ToContainTextAsync("frozen", new() { Timeout = 30_000 });
        await Expect(page.GetByTestId("rollout")).ToContainTextAsync("change freeze for the release");
        await page.Context.CloseAsync();
    }
}
