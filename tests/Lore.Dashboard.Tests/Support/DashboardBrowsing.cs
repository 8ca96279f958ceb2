using Microsoft.Playwright;
using Xunit;

namespace Lore.Dashboard.Tests.Support;

/// <summary>What a person does in the dashboard, as Playwright steps.</summary>
internal static class DashboardBrowsing
{
    /// <summary>Signs in on the sign-in page by pasting the key, as a person would; ends on the timeline.</summary>
    public static async Task SignInAsync(IPage page, string key)
    {
        await page.GotoAsync("/dashboard/sign-in");
        await page.FillAsync("#key", key);
        await page.ClickAsync("button[type=submit]");
        await page.WaitForURLAsync("**/dashboard");
        Assert.Equal("Timeline", await page.InnerTextAsync("h1"));
    }

    /// <summary>
    /// Opens <paramref name="url"/> from a live page. The dashboard reloads itself when its data change, and a reload
    /// that starts just as the test navigates aborts that navigation (net::ERR_ABORTED), as a person's click would
    /// be; so an aborted navigation is made again, a few times at most.
    /// </summary>
    public static async Task GotoAsync(IPage page, string url)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await page.GotoAsync(url);
                return;
            }
            catch (PlaywrightException e) when (attempt < 5 && e.Message.Contains("ERR_ABORTED", StringComparison.Ordinal))
            {
                // the page's own reload won the race; navigate again
            }
        }
    }

    /// <summary>
    /// Fills the reason of the form marked <paramref name="testId"/> (within <paramref name="scope"/>, default the page),
    /// submits it and waits for the page that confirms it (a done action returns with <c>?done=N</c>).
    /// </summary>
    public static async Task ActAsync(IPage page, string testId, string reason, ILocator? scope = null)
    {
        var form = (scope ?? page.Locator("body")).GetByTestId(testId);
        await form.Locator("input[name=reason]").FillAsync(reason);
        var before = page.Url;
        await Task.WhenAll(
            page.WaitForURLAsync(url => url != before && url.Contains("done=", StringComparison.Ordinal)),
            form.Locator("button[type=submit]").ClickAsync());
    }
}
