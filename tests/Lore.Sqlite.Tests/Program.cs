namespace Lore.Sqlite.Tests;

/// <summary>
/// The test executable's entry point. With <c>--crash-writer PATH</c> it is the child process that
/// <see cref="CrashDurabilityTests"/> kills mid-write; with <c>--measure DIR</c> it prints throughput figures;
/// otherwise it runs the tests exactly as xunit's generated entry point would.
/// </summary>
internal static class Program
{
    public static int Main(string[] args)
    {
        if (args.Length == 2 && args[0] == CrashWriter.Flag)
        {
            return CrashWriter.RunAsync(args[1]).GetAwaiter().GetResult();
        }

        if (args.Length == 2 && args[0] == Throughput.Flag)
        {
            return Throughput.RunAsync(args[1]).GetAwaiter().GetResult();
        }

        if (args.Any(arg => arg is "--server" or "--internal-msbuild-node"))
        {
            return Xunit.MicrosoftTestingPlatform.TestPlatformTestFramework.RunAsync(args, SelfRegisteredExtensions.AddSelfRegisteredExtensions).GetAwaiter().GetResult();
        }

        return Xunit.Runner.InProc.SystemConsole.ConsoleRunner.Run(args).GetAwaiter().GetResult();
    }
}
