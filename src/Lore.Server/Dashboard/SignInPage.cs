using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Dashboard;

/// <summary>
/// Signing in is pasting an API key: it is checked against the store like any request's key and kept in an HttpOnly,
/// SameSite=Strict cookie scoped to the dashboard, which the server's API-key authentication reads. The browser's
/// script never sees the key, and other sites cannot make the browser send it.
/// </summary>
internal static class SignInPage
{
    public static readonly TimeSpan CookieLifetime = TimeSpan.FromHours(8);

    public static IResult Form(HttpContext http, string? returnUrl)
        => Render(http, returnUrl, error: null, StatusCodes.Status200OK);

    public static async Task<IResult> SubmitAsync(HttpContext http)
    {
        var form = await DashboardForms.ReadAsync(http).ConfigureAwait(false);
        if (form is null)
        {
            return Render(http, null, "The sign-in form expired or was not sent from this page; try again.", StatusCodes.Status400BadRequest);
        }

        var returnUrl = DashboardForms.ReturnPath(form, "/dashboard");
        var presented = form["key"].ToString().Trim();
        if (presented.Length == 0)
        {
            return Render(http, returnUrl, "Paste an API key (it starts with lore_).", StatusCodes.Status400BadRequest);
        }

        if (!ApiKeyAuthentication.TryParse(presented, out var keyId, out var secret))
        {
            return Render(http, returnUrl, "That is not a Lore API key: keys look like lore_{id}_{secret}.", StatusCodes.Status401Unauthorized);
        }

        var store = http.RequestServices.GetRequiredService<TenantRuntimes>().Store;
        var key = await store.GetApiKeyAsync(keyId, http.RequestAborted).ConfigureAwait(false);
        if (key is null || key.RevokedAt is not null || !key.Matches(secret))
        {
            return Render(http, returnUrl, "Unknown or revoked API key.", StatusCodes.Status401Unauthorized);
        }

        http.Response.Cookies.Append(ApiKeyAuthentication.CookieName, presented, CookieOptions(http, CookieLifetime));
        return Results.Redirect(returnUrl);
    }

    public static async Task<IResult> SignOutAsync(HttpContext http)
    {
        // A sign-out needs the page's token too: otherwise another site could sign the user out.
        if (await DashboardForms.ReadAsync(http).ConfigureAwait(false) is null)
        {
            return Results.Redirect("/dashboard");
        }

        http.Response.Cookies.Delete(ApiKeyAuthentication.CookieName, CookieOptions(http, lifetime: null));
        return Results.Redirect("/dashboard/sign-in");
    }

    private static CookieOptions CookieOptions(HttpContext http, TimeSpan? lifetime) => new()
    {
        HttpOnly = true,
        SameSite = SameSiteMode.Strict,
        Secure = http.Request.IsHttps,
        Path = "/dashboard",
        MaxAge = lifetime,
        IsEssential = true,
    };

    private static IResult Render(HttpContext http, string? returnUrl, string? error, int status)
    {
        var tokens = http.RequestServices.GetRequiredService<IAntiforgery>().GetAndStoreTokens(http);
        var target = DashboardForms.LocalReturnPath(returnUrl, "/dashboard");
        var message = error is null ? Html.Empty : H.Of($"<p class=\"banner bad\" role=\"alert\" data-testid=\"sign-in-error\">{error}</p>");
        return DashboardLayout.Bare("Sign in", H.Of($"""
            <h1>Lore dashboard</h1>
            {message}
            <form method="post" action="/dashboard/sign-in" class="card">
              {DashboardContext.AntiforgeryField(tokens)}
              <input type="hidden" name="return" value="{target}">
              <label for="key">API key</label>
              <input type="password" id="key" name="key" autocomplete="off" required placeholder="lore_…">
              <button type="submit" class="primary">Sign in</button>
              <p class="muted">Keys are created with <code>lore keys create</code>. An agent key can look; a reviewer key can also approve
              and reject lessons; an admin key can also freeze, roll back and promote. The key is kept in an HttpOnly cookie for this dashboard only.</p>
            </form>
            """), status);
    }
}
