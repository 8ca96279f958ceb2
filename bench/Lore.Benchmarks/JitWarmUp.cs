namespace Lore.Benchmarks;

/// <summary>
/// Warms a measured path up until tiered compilation has settled. The JIT keeps promoting hot methods on a background
/// thread for seconds after they first run; measured before then, a bench reads code still at tier 0 and counts the
/// compiler's CPU (on a two-core machine, one of the two cores) as the path's own.
/// </summary>
internal static class JitWarmUp
{
    /// <summary>
    /// Runs <paramref name="slice"/> until a run of it, after the first <paramref name="minSlices"/> (tier-up waits
    /// for call counting to start), compiles at most <paramref name="settledMethods"/> methods in at most
    /// <paramref name="settledJit"/>, or <paramref name="maxSlices"/> runs; returns a line saying which it was.
    /// </summary>
    public static async Task<string> RunUntilSettledAsync(Func<Task> slice, string sliceName, int minSlices, int maxSlices, int settledMethods, TimeSpan settledJit)
    {
        var jit = TimeSpan.Zero;
        for (var i = 1; i <= maxSlices; i++)
        {
            var methods = System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false);
            var time = System.Runtime.JitInfo.GetCompilationTime(currentThread: false);
            await slice();
            var sliceJit = System.Runtime.JitInfo.GetCompilationTime(currentThread: false) - time;
            jit += sliceJit;
            if (i >= minSlices && System.Runtime.JitInfo.GetCompiledMethodCount(currentThread: false) - methods <= settledMethods && sliceJit <= settledJit)
            {
                return FormattableString.Invariant($"{i} {sliceName} until one compiled at most {settledMethods} methods in at most {settledJit.TotalMilliseconds:F0} ms ({jit.TotalMilliseconds:F0} ms of JIT in all)");
            }
        }

        return FormattableString.Invariant($"{maxSlices} {sliceName}, and the JIT had not settled ({jit.TotalMilliseconds:F0} ms of JIT in all)");
    }

    /// <summary>Time the JIT has spent compiling in this process so far, on any thread.</summary>
    public static TimeSpan CompilationTime => System.Runtime.JitInfo.GetCompilationTime(currentThread: false);
}
