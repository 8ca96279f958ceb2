using Microsoft.Extensions.Logging;

namespace Lore.MultiHost.Probe;

/// <summary>
/// Turns the runtime's "Serving snapshot ..." log event (written the moment a new rollout is swapped in) into a
/// "serving STABLE CANDIDATE TICKS" line, so tests see when each host starts serving a change without polling it.
/// Other log events go to stderr.
/// </summary>
internal sealed class ServingLines : ILoggerFactory, ILogger
{
    public ILogger CreateLogger(string categoryName) => this;

    public void AddProvider(ILoggerProvider provider)
    {
    }

    public void Dispose()
    {
    }

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        if (state is IReadOnlyList<KeyValuePair<string, object?>> values
            && values.FirstOrDefault(v => v.Key == "{OriginalFormat}").Value is string format
            && format.StartsWith("Serving snapshot", StringComparison.Ordinal))
        {
            var stable = values.First(v => v.Key == "SnapshotId").Value;
            var candidate = values.First(v => v.Key == "Candidate").Value;
            ProbeOutput.Line($"serving {stable} {candidate} {ProbeOutput.Now}");
            return;
        }

        if (logLevel >= LogLevel.Warning)
        {
            Console.Error.WriteLine($"{logLevel}: {formatter(state, exception)} {exception?.GetType().Name}: {exception?.Message}");
        }
    }
}
