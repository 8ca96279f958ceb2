using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// Every lesson of the tenant, searchable, with kind, scope, evidence, measured effect and status; and one lesson's
/// lineage (the same <see cref="Provenance.LessonAsync"/> that <c>lore why</c> prints): the episodes and feedback it
/// came from, its extractor, the guards and reviews, the learning runs and the snapshots that contained it.
/// </summary>
internal static class LessonsPage
{
    public static Html Link(string id) => H.Of($"<a href=\"{H.Path("lessons", id)}\">{id}</a>");

    public static async Task<IResult> ListAsync(HttpContext http, string? q, string? status, string? kind)
    {
        var d = DashboardContext.From(http);
        var all = await d.Store.ListLessonsAsync(new LessonQuery { Tenant = d.Tenant, IncludeRetired = true }, d.Aborted).ConfigureAwait(false);
        var query = (q ?? "").Trim();
        LessonStatus? wantedStatus = Enum.TryParse<LessonStatus>(status, ignoreCase: true, out var s) ? s : null;
        LessonKind? wantedKind = Enum.TryParse<LessonKind>(kind, ignoreCase: true, out var k) ? k : null;
        var shown = all
            .Where(l => wantedStatus is null || DashboardText.EffectiveStatus(l) == wantedStatus)
            .Where(l => wantedKind is null || l.Kind == wantedKind)
            .Where(l => query.Length == 0 || Matches(l, query))
            .OrderBy(l => DashboardText.EffectiveStatus(l))
            .ThenByDescending(l => l.Evidence.EpisodeCount)
            .ThenBy(l => l.Id, StringComparer.Ordinal)
            .ToList();

        var statusOptions = Enum.GetValues<LessonStatus>().Select(v => H.Of($"<option value=\"{v}\"{Selected(v == wantedStatus)}>{DashboardText.Status(v)}</option>"));
        var kindOptions = Enum.GetValues<LessonKind>().Select(v => H.Of($"<option value=\"{v}\"{Selected(v == wantedKind)}>{DashboardText.Kind(v)}</option>"));
        var rows = shown.Select(l =>
        {
            var st = DashboardText.EffectiveStatus(l);
            return H.Of($"""
                <tr data-lesson="{l.Id}">
                  <td class="mono">{Link(l.Id)}</td>
                  <td>{DashboardText.Kind(l.Kind)}</td>
                  <td><span class="tag {StatusTone(st)}">{LessonStatusNames.Of(l)}</span></td>
                  <td>{H.Short(l.Text, 200)}</td>
                  <td>{DashboardText.Scope(l.Scope)}</td>
                  <td>{l.Evidence.EpisodeCount} episodes, {l.Evidence.DistinctSources} sources</td>
                  <td>{DashboardText.Effect(l.Effect)}</td>
                  <td>{l.Confidence:0.00}</td>
                </tr>
                """);
        });
        var body = H.Of($"""
            {(d.CanReview ? H.Of($"<p><a href=\"/dashboard/lessons/new\" data-testid=\"write-lesson\">Write a lesson</a> (a policy the agent must follow)</p>") : Html.Empty)}
            <form method="get" action="/dashboard/lessons" class="filters" role="search">
              <input type="search" name="q" value="{query}" placeholder="search text, id, tool, extractor" aria-label="search lessons">
              <select name="status" aria-label="status"><option value="">any status</option>{statusOptions}</select>
              <select name="kind" aria-label="kind"><option value="">any kind</option>{kindOptions}</select>
              <button type="submit">Search</button>
            </form>
            <p class="muted" data-testid="lesson-count">{shown.Count} of {all.Count} lessons</p>
            <table data-testid="lessons">
              <thead><tr><th>lesson</th><th>kind</th><th>status</th><th>text</th><th>scope</th><th>evidence</th><th>measured effect</th><th>confidence</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
        return await DashboardLayout.PageAsync(d, "lessons", "Lessons", body).ConfigureAwait(false);
    }

    public static async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        var d = DashboardContext.From(http);
        LessonLineage lineage;
        try
        {
            lineage = await Provenance.LessonAsync(d.Store, id, d.Tenant, d.Aborted).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return await DashboardPages.NotFoundAsync(d, "lessons", $"No lesson '{id}' for tenant '{d.Tenant}'.").ConfigureAwait(false);
        }

        var lesson = lineage.Lesson;
        var status = DashboardText.EffectiveStatus(lesson);
        var e = lesson.Evidence;
        var measured = string.Create(CultureInfo.InvariantCulture, $"{e.EpisodeCount} episodes from {e.DistinctSources} distinct sources, support {e.Support}")
            + (e.Lift is { } lift ? string.Create(CultureInfo.InvariantCulture, $", lift {lift:0.00}") : "")
            + (e.IntervalLow is { } low && e.IntervalHigh is { } high ? string.Create(CultureInfo.InvariantCulture, $", interval [{low:0.00}, {high:0.00}]") : "");

        var evidence = lineage.Evidence.Select(ep => H.Of($"""
            <tr>
              <td class="mono">{(ep.Stored ? EpisodesPage.Link(ep.EpisodeId) : H.Of($"{ep.EpisodeId} <span class=\"muted\">(deleted or not stored)</span>"))}</td>
              <td>{(ep.StartedAt is { } at ? H.Time(at) : Html.Empty)}</td>
              <td>{ep.Slice ?? "-"}</td>
              <td>{ep.Origin ?? "-"}</td>
              <td>{OutcomeTag(ep.Score)}</td>
            </tr>
            """));
        var notListed = lineage.EvidenceNotListed > 0 ? H.Of($"<p class=\"muted\">… and {lineage.EvidenceNotListed} older supporting episodes not listed (the lesson keeps the newest).</p>") : Html.Empty;
        var feedback = e.Feedback.Count == 0
            ? H.Of($"<p class=\"muted\">No user feedback contributed.</p>")
            : H.Of($"<ul data-testid=\"feedback\">{e.Feedback.Select(f => H.Of($"<li>{f}</li>"))}</ul>");
        var runs = lineage.LearningRuns.Count == 0
            ? H.Of($"<p class=\"muted\">No learning run of this store mentions it.</p>")
            : H.Of($"<table><thead><tr><th>finished (UTC)</th><th>run</th><th>role</th><th>detail</th><th>snapshot</th></tr></thead><tbody>{lineage.LearningRuns.Select(r => H.Of($"<tr><td>{H.Time(r.FinishedAt)}</td><td class=\"mono\">{r.RunId}</td><td>{r.Role}</td><td>{H.Short(r.Detail, 240)}</td><td class=\"mono\">{TimelinePage.SnapshotLink(r.SnapshotId)}</td></tr>"))}</tbody></table>");
        var guards = lesson.GuardFindings.Count == 0
            ? H.Of($"<p class=\"muted\">No guard rule fired.</p>")
            : H.Of($"<ul data-testid=\"findings\">{lesson.GuardFindings.Select(f => H.Of($"<li><span class=\"tag {(f.Blocking ? "bad" : "warn")}\">{f.Rule}</span> {(f.Blocking ? "blocking: " : "")}{f.Detail}</li>"))}</ul>");
        var reviews = lesson.Reviews.Count == 0
            ? H.Of($"<p class=\"muted\">No review.</p>")
            : H.Of($"<ul data-testid=\"reviews\">{lesson.Reviews.Select(r => H.Of($"<li>{H.Time(r.At)} <span class=\"tag {(r.Approved ? "good" : "bad")}\">{(r.Approved ? "approved" : "rejected")}</span> by {r.Reviewer}: {r.Reason}</li>"))}</ul>");
        var snapshots = lineage.Snapshots.Count == 0
            ? H.Of($"<p class=\"muted\">No snapshot contained it.</p>")
            : H.Of($"<table data-testid=\"lesson-snapshots\"><thead><tr><th>snapshot</th><th>created (UTC)</th><th>by</th><th>reason</th><th>confidence there</th></tr></thead><tbody>{lineage.Snapshots.Select(sn => H.Of($"<tr><td class=\"mono\">{TimelinePage.SnapshotLink(sn.SnapshotId)} {(sn.Serving.Length > 0 ? H.Of($"<span class=\"tag good\">{sn.Serving}</span>") : Html.Empty)}</td><td>{H.Time(sn.CreatedAt)}</td><td>{sn.CreatedBy}</td><td>{H.Short(sn.Reason, 140)}</td><td>{sn.Confidence:0.00}</td></tr>"))}</tbody></table>");
        var review = status == LessonStatus.PendingReview && d.CanReview ? ReviewPage.Decision(d, lesson.Id, H.Path("lessons", lesson.Id)) : Html.Empty;

        var body = H.Of($"""
            <section class="card">
              <p data-testid="lesson-text"><strong>{lesson.Text}</strong></p>
              <dl class="facts">
                <dt>status</dt><dd><span class="tag {StatusTone(status)}" data-testid="lesson-status">{LessonStatusNames.Of(lesson)}</span>{(lesson.RetiredAt is { } retired ? H.Of($" since {H.Time(retired)}: {lesson.RetiredReason}") : Html.Empty)}</dd>
                <dt>kind</dt><dd>{DashboardText.Kind(lesson.Kind)}</dd>
                <dt>extractor</dt><dd data-testid="extractor">{lesson.Extractor.Name} {lesson.Extractor.Version}</dd>
                <dt>created</dt><dd>{H.Time(lesson.CreatedAt)}</dd>
                <dt>trigger</dt><dd>{DashboardText.Trigger(lesson.Trigger)}</dd>
                <dt>scope</dt><dd>{DashboardText.Scope(lesson.Scope)}</dd>
                <dt>confidence</dt><dd>{lesson.Confidence:0.00}</dd>
                <dt>evidence</dt><dd>{measured}</dd>
                <dt>measured effect</dt><dd data-testid="effect">{DashboardText.Effect(lesson.Effect)}</dd>
              </dl>
              {review}
            </section>
            {LessonForms.ForLesson(d, lesson)}
            <h2>Episodes it came from ({lineage.Evidence.Count} listed)</h2>
            <table data-testid="evidence"><thead><tr><th>episode</th><th>started (UTC)</th><th>slice</th><th>origin</th><th>outcome</th></tr></thead><tbody>{evidence}</tbody></table>
            {notListed}
            <h2>Feedback</h2>
            {feedback}
            <h2>Guards</h2>
            {guards}
            <h2>Reviews</h2>
            {reviews}
            <h2>Learning runs</h2>
            {runs}
            <h2>Snapshots that contained it</h2>
            {snapshots}
            <h2>Audit records about it</h2>
            {AuditPage.Table(lineage.AuditEntries, highlight: null)}
            """);
        return await DashboardLayout.PageAsync(d, "lessons", "Lesson " + lesson.Id, body).ConfigureAwait(false);
    }

    public static Html OutcomeTag(double? score) => score switch
    {
        null => H.Of($"<span class=\"tag\">not judged</span>"),
        >= 0.5 => H.Of($"<span class=\"tag good\">success</span>"),
        _ => H.Of($"<span class=\"tag bad\">failure</span>"),
    };

    public static string StatusTone(LessonStatus status) => status switch
    {
        LessonStatus.Active => "good",
        LessonStatus.PendingReview => "warn",
        LessonStatus.Rejected => "bad",
        _ => "plain",
    };

    private static Html Selected(bool selected) => selected ? H.Of($" selected") : Html.Empty;

    private static bool Matches(Lesson lesson, string query)
        => lesson.Text.Contains(query, StringComparison.OrdinalIgnoreCase)
            || lesson.Id.Contains(query, StringComparison.OrdinalIgnoreCase)
            || lesson.Extractor.Name.Contains(query, StringComparison.OrdinalIgnoreCase)
            || lesson.Scope.Tools.Any(t => t.Contains(query, StringComparison.OrdinalIgnoreCase))
            || lesson.Scope.Labels.Any(l => l.Value.Contains(query, StringComparison.OrdinalIgnoreCase));
}
