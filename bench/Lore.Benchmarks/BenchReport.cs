using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;

namespace Lore.Benchmarks;

/// <summary>Prints figures as markdown rows ready for BENCHMARKS.md, with the machine they were measured on.</summary>
internal sealed class BenchReport
{
    public void Header()
    {
        Console.WriteLine($"# Lore benchmarks, {DateTime.UtcNow:yyyy-MM-dd HH:mm}Z");
        Console.WriteLine($"machine: {Environment.ProcessorCount} logical cores, {RuntimeInformation.OSDescription}, {RuntimeInformation.ProcessArchitecture}, .NET {Environment.Version}");
        Console.WriteLine($"command: dotnet run -c Release --project bench/Lore.Benchmarks -- {string.Join(' ', Environment.GetCommandLineArgs().Skip(1))}");
        Console.WriteLine();
    }

    public void Section(string title)
    {
        Console.WriteLine();
        Console.WriteLine($"## {title}");
    }

    public void Line(string text) => Console.WriteLine(text);

    public static string Us(double ticks) => (ticks * 1_000_000.0 / Stopwatch.Frequency).ToString("F1", CultureInfo.InvariantCulture) + " µs";

    public static string N(double value, string format = "F0") => value.ToString(format, CultureInfo.InvariantCulture);
}

/// <summary>Latency samples in Stopwatch ticks, with percentiles.</summary>
internal sealed class Samples(int capacity)
{
    private readonly List<long> _ticks = new(capacity);

    public void Add(long ticks) => _ticks.Add(ticks);

    public int Count => _ticks.Count;

    public double Percentile(double p)
    {
        var sorted = _ticks.Order().ToArray();
        if (sorted.Length == 0)
        {
            return 0;
        }

        var rank = (int)Math.Ceiling(p / 100.0 * sorted.Length) - 1;
        return sorted[Math.Clamp(rank, 0, sorted.Length - 1)];
    }

    public double Mean => _ticks.Count == 0 ? 0 : _ticks.Average();
}
