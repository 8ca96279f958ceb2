using System.Diagnostics;

namespace Lore.Learning;

/// <summary>
/// What each stage of a learning pass cost: wall time, process CPU time and bytes allocated, summed over the stage's
/// intervals. The pipeline fills it when one is given (the learning bench reports it per stage); a pass without one
/// measures nothing.
/// </summary>
internal sealed class LearningStageClock
{
    private readonly List<string> _order = [];
    private readonly Dictionary<string, StageCost> _costs = new(StringComparer.Ordinal);

    /// <summary>The stages in the order they first started, with their summed costs.</summary>
    public IReadOnlyList<(string Stage, StageCost Cost)> Stages
    {
        get
        {
            lock (_costs)
            {
                return [.. _order.Select(s => (s, _costs[s]))];
            }
        }
    }

    /// <summary>Starts an interval of <paramref name="stage"/>; disposing the result adds it to the stage (nothing when <paramref name="clock"/> is null).</summary>
    public static Interval Measure(LearningStageClock? clock, string stage)
        => clock is null ? default : clock.Start(stage);

    private Interval Start(string stage)
    {
        lock (_costs)
        {
            if (_costs.TryAdd(stage, default))
            {
                _order.Add(stage);
            }
        }

        return new(this, stage, Stopwatch.GetTimestamp(), Environment.CpuUsage.TotalTime, GC.GetTotalAllocatedBytes(precise: true));
    }

    private void Add(string stage, TimeSpan wall, TimeSpan cpu, long allocated)
    {
        lock (_costs)
        {
            var cost = _costs[stage];
            _costs[stage] = new StageCost(cost.Wall + wall, cost.Cpu + cpu, cost.Allocated + allocated, cost.Intervals + 1);
        }
    }

    /// <summary>One measured interval of a stage.</summary>
    internal readonly struct Interval(LearningStageClock? clock, string stage, long started, TimeSpan cpu, long allocated) : IDisposable
    {
        public void Dispose()
            => clock?.Add(stage, Stopwatch.GetElapsedTime(started), Environment.CpuUsage.TotalTime - cpu, GC.GetTotalAllocatedBytes(precise: true) - allocated);
    }
}

/// <summary>A stage's summed cost: wall time, process CPU time (every thread, GC included), bytes allocated, intervals.</summary>
internal readonly record struct StageCost(TimeSpan Wall, TimeSpan Cpu, long Allocated, int Intervals);
