using System.Globalization;
using Microsoft.AspNetCore.Http;

namespace Lore.Server.Dashboard;

/// <summary>
/// Did the update remove errors or move them: for each slice (and all slices), one stacked bar per rollout arm whose
/// segments are the rates of the failure modes per episode, modes seen only under the candidate highlighted; during a
/// canary, the shift analysis beneath (every mode's rate per arm with its always-valid interval, grown or shrunk).
/// </summary>
internal static class ErrorMixPage
{
    /// <summary>How many of the newest episodes the bars read (with their steps: the failed tool is part of a mode).</summary>
    private const int EpisodesRead = 5_000;

    /// <summary>Modes with their own colour; the rest share one.</summary>
    private const int Colours = 8;

    private const int BarWidth = 600;

    public static async Task<IResult> RenderAsync(HttpContext http)
    {
        var d = DashboardContext.From(http);
        var judged = new List<(Episode Episode, string? Mode)>();
        await foreach (var episode in d.Store.ReadEpisodesAsync(new EpisodeQuery { Tenant = d.Tenant, NewestFirst = true, Limit = EpisodesRead, EndedOnly = true }, d.Aborted).ConfigureAwait(false))
        {
            if (episode.Succeeded is not null)
            {
                judged.Add((episode, FailureModes.Of(episode)));
            }
        }

        if (judged.Count == 0)
        {
            return await DashboardLayout.PageAsync(d, "error-mix", "Error mix", H.Of($"<p class=\"muted\" data-testid=\"no-failures\">No judged episode yet: the error mix appears once episodes have outcomes.</p>")).ConfigureAwait(false);
        }

        // Colours by how often a mode occurs overall, so the common modes keep their colour from slice to slice.
        var colour = judged.Where(j => j.Mode is not null).GroupBy(j => j.Mode!, StringComparer.Ordinal)
            .OrderByDescending(g => g.Count()).ThenBy(g => g.Key, StringComparer.Ordinal)
            .Select((g, i) => (g.Key, Class: i < Colours ? $"mode-{i}" : "mode-other"))
            .ToDictionary(p => p.Key, p => p.Class, StringComparer.Ordinal);
        var legend = H.Join(colour.Where(c => c.Value != "mode-other").Select(c => H.Of($"<span><span class=\"swatch {c.Value}\"></span>{c.Key}</span>")));
        var scopes = new List<(string Name, List<(Episode Episode, string? Mode)> Episodes)> { (SliceVerdict.Overall, judged) };
        scopes.AddRange(judged.GroupBy(j => j.Episode.Slice, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => (g.Key, g.ToList())));

        var status = await RolloutStatus.ReadAsync(d.Store, d.Tenant, d.Runtimes.OptionsFor(d.Tenant).Evaluation, d.Aborted).ConfigureAwait(false);
        var analysis = status.Shift is { } shift && status.Evaluation is { } evaluation
            ? H.Of($"""
                <h2>Shift analysis of the running canary</h2>
                <p data-testid="shift-verdict">{shift.Verdict(evaluation.Overall.Comparison)}</p>
                {Table(shift)}
                """)
            : H.Of($"<p class=\"muted\">No canary is running: the bars compare the arms of the newest episodes.</p>");
        var body = H.Of($"""
            <p class="muted">Rate of each failure mode per judged episode, by rollout arm, over the {judged.Count} newest judged episodes. A mode is the failed tool and its normalised error, the judge's category or reason, a classifier's label, or the state-changing call the episode failed after. <span class="tag bad">new</span> marks a mode seen only under the candidate.</p>
            <div class="legend">{legend}<span><span class="swatch mode-other"></span>other modes</span></div>
            {H.Join(scopes.Select(s => Scope(s.Name, s.Episodes, colour)))}
            {analysis}
            """);
        return await DashboardLayout.PageAsync(d, "error-mix", "Error mix", body).ConfigureAwait(false);
    }

    private static Html Scope(string name, List<(Episode Episode, string? Mode)> episodes, Dictionary<string, string> colour)
    {
        var baselineModes = episodes.Where(e => e.Episode.Arm == RolloutArms.Baseline && e.Mode is not null).Select(e => e.Mode!).ToHashSet(StringComparer.Ordinal);
        var hasBaseline = episodes.Any(e => e.Episode.Arm == RolloutArms.Baseline);
        var bars = new List<Html>();
        foreach (var (arm, stored, label) in OutcomeSeriesBuilder.Arms)
        {
            var inArm = episodes.Where(e => e.Episode.Arm == stored).ToList();
            if (inArm.Count == 0)
            {
                continue;
            }

            var x = 0.0;
            var segments = new List<Html>();
            foreach (var group in inArm.Where(e => e.Mode is not null).GroupBy(e => e.Mode!, StringComparer.Ordinal).OrderBy(g => colour[g.Key], StringComparer.Ordinal).ThenBy(g => g.Key, StringComparer.Ordinal))
            {
                var rate = (double)group.Count() / inArm.Count;
                var width = rate * BarWidth;
                var isNew = arm == "candidate" && hasBaseline && !baselineModes.Contains(group.Key);
                var tooltip = string.Create(CultureInfo.InvariantCulture, $"{group.Key}: {rate:0.0%} of {label} episodes ({group.Count()} of {inArm.Count}){(isNew ? " - new under the candidate" : "")}");
                segments.Add(H.Of($"<rect class=\"{colour[group.Key]}{(isNew ? " new" : "")}\" data-mode=\"{group.Key}\" data-rate=\"{rate.ToString("0.####", CultureInfo.InvariantCulture)}\" x=\"{x.ToString("0.##", CultureInfo.InvariantCulture)}\" y=\"2\" width=\"{Math.Max(1, width).ToString("0.##", CultureInfo.InvariantCulture)}\" height=\"18\"><title>{tooltip}</title></rect>"));
                x += width;
            }

            var failed = inArm.Count(e => e.Mode is not null);
            var newModes = segments.Count > 0 && arm == "candidate" && hasBaseline
                ? inArm.Where(e => e.Mode is not null && !baselineModes.Contains(e.Mode)).Select(e => e.Mode!).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList()
                : [];
            bars.Add(H.Of($"""
                <tr data-arm="{arm}">
                  <td>{label}</td>
                  <td>{H.Percent((double)failed / inArm.Count)} of {inArm.Count}</td>
                  <td><svg class="mix" viewBox="0 0 {BarWidth} 22" width="{BarWidth}" height="22" role="img" aria-label="failure modes of {label} episodes"><rect class="track" x="0" y="2" width="{BarWidth}" height="18"></rect>{segments}</svg></td>
                  <td>{H.Join(newModes.Select(m => H.Of($"<span class=\"tag bad\" data-new-mode=\"{m}\">new: {m}</span> ")))}</td>
                </tr>
                """));
        }

        var title = name == SliceVerdict.Overall ? "all slices" : "slice " + name;
        return H.Of($"""
            <h2>{title}</h2>
            <table class="error-mix" data-testid="error-mix-{(name == SliceVerdict.Overall ? "overall" : name)}">
              <thead><tr><th>arm</th><th>failed</th><th>failure modes (rate per episode; the full bar is 100%)</th><th></th></tr></thead>
              <tbody>{bars}</tbody>
            </table>
            """);
    }

    private static Html Table(FailureShift shift)
    {
        var rows = shift.Modes.Where(m => m.Slice == SliceVerdict.Overall || m.Change != FailureModeChange.Inconclusive).Select(m =>
        {
            var c = m.Comparison;
            var change = m.Change switch
            {
                FailureModeChange.Grew => H.Of($"<span class=\"tag bad\">grew</span>"),
                FailureModeChange.Shrank => H.Of($"<span class=\"tag good\">shrank</span>"),
                _ => H.Text(c.HasEnoughData ? "no significant change" : "waiting for data"),
            };
            return H.Of($"""
                <tr data-mode="{m.Mode}" data-slice="{m.Slice}" data-change="{m.Change.ToString().ToLowerInvariant()}">
                  <td>{m.Mode}{H.When(m.IsNew, H.Of($" <span class=\"tag bad\">new</span>"))}{H.When(m.Severe, H.Of($" <span class=\"tag bad\">severe</span>"))}</td><td>{m.Slice}</td>
                  <td>{H.Percent(c.Baseline.Mean)} of {c.Baseline.Episodes}</td><td>{H.Percent(c.Candidate.Mean)} of {c.Candidate.Episodes}</td>
                  <td>{c.Effect.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture)} [{c.IntervalLow.ToString("0.000", CultureInfo.InvariantCulture)}, {c.IntervalHigh.ToString("0.000", CultureInfo.InvariantCulture)}]</td>
                  <td>{c.PValue.ToString("0.####", CultureInfo.InvariantCulture)}</td><td>{change}</td>
                </tr>
                """);
        });
        return H.Of($"""
            <table data-testid="shift">
              <thead><tr><th>mode</th><th>slice</th><th>baseline</th><th>candidate</th><th>difference [always-valid interval]</th><th>p</th><th></th></tr></thead>
              <tbody>{rows}</tbody>
            </table>
            <p class="muted">Distance between the arms' outcome distributions: {shift.Distance.ToString("0.000", CultureInfo.InvariantCulture)}, interval [{shift.DistanceLow.ToString("0.000", CultureInfo.InvariantCulture)}, {shift.DistanceHigh.ToString("0.000", CultureInfo.InvariantCulture)}]; {shift.TestCount} tests share the level.</p>
            """);
    }
}
