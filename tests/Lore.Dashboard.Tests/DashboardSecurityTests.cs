using System.Net;
using Lore.Dashboard.Tests.Support;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

/// <summary>Who may see and do what: the dashboard shares the API's keys, tenants and roles, and treats every text as hostile.</summary>
public sealed class DashboardSecurityTests(DriftStore drift, ChromiumBrowser chromium) : IAsyncLifetime
{
    private DashboardServer _server = null!;

    public async ValueTask InitializeAsync() => _server = await DashboardServer.StartAsync(drift);

    public async ValueTask DisposeAsync() => await _server.DisposeAsync();

    [Fact]
    public async Task A_page_without_a_key_sends_the_browser_to_sign_in_and_back()
    {
        using var anonymous = _server.CreateClient();
        using var response = await anonymous.GetAsync("/dashboard/outcomes?buckets=12", TestContext.Current.CancellationToken);
        Assert.Equal(HttpStatusCode.Redirect, response.StatusCode);
        Assert.Equal("/dashboard/sign-in?returnUrl=%2Fdashboard%2Foutcomes%3Fbuckets%3D12", response.Headers.Location!.OriginalString);

        var page = await chromium.NewPageAsync(_server);
        await page.GotoAsync("/dashboard/audit");
        await page.FillAsync("#key", await _server.CreateKeyAsync(ApiKeyRole.Agent));
        await Task.WhenAll(page.WaitForURLAsync("**/dashboard/audit"), page.ClickAsync("button[type=submit]"));
        await Expect(page.Locator("h1")).ToHaveTextAsync("Audit log");
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Sign_in_refuses_a_wrong_key_and_keeps_a_good_one_in_an_HttpOnly_SameSite_Strict_cookie_until_sign_out()
    {
        var page = await chromium.NewPageAsync(_server);
        var key = await _server.CreateKeyAsync(ApiKeyRole.Reviewer);
        var wrong = key[..^4] + (key.EndsWith("AAAA", StringComparison.Ordinal) ? "BBBB" : "AAAA");

        await page.GotoAsync("/dashboard/sign-in");
        await page.FillAsync("#key", wrong);
        await page.ClickAsync("button[type=submit]");
        await Expect(page.GetByTestId("sign-in-error")).ToHaveTextAsync("Unknown or revoked API key.");
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "lore_key");

        await DashboardBrowsing.SignInAsync(page, key);
        await Expect(page.GetByTestId("role")).ToHaveTextAsync("reviewer");
        var cookie = Assert.Single(await page.Context.CookiesAsync(), c => c.Name == "lore_key");
        Assert.True(cookie.HttpOnly);
        Assert.Equal(SameSiteAttribute.Strict, cookie.SameSite);
        Assert.Equal("/dashboard", cookie.Path);
        Assert.DoesNotContain("lore_key", await page.EvaluateAsync<string>("document.cookie"), StringComparison.Ordinal);

        await Task.WhenAll(page.WaitForURLAsync("**/dashboard/sign-in"), page.ClickAsync("header form button"));
        Assert.DoesNotContain(await page.Context.CookiesAsync(), c => c.Name == "lore_key");
        await page.GotoAsync("/dashboard");
        await Expect(page.Locator("#key")).ToBeVisibleAsync();
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_agent_key_sees_no_action_buttons_and_its_forged_posts_change_nothing()
    {
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, await _server.CreateKeyAsync(ApiKeyRole.Agent));
        var waiting = drift.Report.Quarantined.First(q => q.Status == LessonStatus.PendingReview);

        await Expect(page.GetByTestId("role")).ToHaveTextAsync("agent");
        await Expect(page.GetByTestId("rollout")).ToBeVisibleAsync();
        await Expect(page.Locator("form[action^='/dashboard/rollout']")).ToHaveCountAsync(0);
        await page.GotoAsync("/dashboard/review");
        await Expect(page.Locator($"[data-review='{waiting.Id}']")).ToBeVisibleAsync();
        await Expect(page.Locator("form[action^='/dashboard/review']")).ToHaveCountAsync(0);
        await page.GotoAsync($"/dashboard/lessons/{waiting.Id}");
        await Expect(page.GetByTestId("lesson-status")).ToHaveTextAsync("pending review");
        await Expect(page.GetByTestId("review-actions")).ToHaveCountAsync(0);
        await Screenshots.TakeAsync(page, "agent-view");

        // A valid antiforgery token of the agent's own session (from the sign-out form) does not make the actions its.
        var token = await page.Locator("header form input[type=hidden]").GetAttributeAsync("value");
        var tokenName = await page.Locator("header form input[type=hidden]").GetAttributeAsync("name");
        var auditBefore = (await _server.AuditAsync()).Count;
        foreach (var action in new[] { "/dashboard/rollout/freeze", "/dashboard/rollout/rollback", "/dashboard/rollout/promote", $"/dashboard/review/{waiting.Id}/approve" })
        {
            var response = await page.APIRequest.PostAsync(action, new APIRequestContextOptions
            {
                Form = page.APIRequest.CreateFormData().Set(tokenName!, token!).Set("reason", "forged by an agent key"),
                MaxRedirects = 0,
            });
            Assert.Equal(403, response.Status);
        }

        var rollout = await _server.Store.GetRolloutAsync(Tenants.Default, TestContext.Current.CancellationToken);
        Assert.False(rollout.Frozen);
        Assert.Equal(LessonStatus.PendingReview, (await _server.Store.GetLessonAsync(waiting.Id, TestContext.Current.CancellationToken))!.Status);
        Assert.Equal(auditBefore, (await _server.AuditAsync()).Count);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task An_admin_post_without_the_pages_antiforgery_token_or_without_a_reason_is_refused()
    {
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, await _server.CreateKeyAsync(ApiKeyRole.Admin));
        var noToken = await page.APIRequest.PostAsync("/dashboard/rollout/freeze", new APIRequestContextOptions
        {
            Form = page.APIRequest.CreateFormData().Set("reason", "a cross-site request"),
            MaxRedirects = 0,
        });
        Assert.Equal(400, noToken.Status);

        var token = await page.GetByTestId("freeze").Locator("input[type=hidden]").First.GetAttributeAsync("value");
        var tokenName = await page.GetByTestId("freeze").Locator("input[type=hidden]").First.GetAttributeAsync("name");
        var noReason = await page.APIRequest.PostAsync("/dashboard/rollout/freeze", new APIRequestContextOptions
        {
            Form = page.APIRequest.CreateFormData().Set(tokenName!, token!).Set("reason", "   "),
            MaxRedirects = 0,
        });
        Assert.Equal(400, noReason.Status);
        Assert.Contains("A reason is required", await noReason.TextAsync(), StringComparison.Ordinal);

        Assert.False((await _server.Store.GetRolloutAsync(Tenants.Default, TestContext.Current.CancellationToken)).Frozen);
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task Hostile_text_in_an_episode_is_shown_as_text_and_never_runs()
    {
        const string hostile = "<script>window.__pwned = 1</script><img src=x onerror=\"window.__pwned = 2\"> refund \"now\" & ' quickly";
        var episode = new Episode
        {
            Id = "ep-hostile-1",
            Tenant = Tenants.Default,
            UnitKey = "<b>unit</b>",
            Task = hostile,
            Labels = System.Collections.Immutable.ImmutableSortedDictionary<string, string>.Empty.Add("slice", "<i>refunds</i>"),
            StartedAt = DateTimeOffset.UtcNow,
            EndedAt = DateTimeOffset.UtcNow,
            Steps = [Step.Tool(0, "lookup_order", "{\"id\":\"</pre><script>window.__pwned=3</script>\"}", "Error: <svg onload=window.__pwned=4>")],
            Outcomes = [Outcome.Failure(OutcomeSource.User, actor: "<u>someone</u>", comment: "<script>window.__pwned=5</script>")],
        };
        await using (var import = await _server.Store.BeginImportAsync(TestContext.Current.CancellationToken))
        {
            await import.AddAsync(episode, TestContext.Current.CancellationToken);
            await import.CommitAsync(TestContext.Current.CancellationToken);
        }

        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, await _server.CreateKeyAsync(ApiKeyRole.Agent));
        await page.GotoAsync($"/dashboard/episodes/{episode.Id}");
        await Expect(page.GetByTestId("task")).ToHaveTextAsync(hostile);
        await Expect(page.GetByTestId("trajectory")).ToContainTextAsync("Error: <svg onload=window.__pwned=4>");
        await Expect(page.GetByTestId("outcomes")).ToContainTextAsync("<script>window.__pwned=5</script>");
        await page.GotoAsync("/dashboard/episodes?outcome=failure");
        await Expect(page.Locator("[data-testid=episodes]")).ToContainTextAsync("<i>refunds</i>");

        Assert.Null(await page.EvaluateAsync<int?>("window.__pwned ?? null"));
        Assert.Equal(0, await page.Locator("main script, main img, main svg").CountAsync());
        await page.Context.CloseAsync();
    }

    [Fact]
    public async Task A_key_of_another_tenant_sees_none_of_this_tenants_lessons_episodes_or_snapshots()
    {
        var lesson = drift.Report.Lessons[0].Id;
        var episode = drift.Report.Episodes[0].EpisodeId;
        var snapshot = drift.Report.FinalSnapshotId!;
        var page = await chromium.NewPageAsync(_server);
        await DashboardBrowsing.SignInAsync(page, await _server.CreateKeyAsync(ApiKeyRole.Admin, tenant: "other"));

        await Expect(page.GetByTestId("tenant")).ToHaveTextAsync("other");
        await Expect(page.GetByTestId("stable")).ToHaveTextAsync("(none)");
        foreach (var path in new[] { $"/dashboard/lessons/{lesson}", $"/dashboard/episodes/{episode}", $"/dashboard/snapshots/{snapshot}" })
        {
            var response = await page.GotoAsync(path);
            Assert.Equal(404, response!.Status);
            await Expect(page.GetByTestId("not-found")).ToContainTextAsync("for tenant 'other'");
        }

        await page.GotoAsync("/dashboard/lessons");
        await Expect(page.GetByTestId("lesson-count")).ToHaveTextAsync("0 of 0 lessons");

        // Serving another tenant's snapshot is refused by name, and nothing changes for either tenant.
        await page.GotoAsync("/dashboard");
        var token = await page.GetByTestId("freeze").Locator("input[type=hidden]").First.GetAttributeAsync("value");
        var tokenName = await page.GetByTestId("freeze").Locator("input[type=hidden]").First.GetAttributeAsync("name");
        var forged = await page.APIRequest.PostAsync("/dashboard/rollout/rollback", new APIRequestContextOptions
        {
            Form = page.APIRequest.CreateFormData().Set(tokenName!, token!).Set("reason", "take theirs").Set("to", snapshot),
            MaxRedirects = 0,
        });
        Assert.Equal(404, forged.Status);
        Assert.Null((await _server.Store.GetRolloutAsync("other", TestContext.Current.CancellationToken)).StableSnapshotId);
        await page.Context.CloseAsync();
    }
}
