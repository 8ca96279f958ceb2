using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Lore.Benchmarks;

/// <summary>
/// The calling thread's CPU time (Linux <c>CLOCK_THREAD_CPUTIME_ID</c>), in <see cref="Stopwatch"/> ticks. On a machine
/// other processes load, a call's wall time mostly measures when the scheduler ran it; its CPU time still measures
/// the call (cache misses included: another process evicting the index is part of what a cold call pays).
/// </summary>
internal static partial class ThreadCpuClock
{
    private const int ThreadCpuTimeId = 3;

    /// <summary>False where the clock is not available (not Linux): callers then report no CPU column.</summary>
    public static bool IsAvailable { get; } = OperatingSystem.IsLinux() && TryRead(out _);

    public static long Now() => TryRead(out var ticks) ? ticks : 0;

    private static bool TryRead(out long ticks)
    {
        if (clock_gettime(ThreadCpuTimeId, out var time) != 0)
        {
            ticks = 0;
            return false;
        }

        var nanoseconds = (time.Seconds * 1_000_000_000L) + time.Nanoseconds;
        ticks = (long)(nanoseconds * (Stopwatch.Frequency / 1e9));
        return true;
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int clock_gettime(int clockId, out TimeSpec time);

    [StructLayout(LayoutKind.Sequential)]
    private struct TimeSpec
    {
        public long Seconds;
        public long Nanoseconds;
    }
}
