using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// What is served now and how it got there: the rollout (stable, candidate, stage, freeze) with the admin's controls,
/// every rollout event (created, shadow, canary, promoted, rolled back, frozen) and quarantine from the audit log with
/// its actor and reason, and the snapshots themselves.
/// </summary>
internal static class TimelinePage
{
    /// <summary>The audit actions the timeline tells; admissions of single lessons are left to the audit page.</summary>
    private static readonly HashSet<string> Told = new(StringComparer.Ordinal)
    {
        AuditActions.SnapshotCreated, AuditActions.SnapshotShadow, AuditActions.SnapshotCanary, AuditActions.CanaryGatePassed,
        AuditActions.CanaryGateFailed, AuditActions.SnapshotPromoted, AuditActions.SnapshotRolledBack, AuditActions.Frozen,
        AuditActions.Unfrozen, AuditActions.LessonRejected, AuditActions.LessonQueuedForReview, AuditActions.LessonRetired,
        AuditActions.ReviewApproved, AuditActions.ReviewRejected, AuditActions.EpisodesDeleted, AuditActions.RetentionApplied,
        AuditActions.ConfigurationChanged,
    };

    public static async Task<IResult> RenderAsync(HttpContext http)
    {
        var d = DashboardContext.From(http);
        var rollout = await d.Store.GetRolloutAsync(d.Tenant, d.Aborted).ConfigureAwait(false);
        var snapshots = await d.Store.ListSnapshotsAsync(d.Tenant, d.Aborted).ConfigureAwait(false);
        var events = new List<AuditEntry>();
        await foreach (var entry in d.Store.ReadAuditAsync(0, d.Aborted).ConfigureAwait(false))
        {
            if (entry.Tenant == d.Tenant && Told.Contains(entry.Action))
            {
                events.Add(entry);
            }
        }

        events.Reverse();
        var body = H.Of($"""
            {State(d, rollout, snapshots)}
            <h2>Events <span class="muted">({events.Count}, newest first)</span></h2>
            {Events(events, snapshots)}
            <h2>Snapshots <span class="muted">({snapshots.Count}, newest first)</span></h2>
            {Snapshots(snapshots, rollout)}
            """);
        return await DashboardLayout.PageAsync(d, "timeline", "Timeline", body).ConfigureAwait(false);
    }

    private static Html State(DashboardContext d, RolloutState rollout, IReadOnlyList<SnapshotSummary> snapshots)
    {
        var stage = rollout.Stage switch
        {
            RolloutStage.Canary => H.Of($"<span class=\"tag warn\">canary</span> {H.Percent(rollout.CanaryShare)} of units get the candidate"),
            RolloutStage.Shadow => H.Of($"<span class=\"tag warn\">shadow</span> the candidate is retrieved and logged, never injected"),
            _ => H.Of($"<span class=\"tag\">none</span> every unit gets the stable snapshot"),
        };
        var frozen = rollout.Frozen
            ? H.Of($"<span class=\"tag info\" data-testid=\"frozen\">frozen</span> {rollout.FrozenReason}")
            : H.Of($"<span data-testid=\"frozen\">no</span>");
        var updated = rollout.Version == 0
            ? H.Text("never changed")
            : H.Of($"version {rollout.Version}, {H.Time(rollout.UpdatedAt)} by {rollout.UpdatedBy}");
        return H.Of($"""
            <section class="card" data-testid="rollout">
              <dl class="facts">
                <dt>stable</dt><dd data-testid="stable">{SnapshotLink(rollout.StableSnapshotId)}</dd>
                <dt>candidate</dt><dd data-testid="candidate">{SnapshotLink(rollout.CandidateSnapshotId)}</dd>
                <dt>stage</dt><dd data-testid="stage">{stage}</dd>
                <dt>frozen</dt><dd>{frozen}</dd>
                <dt>last change</dt><dd>{updated}</dd>
              </dl>
              {(d.CanAdminister ? Controls(d, rollout, snapshots) : Html.Empty)}
            </section>
            """);
    }

    /// <summary>The admin's buttons; each asks for a reason, which goes into the audit log with the key as actor.</summary>
    private static Html Controls(DashboardContext d, RolloutState rollout, IReadOnlyList<SnapshotSummary> snapshots)
    {
        var forms = new List<Html>();
        if (rollout.Frozen)
        {
            forms.Add(DashboardForms.ReasonForm(d, "/dashboard/rollout/unfreeze", "Unfreeze", "primary", "/dashboard", "why unfreeze (audited)", testId: "unfreeze"));
        }
        else
        {
            forms.Add(DashboardForms.ReasonForm(d, "/dashboard/rollout/freeze", "Freeze", "primary", "/dashboard", "why freeze (audited)", testId: "freeze"));
            if (rollout.CandidateSnapshotId is not null)
            {
                forms.Add(DashboardForms.ReasonForm(d, "/dashboard/rollout/promote", "Promote candidate", "good", "/dashboard", "why promote (audited)", testId: "promote"));
                forms.Add(DashboardForms.ReasonForm(d, "/dashboard/rollout/rollback", "Roll back candidate", "danger", "/dashboard", "why roll back (audited)", testId: "rollback"));
            }

            var older = snapshots.Where(s => s.Id != rollout.StableSnapshotId).ToList();
            if (older.Count > 0)
            {
                var options = older.Select(s => H.Of($"<option value=\"{s.Id}\">{s.Id} · {s.LessonCount} lessons · {s.CreatedAt.ToUniversalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture)}</option>"));
                var select = H.Of($"<select name=\"to\" aria-label=\"snapshot to serve\">{options}</select>");
                forms.Add(DashboardForms.ReasonForm(d, "/dashboard/rollout/rollback", "Serve this snapshot to everyone", "danger", "/dashboard", "why roll back (audited)", select, testId: "rollback-to"));
            }
        }

        return H.Of($"<div class=\"actions\" data-testid=\"rollout-controls\">{forms}</div>");
    }

    private static Html Events(List<AuditEntry> events, IReadOnlyList<SnapshotSummary> snapshots)
    {
        if (events.Count == 0)
        {
            return H.Of($"<p class=\"muted\">Nothing has happened yet: no snapshot was created and no lesson was refused.</p>");
        }

        var known = snapshots.Select(s => s.Id).ToHashSet(StringComparer.Ordinal);
        var rows = events.Select(e => H.Of($"""
            <tr id="a{e.Sequence}" data-action="{e.Action}">
              <td>{H.Time(e.At)}</td>
              <td><span class="tag {DashboardText.Tone(e.Action)}">{DashboardText.Action(e.Action)}</span></td>
              <td class="mono">{SubjectLink(e, known)}</td>
              <td>{e.Actor}</td>
              <td>{H.Short(e.Reason, 220)}</td>
            </tr>
            """));
        return H.Of($"""
            <table data-testid="events">
              <thead><tr><th>when (UTC)</th><th>event</th><th>subject</th><th>actor</th><th>reason</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
    }

    private static Html Snapshots(IReadOnlyList<SnapshotSummary> snapshots, RolloutState rollout)
    {
        if (snapshots.Count == 0)
        {
            return H.Of($"<p class=\"muted\">No snapshot yet: learning has not published anything for this tenant.</p>");
        }

        var rows = snapshots.Select(s =>
        {
            var serving = s.Id == rollout.StableSnapshotId ? H.Of($"<span class=\"tag good\">stable</span>")
                : s.Id == rollout.CandidateSnapshotId ? H.Of($"<span class=\"tag warn\">candidate</span>")
                : Html.Empty;
            return H.Of($"""
                <tr>
                  <td class="mono">{SnapshotLink(s.Id)} {serving}</td>
                  <td class="mono">{SnapshotLink(s.ParentId)}</td>
                  <td>{s.LessonCount}</td>
                  <td>{H.Time(s.CreatedAt)}</td>
                  <td>{s.CreatedBy}</td>
                  <td>{H.Short(s.Reason, 160)}</td>
                </tr>
                """);
        });
        return H.Of($"""
            <table data-testid="snapshots">
              <thead><tr><th>snapshot</th><th>parent</th><th>lessons</th><th>created (UTC)</th><th>by</th><th>reason</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
    }

    private static Html SubjectLink(AuditEntry entry, HashSet<string> snapshots)
    {
        if (snapshots.Contains(entry.Subject))
        {
            return SnapshotLink(entry.Subject);
        }

        return entry.Subject.StartsWith("les-", StringComparison.Ordinal)
            ? H.Of($"<a href=\"{H.Path("lessons", entry.Subject)}\">{entry.Subject}</a>")
            : H.Text(entry.Subject);
    }

    public static Html SnapshotLink(string? id)
        => id is null ? H.Of($"<span class=\"muted\">(none)</span>") : H.Of($"<a href=\"{H.Path("snapshots", id)}\">{id}</a>");
}
