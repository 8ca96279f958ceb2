using Microsoft.AspNetCore.Antiforgery;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;

namespace Lore.Server.Dashboard;

/// <summary>
/// The dashboard's POST forms: every one carries an antiforgery token bound to the signed-in key, and every action
/// asks for a reason, because the reason is what the audit log keeps.
/// </summary>
internal static class DashboardForms
{
    public const int MaxReasonLength = 1_000;

    /// <summary>Reads a posted form, or null when it is not a form or its antiforgery token is missing or not this caller's.</summary>
    public static async Task<IFormCollection?> ReadAsync(HttpContext http)
    {
        if (!http.Request.HasFormContentType)
        {
            return null;
        }

        var antiforgery = http.RequestServices.GetRequiredService<IAntiforgery>();
        if (!await antiforgery.IsRequestValidAsync(http).ConfigureAwait(false))
        {
            return null;
        }

        return await http.Request.ReadFormAsync(http.RequestAborted).ConfigureAwait(false);
    }

    /// <summary>The reason given, trimmed; null when blank or too long (the caller says which).</summary>
    public static string? Reason(IFormCollection form)
    {
        var reason = form["reason"].ToString().Trim();
        return reason.Length is 0 or > MaxReasonLength ? null : reason;
    }

    /// <summary>Where to send the browser after an action: a dashboard path given by the form, never another site.</summary>
    public static string ReturnPath(IFormCollection form, string fallback) => LocalReturnPath(form["return"].ToString(), fallback);

    /// <summary>
    /// <paramref name="path"/> when, once its dot segments are resolved (<c>/dashboard/../../x</c> is <c>/x</c>, also
    /// when the dots are percent-encoded), it is still a dashboard page of this server; otherwise <paramref name="fallback"/>.
    /// The resolved path is what is returned, so the browser cannot resolve it differently.
    /// </summary>
    public static string LocalReturnPath(string? path, string fallback)
    {
        if (string.IsNullOrEmpty(path) || !path.StartsWith('/') || path.StartsWith("//", StringComparison.Ordinal)
            || path.Contains('\\', StringComparison.Ordinal) || path.Any(char.IsControl) || !Uri.IsWellFormedUriString(path, UriKind.Relative))
        {
            return fallback;
        }

        var end = path.IndexOfAny(['?', '#']);
        var pathPart = end < 0 ? path : path[..end];
        var rest = end < 0 ? "" : path[end..];
        var segments = new List<string>();
        foreach (var raw in pathPart.Split('/')[1..])
        {
            var segment = Uri.UnescapeDataString(raw);
            if (segment == "..")
            {
                if (segments.Count > 0)
                {
                    segments.RemoveAt(segments.Count - 1);
                }
            }
            else if (segment != ".")
            {
                segments.Add(raw);
            }
        }

        var resolved = "/" + string.Join('/', segments);
        var dashboard = resolved == "/dashboard" || resolved.StartsWith("/dashboard/", StringComparison.Ordinal);
        return dashboard && !resolved.Contains("//", StringComparison.Ordinal) ? resolved + rest : fallback;
    }

    /// <summary>The path with <c>done=N</c> added to its query (and any earlier <c>done</c> dropped).</summary>
    public static string WithDone(string path, long sequence)
    {
        var hash = path.IndexOf('#', StringComparison.Ordinal);
        if (hash >= 0)
        {
            path = path[..hash];
        }

        var question = path.IndexOf('?', StringComparison.Ordinal);
        var basePath = question < 0 ? path : path[..question];
        var query = question < 0 ? [] : path[(question + 1)..].Split('&', StringSplitOptions.RemoveEmptyEntries).Where(p => !p.StartsWith("done=", StringComparison.Ordinal)).ToList();
        query.Add("done=" + sequence.ToString(System.Globalization.CultureInfo.InvariantCulture));
        return basePath + "?" + string.Join('&', query);
    }

    /// <summary>A one-line form that posts a reason (and any extra fields) to an action.</summary>
    public static Html ReasonForm(DashboardContext d, string action, string button, string buttonClass, string returnPath, string placeholder, Html extra = default, string? testId = null)
    {
        var id = testId ?? "";
        return H.Of($"""
            <form method="post" action="{action}" class="action" data-testid="{id}">
              {d.AntiforgeryField()}<input type="hidden" name="return" value="{returnPath}">
              {extra}
              <input type="text" name="reason" required maxlength="{MaxReasonLength}" placeholder="{placeholder}" aria-label="reason">
              <button type="submit" class="{buttonClass}">{button}</button>
            </form>
            """);
    }
}
