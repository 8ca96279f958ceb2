using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The tenant's audit records, newest first, under the verdict of <see cref="AuditVerifier"/> on the tenant's own hash
/// chain (what <c>lore audit verify --tenant</c> prints), with the head to pin elsewhere. Records are numbered by that
/// chain, so nothing on the page reveals other tenants' activity.
/// </summary>
internal static class AuditPage
{
    private const int PageSize = 200;

    public static async Task<IResult> RenderAsync(HttpContext http, long? before, long? highlight)
    {
        var d = DashboardContext.From(http);
        var verification = await AuditVerifier.VerifyTenantAsync(d.Store, d.Tenant, cancellationToken: d.Aborted).ConfigureAwait(false);
        var mine = new List<AuditEntry>();
        await foreach (var entry in d.Store.ReadTenantAuditAsync(d.Tenant, 0, d.Aborted).ConfigureAwait(false))
        {
            mine.Add(entry);
        }

        var shown = mine.Where(e => before is null || e.Sequence < before).Reverse().Take(PageSize).ToList();
        var older = shown.Count == PageSize && mine.Count > 0 && shown[^1].Sequence > mine[0].Sequence
            ? H.Of($"<p><a href=\"/dashboard/audit?before={shown[^1].Sequence}\">Older records</a></p>")
            : Html.Empty;

        Html status;
        if (verification.Fault is { } fault)
        {
            var description = fault.Description;
            status = H.Of($"<p class=\"banner bad\" role=\"alert\" data-testid=\"audit-status\"><strong>The audit log does not verify</strong> at record {fault.Sequence} ({fault.Kind.ToString().ToLowerInvariant()}): {description}</p>");
        }
        else
        {
            status = H.Of($"<p class=\"banner ok\" data-testid=\"audit-status\"><strong>Verified</strong>: {verification.Records} records, every hash and link intact. Head <code data-testid=\"audit-head\">{verification.Head.ToString()}</code>; pin it elsewhere and check later with <code>lore audit verify --tenant {d.Tenant} --expect-head</code>.</p>");
        }

        var body = H.Of($"""
            {status}
            <p class="muted">{mine.Count} records of tenant {d.Tenant}, newest first.</p>
            {Table(shown, highlight)}
            {older}
            """);
        return await DashboardLayout.PageAsync(d, "audit", "Audit log", body).ConfigureAwait(false);
    }

    /// <summary>Audit records as a table; the evidence links (details) fold open.</summary>
    public static Html Table(IEnumerable<AuditEntry> entries, long? highlight)
    {
        var list = entries.ToList();
        if (list.Count == 0)
        {
            return H.Of($"<p class=\"muted\">No audit record.</p>");
        }

        var rows = list.Select(e => H.Of($"""
            <tr id="a{e.Sequence}" data-sequence="{e.Sequence}"{(e.Sequence == highlight ? H.Of($" class=\"highlight\"") : Html.Empty)}>
              <td>{e.Sequence}</td>
              <td>{H.Time(e.At)}</td>
              <td><span class="tag {DashboardText.Tone(e.Action)}">{e.Action}</span></td>
              <td class="mono">{e.Subject}</td>
              <td>{e.Actor}</td>
              <td>{H.Short(e.Reason, 240)}</td>
              <td>{(e.DetailsJson.Length <= 2 ? Html.Empty : H.Of($"<details><summary>evidence</summary><pre>{e.DetailsJson}</pre></details>"))}</td>
            </tr>
            """));
        return H.Of($"""
            <table data-testid="audit">
              <thead><tr><th>#</th><th>when (UTC)</th><th>action</th><th>subject</th><th>actor</th><th>reason</th><th>details</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
    }
}
