using System.Globalization;
using System.Text;
using Lore.Server.Security;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The chrome around every dashboard page (navigation, who is signed in, sign-out, the live-refresh marker and the
/// banner confirming an action) and the response that carries it, with headers that keep the page from loading
/// anything but its own stylesheet and script.
/// </summary>
internal static class DashboardLayout
{
    private static readonly (string Section, string Title, string Path)[] Sections =
    [
        ("timeline", "Timeline", "/dashboard"),
        ("outcomes", "Outcomes", "/dashboard/outcomes"),
        ("error-mix", "Error mix", "/dashboard/error-mix"),
        ("lessons", "Lessons", "/dashboard/lessons"),
        ("episodes", "Episodes", "/dashboard/episodes"),
        ("review", "Review", "/dashboard/review"),
        ("audit", "Audit", "/dashboard/audit"),
    ];

    /// <summary>A full page for a signed-in caller.</summary>
    public static async Task<IResult> PageAsync(DashboardContext d, string section, string title, Html body, int status = StatusCodes.Status200OK)
    {
        var live = await LiveVersion.ComputeAsync(d.Store, d.Tenant, d.Aborted).ConfigureAwait(false);
        var pending = (await DashboardActions.OpenReviewQueue(d).ListAsync(d.Aborted).ConfigureAwait(false)).Count;
        var banner = await DoneBannerAsync(d).ConfigureAwait(false);
        var integrity = IntegrityBanner(await d.RuntimeAsync().ConfigureAwait(false));
        var nav = Sections.Select(s =>
        {
            var count = s.Section == "review" && pending > 0 ? H.Of($" <span class=\"count\">{pending}</span>") : Html.Empty;
            var current = s.Section == section ? H.Of($" aria-current=\"page\"") : Html.Empty;
            return H.Of($"<a href=\"{s.Path}\"{current}>{s.Title}{count}</a>");
        });
        var role = LorePolicies.RoleName(d.Caller.Role);
        var page = H.Of($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <meta name="lore-live" content="{live}">
            <title>{title} · Lore</title>
            <link rel="stylesheet" href="{DashboardAssets.StylesheetPath}">
            <script src="{DashboardAssets.ScriptPath}" defer></script>
            </head>
            <body>
            <header class="top">
              <a class="brand" href="/dashboard">Lore</a>
              <nav>{nav}</nav>
              <div class="who">
                <span>tenant <strong data-testid="tenant">{d.Tenant}</strong></span>
                <span>{d.Caller.Actor} <span class="role role-{role}" data-testid="role">{role}</span></span>
                <label class="live" title="Reload this page when something changes"><input type="checkbox" id="live-toggle" checked> live</label>
                <form method="post" action="/dashboard/sign-out" class="inline">{d.AntiforgeryField()}<button type="submit" class="link">Sign out</button></form>
              </div>
            </header>
            <main>
            {integrity}
            {banner}
            <h1>{title}</h1>
            {body}
            </main>
            </body>
            </html>
            """);
        return new HtmlResult(page, status);
    }

    /// <summary>A page for someone not signed in (the sign-in form).</summary>
    public static IResult Bare(string title, Html body, int status = StatusCodes.Status200OK)
    {
        var page = H.Of($"""
            <!DOCTYPE html>
            <html lang="en">
            <head>
            <meta charset="utf-8">
            <meta name="viewport" content="width=device-width, initial-scale=1">
            <title>{title} · Lore</title>
            <link rel="stylesheet" href="{DashboardAssets.StylesheetPath}">
            </head>
            <body class="bare">
            <main>
            {body}
            </main>
            </body>
            </html>
            """);
        return new HtmlResult(page, status);
    }

    /// <summary>
    /// A snapshot refused for serving (its stored content does not match its content address) is shown on every page
    /// until the process restarts: someone changed learned state outside Lore, and the tenant is served the last
    /// verified snapshot meanwhile.
    /// </summary>
    private static Html IntegrityBanner(LoreRuntime runtime)
    {
        var alarms = runtime.Rollout.IntegrityAlarms;
        if (alarms.Count == 0)
        {
            return Html.Empty;
        }

        var items = alarms.Select(a => H.Of($"<li>Snapshot <code>{a.SnapshotId}</code> does not match its content address (its stored content hashes to <code>{a.StoredContentAddress ?? "?"}</code>); refused at {a.At.ToString("u", CultureInfo.InvariantCulture)}, still serving <code>{a.StillServing ?? "the last verified snapshot"}</code>.</li>"));
        return H.Of($"<div class=\"banner bad\" role=\"alert\" data-testid=\"integrity-alarm\"><strong>Learned state was changed outside Lore.</strong> Run <code>lore audit verify</code>.<ul>{items}</ul></div>");
    }

    /// <summary>After an action the browser is sent back with <c>?done=N</c>: the page confirms it from the audit record itself, so a link cannot fake it.</summary>
    private static async Task<Html> DoneBannerAsync(DashboardContext d)
    {
        if (!long.TryParse(d.Http.Request.Query["done"], NumberStyles.None, CultureInfo.InvariantCulture, out var sequence) || sequence < 1)
        {
            return Html.Empty;
        }

        await foreach (var entry in d.Store.ReadTenantAuditAsync(d.Tenant, sequence - 1, d.Aborted).ConfigureAwait(false))
        {
            if (entry.Sequence == sequence && entry.Tenant == d.Tenant)
            {
                return H.Of($"<p class=\"banner ok\" role=\"status\" data-testid=\"done\">Done: <strong>{DashboardText.Action(entry.Action)}</strong> {entry.Subject} by {entry.Actor}. Recorded as <a href=\"/dashboard/audit#a{entry.Sequence}\">audit record {entry.Sequence}</a>.</p>");
            }

            break;
        }

        return Html.Empty;
    }
}

/// <summary>An HTML response with the dashboard's security headers.</summary>
internal sealed class HtmlResult(Html page, int status) : IResult
{
    public const string ContentSecurityPolicy =
        "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self' data:; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

    public Task ExecuteAsync(HttpContext httpContext)
    {
        ArgumentNullException.ThrowIfNull(httpContext);
        var response = httpContext.Response;
        response.StatusCode = status;
        response.ContentType = "text/html; charset=utf-8";
        var headers = response.Headers;
        headers.CacheControl = "no-store";
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        return response.WriteAsync(page.Value, Encoding.UTF8, httpContext.RequestAborted);
    }
}
