using Lore.Learning.Statistics;

namespace Lore.Server.Dashboard;

/// <summary>Judged episodes of one arm in one time bucket, with the 95% Wilson interval of their success rate.</summary>
internal sealed record OutcomeBucket(DateTimeOffset From, DateTimeOffset To, int Episodes, int Successes, double Low, double High)
{
    public double Rate => Episodes == 0 ? 0 : (double)Successes / Episodes;
}

/// <summary>One line of an outcome chart: the success rate of one rollout arm over time.</summary>
/// <param name="Arm">"stable" (no rollout running), "baseline" or "candidate": also the CSS class that colours it.</param>
/// <param name="Label">What the legend says.</param>
/// <param name="Buckets">Every bucket of the chart's range, empty ones included (they break the line).</param>
internal sealed record OutcomeSeries(string Arm, string Label, IReadOnlyList<OutcomeBucket> Buckets)
{
    public int Episodes => Buckets.Sum(b => b.Episodes);

    public int Successes => Buckets.Sum(b => b.Successes);
}

/// <summary>A moment drawn across a chart: a promotion, a rollback or the start of a canary.</summary>
internal sealed record ChartMarker(DateTimeOffset At, string Kind, string Label, string Detail);

/// <summary>The time range of a chart and how it is cut into buckets.</summary>
internal sealed record OutcomeRange(DateTimeOffset Start, DateTimeOffset End, int Buckets)
{
    public TimeSpan Width => (End - Start) / Buckets;

    /// <summary>A range covering every episode and marker, cut into <paramref name="buckets"/> equal buckets (at least one second wide).</summary>
    public static OutcomeRange Covering(IEnumerable<DateTimeOffset> times, int buckets)
    {
        var list = times.ToList();
        if (list.Count == 0)
        {
            var now = DateTimeOffset.UtcNow;
            return new OutcomeRange(now.AddMinutes(-1), now, buckets);
        }

        var start = list.Min();
        var end = list.Max();
        if (end - start < TimeSpan.FromSeconds(buckets))
        {
            end = start + TimeSpan.FromSeconds(buckets);
        }

        // A hair past the last instant, so it falls inside the last bucket.
        return new OutcomeRange(start, end + TimeSpan.FromMilliseconds(1), buckets);
    }

    public int IndexOf(DateTimeOffset at)
        => Math.Clamp((int)((at - Start).Ticks / Math.Max(1, Width.Ticks)), 0, Buckets - 1);
}

/// <summary>
/// Success rate over time per rollout arm, the numbers behind the outcomes page: judged episodes (an environment
/// verdict, else an evaluator's, else user feedback: <see cref="Episode.Succeeded"/>) counted per time bucket, with
/// the same Wilson score interval learning uses for its own rates.
/// </summary>
internal static class OutcomeSeriesBuilder
{
    public static readonly (string Arm, string? Stored, string Label)[] Arms =
    [
        ("stable", null, "no rollout (stable to every unit)"),
        ("baseline", RolloutArms.Baseline, "baseline arm"),
        ("candidate", RolloutArms.Candidate, "candidate arm"),
    ];

    /// <summary>One series per arm that has at least one judged episode.</summary>
    public static IReadOnlyList<OutcomeSeries> Build(IEnumerable<Episode> episodes, OutcomeRange range)
    {
        var judged = episodes.Where(e => e.Succeeded is not null).ToList();
        var series = new List<OutcomeSeries>();
        foreach (var (arm, stored, label) in Arms)
        {
            var counts = new (int Episodes, int Successes)[range.Buckets];
            var any = false;
            foreach (var episode in judged)
            {
                if (episode.Arm != stored)
                {
                    continue;
                }

                any = true;
                var i = range.IndexOf(episode.StartedAt);
                counts[i].Episodes++;
                if (episode.Succeeded == true)
                {
                    counts[i].Successes++;
                }
            }

            if (!any)
            {
                continue;
            }

            var buckets = counts.Select((c, i) =>
            {
                var interval = Proportions.Wilson(c.Successes, c.Episodes);
                var from = range.Start + (range.Width * i);
                return new OutcomeBucket(from, from + range.Width, c.Episodes, c.Successes, interval.Low, interval.High);
            }).ToList();
            series.Add(new OutcomeSeries(arm, label, buckets));
        }

        return series;
    }

    /// <summary>The 95% Wilson interval of a whole series or slice total.</summary>
    public static (double Low, double High) Interval(int successes, int episodes)
    {
        var interval = Proportions.Wilson(successes, episodes);
        return (interval.Low, interval.High);
    }
}
