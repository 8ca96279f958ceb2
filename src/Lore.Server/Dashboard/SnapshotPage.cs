using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>One snapshot: who made it and why, what it serves, what changed from its parent, and its rollout history.</summary>
internal static class SnapshotPage
{
    public static async Task<IResult> RenderAsync(HttpContext http, string id)
    {
        var d = DashboardContext.From(http);
        var snapshot = await d.Store.GetSnapshotAsync(id, d.Aborted).ConfigureAwait(false);
        if (snapshot is null || snapshot.Tenant != d.Tenant)
        {
            return await DashboardPages.NotFoundAsync(d, "timeline", $"No snapshot '{id}' for tenant '{d.Tenant}'.").ConfigureAwait(false);
        }

        var rollout = await d.Store.GetRolloutAsync(d.Tenant, d.Aborted).ConfigureAwait(false);
        var serving = snapshot.Id == rollout.StableSnapshotId ? "stable: served to every unit outside a canary"
            : snapshot.Id == rollout.CandidateSnapshotId ? $"candidate ({rollout.Stage.ToString().ToLowerInvariant()})"
            : "not served";
        var history = new List<AuditEntry>();
        await foreach (var entry in AuditTrail.MentioningAsync(d.Store, snapshot.Id, d.Tenant, d.Aborted).ConfigureAwait(false))
        {
            history.Add(entry);
        }

        // The candidate in canary: one sentence on whether it improved the target or shifted the errors.
        var verdict = Html.Empty;
        if (snapshot.Id == rollout.CandidateSnapshotId && rollout.Stage == RolloutStage.Canary)
        {
            var status = await RolloutStatus.ReadAsync(d.Store, d.Tenant, d.Runtimes.OptionsFor(d.Tenant).Evaluation, d.Aborted).ConfigureAwait(false);
            if (status is { Evaluation: { } evaluation, Shift: { } shift })
            {
                verdict = H.Of($"""<p class="card" data-testid="shift-verdict">{shift.Verdict(evaluation.Overall.Comparison)} <a href="/dashboard/error-mix">Error mix</a></p>""");
            }
        }

        Html diff = Html.Empty;
        if (snapshot.ParentId is { } parent && await d.Store.GetSnapshotAsync(parent, d.Aborted).ConfigureAwait(false) is { } parentSnapshot && parentSnapshot.Tenant == d.Tenant)
        {
            var changes = SnapshotDiff.Compare(parentSnapshot, snapshot);
            var added = changes.Added.Select(l => H.Of($"<li>added {LessonsPage.Link(l.Id)}: {H.Short(l.Text, 160)}</li>"));
            var removed = changes.Removed.Select(l => H.Of($"<li>removed {LessonsPage.Link(l.Id)}: {H.Short(l.Text, 160)}</li>"));
            var changed = changes.Changed.Select(c => H.Of($"<li>changed {LessonsPage.Link(c.LessonId)}: {string.Join(", ", c.Fields.Select(f => f.Field))}</li>"));
            diff = H.Of($"""
                <h2>Changes from its parent {TimelinePage.SnapshotLink(parent)}</h2>
                <ul data-testid="diff">{added}{removed}{changed}</ul>
                {(changes.IsEmpty ? H.Of($"<p class=\"muted\">Same lessons and settings as the parent.</p>") : Html.Empty)}
                """);
        }

        var lessons = snapshot.Lessons.Select(l => H.Of($"""
            <tr><td class="mono">{LessonsPage.Link(l.Id)}</td><td>{DashboardText.Kind(l.Kind)}</td><td>{l.Evidence.EpisodeCount}</td><td>{l.Confidence:0.00}</td><td>{H.Short(l.Text, 240)}</td></tr>
            """));
        var body = H.Of($"""
            <section class="card">
              <dl class="facts">
                <dt>id</dt><dd class="mono" data-testid="snapshot-id">{snapshot.Id} {(snapshot.IsIntact ? H.Of($"<span class=\"tag good\">content address verified</span>") : H.Of($"<span class=\"tag bad\">content does not match its id</span>"))}</dd>
                <dt>serving</dt><dd>{serving}</dd>
                <dt>parent</dt><dd class="mono">{TimelinePage.SnapshotLink(snapshot.ParentId)}</dd>
                <dt>created</dt><dd>{H.Time(snapshot.CreatedAt)} by {snapshot.CreatedBy}</dd>
                <dt>reason</dt><dd>{snapshot.Reason}</dd>
                <dt>retrieval</dt><dd>top {snapshot.Settings.TopK}, min score {snapshot.Settings.MinScore:0.00}, budget {snapshot.Settings.TokenBudget} tokens</dd>
              </dl>
            </section>
            {verdict}
            {diff}
            <h2>Lessons served ({snapshot.Lessons.Count})</h2>
            <table><thead><tr><th>lesson</th><th>kind</th><th>episodes</th><th>confidence</th><th>text</th></tr></thead><tbody>{lessons}</tbody></table>
            <h2>History</h2>
            {AuditPage.Table(history, highlight: null)}
            """);
        return await DashboardLayout.PageAsync(d, "timeline", "Snapshot " + snapshot.Id, body).ConfigureAwait(false);
    }
}
