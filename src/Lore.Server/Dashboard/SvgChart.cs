using System.Globalization;
using System.Text;

namespace Lore.Server.Dashboard;

/// <summary>
/// Draws an outcome chart as inline SVG on the server: success rate (0-100%) against time, one line per arm with
/// its confidence band, and dashed verticals at promotions, rollbacks and canary starts. Colours come from the
/// stylesheet's classes, so the markup carries no style attributes and works under a strict content security policy.
/// </summary>
internal static class SvgChart
{
    private const double Left = 46;
    private const double Right = 14;
    private const double Top = 64;

    /// <summary>Rows marker labels may take above the plot; a label that fits in none is left to the marker's tooltip.</summary>
    private const int LabelRows = 3;

    /// <summary>An estimate of a label character's width at the chart's 11px font, for keeping labels apart.</summary>
    private const double CharWidth = 6.2;
    private const double Bottom = 26;

    /// <summary>
    /// Renders the chart; <paramref name="xLabel"/> names a point of the x axis (the time by default; on an
    /// episode-count axis the x values are episode ordinals carried as seconds from the range's start).
    /// </summary>
    public static Html Render(string title, OutcomeRange range, IReadOnlyList<OutcomeSeries> series, IReadOnlyList<ChartMarker> markers, int width, int height, string testId, Func<DateTimeOffset, string>? xLabel = null)
    {
        var byTime = xLabel is null;
        xLabel ??= Clock;
        var plotWidth = width - Left - Right;
        var plotHeight = height - Top - Bottom;
        var span = Math.Max(1, (range.End - range.Start).Ticks);
        double X(DateTimeOffset at) => Left + (plotWidth * (at - range.Start).Ticks / span);
        double Y(double rate) => Top + (plotHeight * (1 - rate));

        var parts = new List<Html>
        {
            H.Of($"<text class=\"title\" x=\"{Left}\" y=\"13\">{title}</text>"),
        };

        // Grid and axes.
        var grid = new List<Html>();
        foreach (var rate in new[] { 0.0, 0.25, 0.5, 0.75, 1.0 })
        {
            var y = N(Y(rate));
            grid.Add(H.Of($"<line x1=\"{N(Left)}\" x2=\"{N(Left + plotWidth)}\" y1=\"{y}\" y2=\"{y}\"/><text x=\"{N(Left - 6)}\" y=\"{N(Y(rate) + 4)}\" text-anchor=\"end\">{(rate * 100).ToString("0", CultureInfo.InvariantCulture)}%</text>"));
        }

        var longRange = range.End - range.Start > TimeSpan.FromDays(1);
        for (var i = 0; i <= 4; i++)
        {
            var at = range.Start + ((range.End - range.Start) * i / 4);
            var label = byTime ? at.ToUniversalTime().ToString(longRange ? "MM-dd HH:mm" : "HH:mm:ss", CultureInfo.InvariantCulture) : xLabel(at);
            var anchor = i == 0 ? "start" : i == 4 ? "end" : "middle";
            grid.Add(H.Of($"<text x=\"{N(X(at))}\" y=\"{N(height - 8)}\" text-anchor=\"{anchor}\">{label}</text>"));
        }

        parts.Add(H.Of($"<g class=\"grid\">{grid}</g>"));
        parts.Add(H.Of($"<g class=\"axis\"><line x1=\"{N(Left)}\" x2=\"{N(Left)}\" y1=\"{N(Top)}\" y2=\"{N(Top + plotHeight)}\"/><line x1=\"{N(Left)}\" x2=\"{N(Left + plotWidth)}\" y1=\"{N(Top + plotHeight)}\" y2=\"{N(Top + plotHeight)}\"/></g>"));

        // Bands first, so every line stays visible above them.
        foreach (var s in series)
        {
            foreach (var run in Runs(s.Buckets))
            {
                if (run.Count == 1)
                {
                    var b = run[0];
                    parts.Add(H.Of($"<rect class=\"band arm-{s.Arm}\" x=\"{N(X(b.From))}\" width=\"{N(Math.Max(2, X(b.To) - X(b.From)))}\" y=\"{N(Y(b.High))}\" height=\"{N(Math.Max(1, Y(b.Low) - Y(b.High)))}\"/>"));
                    continue;
                }

                var upper = run.Select(b => Point(X(Mid(b)), Y(b.High)));
                var lower = run.AsEnumerable().Reverse().Select(b => Point(X(Mid(b)), Y(b.Low)));
                parts.Add(H.Of($"<polygon class=\"band arm-{s.Arm}\" points=\"{string.Join(' ', upper.Concat(lower))}\"/>"));
            }
        }

        foreach (var s in series)
        {
            var lines = Runs(s.Buckets)
                .Where(run => run.Count > 1)
                .Select(run => H.Of($"<polyline class=\"line arm-{s.Arm}\" points=\"{string.Join(' ', run.Select(b => Point(X(Mid(b)), Y(b.Rate))))}\"/>"));
            var dots = s.Buckets.Where(b => b.Episodes > 0).Select(b => H.Of($"""
                <circle class="dot arm-{s.Arm}" cx="{N(X(Mid(b)))}" cy="{N(Y(b.Rate))}" r="3"><title>{s.Label}, {xLabel(b.From)}–{xLabel(b.To)}: {H.Percent(b.Rate)} of {b.Episodes} (95% interval {H.Percent(b.Low)}–{H.Percent(b.High)})</title></circle>
                """));
            parts.Add(H.Of($"<g data-arm=\"{s.Arm}\">{lines}{dots}</g>"));
        }

        // Markers: each label goes in the first row where it overlaps no label already placed; when every row is taken
        // there, the marker keeps its line and its tooltip and shows no label, so labels never draw over each other.
        var rowEnds = Enumerable.Repeat(double.NegativeInfinity, LabelRows).ToArray();
        foreach (var m in markers.OrderBy(m => m.At))
        {
            var at = X(m.At);
            var x = N(at);
            var half = m.Label.Length * CharWidth / 2;
            var start = Math.Max(0, at - half);
            var row = Array.FindIndex(rowEnds, end => end + 4 <= start);
            var label = Html.Empty;
            if (row >= 0)
            {
                rowEnds[row] = start + (2 * half);
                label = H.Of($"<text x=\"{x}\" y=\"{N(Top - 10 - (row * 14))}\" text-anchor=\"middle\">{m.Label}</text>");
            }

            parts.Add(H.Of($"""
                <g class="marker {m.Kind}" data-marker="{m.Kind}"{(row < 0 ? H.Of($" data-label-hidden=\"true\"") : Html.Empty)}><title>{m.Label} at {xLabel(m.At)}: {m.Detail}</title><line x1="{x}" x2="{x}" y1="{N(Top - 4)}" y2="{N(Top + plotHeight)}"/>{label}</g>
                """));
        }

        var description = new StringBuilder("Success rate over time");
        foreach (var s in series)
        {
            description.Append(CultureInfo.InvariantCulture, $"; {s.Label}: {s.Successes} of {s.Episodes}");
        }

        return H.Of($"""
            <svg class="chart" data-testid="{testId}" viewBox="0 0 {width} {height}" role="img" aria-label="{title}" xmlns="http://www.w3.org/2000/svg"><desc>{description.ToString()}</desc>{parts}</svg>
            """);
    }

    /// <summary>Consecutive buckets with episodes: a line is not drawn across a gap with nothing to show.</summary>
    private static IEnumerable<List<OutcomeBucket>> Runs(IReadOnlyList<OutcomeBucket> buckets)
    {
        var run = new List<OutcomeBucket>();
        foreach (var b in buckets)
        {
            if (b.Episodes > 0)
            {
                run.Add(b);
            }
            else if (run.Count > 0)
            {
                yield return run;
                run = [];
            }
        }

        if (run.Count > 0)
        {
            yield return run;
        }
    }

    private static DateTimeOffset Mid(OutcomeBucket b) => b.From + ((b.To - b.From) / 2);

    private static string Clock(DateTimeOffset at) => at.ToUniversalTime().ToString("HH:mm:ss", CultureInfo.InvariantCulture);

    private static string Point(double x, double y) => N(x) + "," + N(y);

    private static string N(double value) => value.ToString("0.#", CultureInfo.InvariantCulture);
}
