using System.Runtime.InteropServices;

namespace Lore.Benchmarks;

/// <summary>
/// The process's context switches so far, over all its threads, dead ones included (Linux <c>getrusage</c>). On a
/// hypervisor each switch costs an exit, so a server that hops between threads more per request pays for it in CPU
/// that no stage of its own shows.
/// </summary>
internal static partial class ProcessSwitches
{
    private const int Self = 0;

    /// <summary>Voluntary (blocked, woke up) and involuntary (pre-empted) switches; zeros where unavailable.</summary>
    public static (long Voluntary, long Involuntary) Now()
    {
        if (!OperatingSystem.IsLinux())
        {
            return (0, 0);
        }

        // struct rusage on 64-bit Linux: two timevals (4 longs), then 14 longs; ru_nvcsw and ru_nivcsw are the last two.
        var usage = new long[18];
        return getrusage(Self, usage) == 0 ? (usage[16], usage[17]) : (0, 0);
    }

    [LibraryImport("libc", SetLastError = false)]
    private static partial int getrusage(int who, [Out] long[] usage);
}
