using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// The newest episodes, and one episode as it happened (the same <see cref="Provenance.EpisodeAsync"/> that
/// <c>lore blame</c> prints, plus the trajectory): every model and tool call, the snapshot and arm in effect, the
/// lessons injected as they read in that snapshot, and every outcome that judged it.
/// </summary>
internal static class EpisodesPage
{
    private const int Listed = 200;

    public static Html Link(string id) => H.Of($"<a href=\"{H.Path("episodes", id)}\">{id}</a>");

    public static async Task<IResult> ListAsync(HttpContext http, string? slice, string? arm, string? outcome)
    {
        var d = DashboardContext.From(http);
        var episodes = new List<Episode>();
        await foreach (var episode in d.Store.ReadEpisodesAsync(new EpisodeQuery { Tenant = d.Tenant, NewestFirst = true, Limit = 5_000, WithoutSteps = true }, d.Aborted).ConfigureAwait(false))
        {
            episodes.Add(episode);
        }

        episodes.Reverse();
        var total = await d.Store.CountEpisodesAsync(d.Tenant, d.Aborted).ConfigureAwait(false);
        var slices = episodes.Select(e => e.Slice).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList();
        var shown = episodes
            .Where(e => string.IsNullOrEmpty(slice) || e.Slice == slice)
            .Where(e => string.IsNullOrEmpty(arm) || DashboardText.Arm(e.Arm) == arm)
            .Where(e => string.IsNullOrEmpty(outcome) || DashboardText.Outcome(e.Score) == outcome)
            .Take(Listed)
            .ToList();

        var sliceOptions = slices.Select(s => H.Of($"<option value=\"{s}\"{(s == slice ? H.Of($" selected") : Html.Empty)}>{s}</option>"));
        var armOptions = new[] { "no rollout", "baseline", "candidate" }.Select(a => H.Of($"<option value=\"{a}\"{(a == arm ? H.Of($" selected") : Html.Empty)}>{a}</option>"));
        var outcomeOptions = new[] { "success", "failure", "not judged" }.Select(o => H.Of($"<option value=\"{o}\"{(o == outcome ? H.Of($" selected") : Html.Empty)}>{o}</option>"));
        var rows = shown.Select(e => H.Of($"""
            <tr>
              <td class="mono">{Link(e.Id)}</td>
              <td>{H.Time(e.StartedAt)}</td>
              <td>{H.Short(e.Task, 90)}</td>
              <td>{e.Slice}</td>
              <td>{e.UnitKey}</td>
              <td>{DashboardText.Arm(e.Arm)}</td>
              <td class="mono">{TimelinePage.SnapshotLink(e.SnapshotId)}</td>
              <td>{e.InjectedLessonIds.Count}</td>
              <td>{LessonsPage.OutcomeTag(e.Score)}</td>
            </tr>
            """));
        var body = H.Of($"""
            <form method="get" action="/dashboard/episodes" class="filters">
              <select name="slice" aria-label="slice"><option value="">any slice</option>{sliceOptions}</select>
              <select name="arm" aria-label="arm"><option value="">any arm</option>{armOptions}</select>
              <select name="outcome" aria-label="outcome"><option value="">any outcome</option>{outcomeOptions}</select>
              <button type="submit">Filter</button>
            </form>
            <p class="muted">{shown.Count} shown, newest first, of {total} episodes.</p>
            <table data-testid="episodes">
              <thead><tr><th>episode</th><th>started (UTC)</th><th>task</th><th>slice</th><th>unit</th><th>arm</th><th>snapshot</th><th>lessons</th><th>outcome</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
        return await DashboardLayout.PageAsync(d, "episodes", "Episodes", body).ConfigureAwait(false);
    }

    public static async Task<IResult> ShowAsync(HttpContext http, string id)
    {
        var d = DashboardContext.From(http);
        EpisodeBlame blame;
        try
        {
            blame = await Provenance.EpisodeAsync(d.Store, id, d.Tenant, d.Aborted).ConfigureAwait(false);
        }
        catch (KeyNotFoundException)
        {
            return await DashboardPages.NotFoundAsync(d, "episodes", $"No episode '{id}' for tenant '{d.Tenant}'.").ConfigureAwait(false);
        }

        // Blame leaves the steps out; the trajectory is read once more, whole.
        var episode = await d.Store.GetEpisodeAsync(d.Tenant, id, d.Aborted).ConfigureAwait(false) ?? blame.Episode;
        var snapshot = episode.SnapshotId is null
            ? H.Of($"none: nothing learned was served")
            : blame.Snapshot is { } s
                ? H.Of($"{TimelinePage.SnapshotLink(s.Id)} ({s.LessonCount} lessons), created {H.Time(s.CreatedAt)} by {s.CreatedBy}")
                : H.Of($"{episode.SnapshotId} <span class=\"muted\">(no longer in the store)</span>");
        var labels = string.Join(", ", episode.Labels.Select(l => $"{l.Key}={l.Value}"));
        var injected = blame.Injected.Count == 0
            ? H.Of($"<p class=\"muted\">No lesson was injected.</p>")
            : H.Of($"<table data-testid=\"injected\"><thead><tr><th>lesson</th><th>kind</th><th>text as served</th><th>status now</th></tr></thead><tbody>{blame.Injected.Select(l => H.Of($"<tr><td class=\"mono\">{LessonsPage.Link(l.LessonId)}</td><td>{(l.Kind is { } k ? DashboardText.Kind(k) : "-")}</td><td>{l.Text ?? "(unknown)"}{(l.Source == "lesson table" ? H.Of($" <span class=\"muted\">(latest text)</span>") : Html.Empty)}</td><td>{(l.CurrentStatus is { } st ? DashboardText.Status(st) : "-")}</td></tr>"))}</tbody></table>");
        var outcomes = episode.Outcomes.Count == 0
            ? H.Of($"<p class=\"muted\">Not judged yet.</p>")
            : H.Of($"<table data-testid=\"outcomes\"><thead><tr><th>at (UTC)</th><th>source</th><th>score</th><th>by</th><th>comment</th></tr></thead><tbody>{episode.Outcomes.Select(o => H.Of($"<tr><td>{H.Time(o.At)}</td><td>{o.Source}</td><td>{LessonsPage.OutcomeTag(o.Score)} {o.Score:0.##}</td><td>{o.Actor ?? "-"}</td><td>{o.Comment ?? ""}</td></tr>"))}</tbody></table>");
        var history = blame.SnapshotHistory.Count == 0 ? Html.Empty : H.Of($"<h2>How that snapshot came to be served</h2>{AuditPage.Table(blame.SnapshotHistory, highlight: null)}");

        var body = H.Of($"""
            <section class="card">
              <p data-testid="task"><strong>{episode.Task}</strong></p>
              <dl class="facts">
                <dt>outcome</dt><dd data-testid="episode-outcome">{LessonsPage.OutcomeTag(episode.Score)}</dd>
                <dt>arm</dt><dd data-testid="arm">{DashboardText.Arm(episode.Arm)}</dd>
                <dt>snapshot</dt><dd data-testid="episode-snapshot">{snapshot}</dd>
                <dt>unit</dt><dd>{(episode.UnitKey.Length == 0 ? "(none)" : episode.UnitKey)}</dd>
                <dt>labels</dt><dd>{(labels.Length == 0 ? "(none)" : labels)}</dd>
                <dt>started</dt><dd>{H.Time(episode.StartedAt)}{(episode.EndedAt is { } ended ? H.Of($", ended {H.Time(ended)}") : H.Of($", still running"))}</dd>
                <dt>origin</dt><dd>{episode.Origin}</dd>
              </dl>
            </section>
            <h2>Lessons in effect ({blame.Injected.Count} injected)</h2>
            {injected}
            <h2>Outcomes</h2>
            {outcomes}
            <h2>Trajectory ({episode.Steps.Count} steps)</h2>
            <div data-testid="trajectory">{episode.Steps.Select(Step)}</div>
            {history}
            """);
        return await DashboardLayout.PageAsync(d, "episodes", "Episode " + episode.Id, body).ConfigureAwait(false);
    }

    private static Html Step(Step step)
    {
        if (step.Kind == StepKind.ToolCall)
        {
            return H.Of($"""
                <div class="step tool{(step.ToolFailed ? " failed" : "")}" data-step="{step.Index}">
                  <div><span class="tag">{step.Index}</span> tool <strong class="mono">{step.ToolName}</strong> {(step.ToolFailed ? H.Of($"<span class=\"tag bad\">failed</span>") : H.Of($"<span class=\"tag good\">ok</span>"))}</div>
                  <pre>{step.ToolArguments}</pre>
                  <pre>{step.ToolResult}</pre>
                </div>
                """);
        }

        var usage = step.Usage is { } u ? H.Of($", {u.InputTokens} in / {u.OutputTokens} out tokens") : Html.Empty;
        var injected = step.InjectedLessonIds.Count == 0 ? Html.Empty : H.Of($"<div>lessons injected: {H.Join(step.InjectedLessonIds.Select(LessonsPage.Link).SelectMany(l => new[] { l, H.Text(" ") }))}</div>");
        var shadow = step.ShadowLessonIds.Count == 0 ? Html.Empty : H.Of($"<div class=\"muted\">shadow (would have injected): {string.Join(", ", step.ShadowLessonIds)}</div>");
        return H.Of($"""
            <div class="step model" data-step="{step.Index}">
              <div><span class="tag">{step.Index}</span> model call <span class="mono">{step.Model ?? ""}</span> <span class="muted">{step.Latency.TotalMilliseconds:0} ms{usage}</span></div>
              {injected}{shadow}
              {step.Request.Select(Message)}
              {step.Response.Select(Message)}
            </div>
            """);
    }

    private static Html Message(TrajectoryMessage message)
    {
        var calls = message.ToolCalls.Select(c => H.Of($"<div class=\"mono\">→ {c.Name}({c.ArgumentsJson})</div>"));
        var text = string.IsNullOrEmpty(message.Text) ? Html.Empty : H.Of($"<pre>{message.Text}</pre>");
        return H.Of($"<div class=\"msg\"><span class=\"who\">{message.Role}{(message.ToolName is null ? "" : " " + message.ToolName)}</span>{text}{calls}</div>");
    }
}
