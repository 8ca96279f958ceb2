using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// Did learning help: success rate over time per rollout arm, overall and per slice, with 95% Wilson bands per time
/// bucket and the moments of canary, promotion and rollback marked; and the totals per slice and arm beneath.
/// </summary>
internal static class OutcomesPage
{
    /// <summary>How many of the newest episodes the charts read.</summary>
    private const int EpisodesRead = 20_000;

    /// <summary>
    /// Renders the page; <paramref name="axis"/> "episodes" puts judged episodes in order along the x axis (equal numbers
    /// of episodes per bucket, markers at the episode they preceded), so a late episode or a quiet night does not
    /// squeeze the rollout into a corner of the chart.
    /// </summary>
    public static async Task<IResult> RenderAsync(HttpContext http, int? buckets, string? axis = null)
    {
        var byEpisode = string.Equals(axis, "episodes", StringComparison.OrdinalIgnoreCase);
        var d = DashboardContext.From(http);
        var bucketCount = Math.Clamp(buckets ?? 24, 4, 96);
        var episodes = new List<Episode>();
        await foreach (var episode in d.Store.ReadEpisodesAsync(new EpisodeQuery { Tenant = d.Tenant, NewestFirst = true, Limit = EpisodesRead, WithoutSteps = true }, d.Aborted).ConfigureAwait(false))
        {
            episodes.Add(episode);
        }

        var markers = new List<ChartMarker>();
        await foreach (var entry in d.Store.ReadAuditAsync(0, d.Aborted).ConfigureAwait(false))
        {
            if (entry.Tenant != d.Tenant)
            {
                continue;
            }

            var kind = entry.Action switch
            {
                AuditActions.SnapshotPromoted => "promoted",
                AuditActions.SnapshotRolledBack => "rolled-back",
                AuditActions.SnapshotCanary => "canary",
                _ => null,
            };
            if (kind is not null)
            {
                markers.Add(new ChartMarker(entry.At, kind, DashboardText.Action(entry.Action), $"{entry.Subject} by {entry.Actor}: {entry.Reason}"));
            }
        }

        var judged = episodes.Where(e => e.Succeeded is not null).ToList();
        if (judged.Count == 0)
        {
            return await DashboardLayout.PageAsync(d, "outcomes", "Outcomes", H.Of($"<p class=\"muted\" data-testid=\"no-outcomes\">No judged episode yet: the charts appear once episodes have outcomes.</p>")).ConfigureAwait(false);
        }

        var first = judged.Min(e => e.StartedAt);
        markers = [.. markers.Where(m => m.At >= first)];
        Func<DateTimeOffset, string>? xLabel = null;
        if (byEpisode)
        {
            (judged, markers, xLabel) = EpisodeAxis(judged, markers);
        }

        var range = OutcomeRange.Covering(judged.Select(e => e.StartedAt).Concat(markers.Select(m => m.At)), bucketCount);
        var overall = OutcomeSeriesBuilder.Build(judged, range);
        var slices = judged.GroupBy(e => e.Slice, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).ToList();

        var legend = H.Of($"""
            <div class="legend">
              {OutcomeSeriesBuilder.Arms.Select(a => H.Of($"<span><span class=\"swatch arm-{a.Arm}\"></span>{a.Label}</span>"))}
              <span><span class="swatch canary"></span>canary started</span>
              <span><span class="swatch promoted"></span>promoted</span>
              <span><span class="swatch rolled-back"></span>rolled back</span>
            </div>
            """);
        var sliceCharts = slices.Select(g => SvgChart.Render($"slice {g.Key}", range, OutcomeSeriesBuilder.Build(g, range), markers, 620, 240, $"chart-slice-{g.Key}", xLabel));
        var axisQuery = byEpisode ? "&axis=episodes" : "";
        var axisSwitch = byEpisode
            ? H.Of($"x axis: <a href=\"/dashboard/outcomes?buckets={bucketCount}\" data-testid=\"axis-time\">time</a> · <strong>episodes</strong>")
            : H.Of($"x axis: <strong>time</strong> · <a href=\"/dashboard/outcomes?buckets={bucketCount}&amp;axis=episodes\" data-testid=\"axis-episodes\">episodes</a>");
        var body = H.Of($"""
            <p class="muted">{judged.Count} judged episodes in {bucketCount} {(byEpisode ? H.Of($"buckets of about {Math.Max(1, judged.Count / bucketCount)} episodes each, in the order they started") : H.Of($"time buckets of {Duration(range.Width)} each (UTC)"))}. Shaded bands are 95% Wilson intervals per bucket; hover a point for its counts.
            <a href="/dashboard/outcomes?buckets={Math.Max(4, bucketCount / 2)}{axisQuery}">coarser</a> · <a href="/dashboard/outcomes?buckets={Math.Min(96, bucketCount * 2)}{axisQuery}">finer</a> · {axisSwitch}</p>
            {legend}
            {SvgChart.Render("all slices", range, overall, markers, 1240, 320, "chart-overall", xLabel)}
            <h2>Per slice</h2>
            <div class="grid">{sliceCharts}</div>
            <h2>Totals per slice and arm</h2>
            {Totals(slices)}
            """);
        return await DashboardLayout.PageAsync(d, "outcomes", "Outcomes", body).ConfigureAwait(false);
    }

    /// <summary>
    /// The episodes and markers moved onto an episode-count axis: the i-th judged episode (by start) sits i seconds after
    /// an arbitrary origin, and a marker just before the first episode that started at or after it.
    /// </summary>
    private static (List<Episode> Episodes, List<ChartMarker> Markers, Func<DateTimeOffset, string> Label) EpisodeAxis(List<Episode> judged, List<ChartMarker> markers)
    {
        var origin = DateTimeOffset.UnixEpoch;
        var ordered = judged.OrderBy(e => e.StartedAt).ThenBy(e => e.Sequence).ToList();
        var starts = ordered.Select(e => e.StartedAt).ToArray();
        var placed = ordered.Select((e, i) => e with { StartedAt = origin.AddSeconds(i + 1) }).ToList();
        var moved = markers.Select(m =>
        {
            var index = Array.BinarySearch(starts, m.At);
            index = index < 0 ? ~index : index;
            while (index > 0 && starts[index - 1] == m.At)
            {
                index--;
            }

            return m with { At = origin.AddSeconds(index + 0.5) };
        }).ToList();
        return (placed, moved, at => "episode " + Math.Max(0, (long)Math.Round((at - origin).TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture));
    }

    private static Html Totals(List<IGrouping<string, Episode>> slices)
    {
        var rows = new List<Html>();
        foreach (var slice in slices)
        {
            foreach (var (arm, stored, label) in OutcomeSeriesBuilder.Arms)
            {
                var inArm = slice.Where(e => e.Arm == stored).ToList();
                if (inArm.Count == 0)
                {
                    continue;
                }

                var successes = inArm.Count(e => e.Succeeded == true);
                var (low, high) = OutcomeSeriesBuilder.Interval(successes, inArm.Count);
                rows.Add(H.Of($"<tr data-slice=\"{slice.Key}\" data-arm=\"{arm}\"><td>{slice.Key}</td><td>{label}</td><td>{inArm.Count}</td><td>{H.Percent((double)successes / inArm.Count)}</td><td>{H.Percent(low)} – {H.Percent(high)}</td></tr>"));
            }
        }

        return H.Of($"""
            <table data-testid="outcome-totals">
              <thead><tr><th>slice</th><th>arm</th><th>judged episodes</th><th>success</th><th>95% interval</th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            """);
    }

    private static string Duration(TimeSpan span)
        => span.TotalMinutes >= 120 ? $"{span.TotalHours:0.#} h"
            : span.TotalSeconds >= 120 ? $"{span.TotalMinutes:0.#} min"
            : $"{span.TotalSeconds:0.#} s";
}
