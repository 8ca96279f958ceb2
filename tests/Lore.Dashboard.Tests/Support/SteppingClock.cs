using Lore.Simulation;

namespace Lore.Dashboard.Tests.Support;

/// <summary>
/// The drift run's clock: it starts on a fixed morning, moves a few seconds per simulated episode (and a millisecond
/// per reading, so that times stay ordered). The run then reads like a working morning on the charts and the
/// screenshots do not change from run to run; an unpaced run takes seconds of wall-clock time, most of them inside
/// learning passes, which would bunch the episodes into a few buckets.
/// </summary>
internal sealed class SteppingClock(DateTimeOffset start, TimeSpan perEpisode) : TimeProvider, IProgress<SimulationProgress>
{
    private long _ticks = start.UtcTicks;
    private int _episodes;

    public override DateTimeOffset GetUtcNow()
        => new(Interlocked.Add(ref _ticks, TimeSpan.TicksPerMillisecond), TimeSpan.Zero);

    /// <summary>The simulation reports each finished episode; the clock moves on by one episode's time.</summary>
    public void Report(SimulationProgress value)
    {
        ArgumentNullException.ThrowIfNull(value);
        while (_episodes < value.Completed)
        {
            _episodes++;
            Interlocked.Add(ref _ticks, perEpisode.Ticks);
        }
    }
}
