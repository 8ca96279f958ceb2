using System.Diagnostics;
using System.Globalization;

namespace Lore.PostgreSql.Tests.MultiHost;

/// <summary>
/// A child process of a multi-host test (an agent host, the lore CLI's worker): started with <c>dotnet DLL args</c>,
/// driven through stdin, observed through its stdout lines, which are kept in order. Waiting is on lines, never on
/// time: <see cref="WaitForLineAsync"/> returns as soon as a matching line has been printed (or fails after a
/// generous timeout, naming what was printed).
/// </summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    public static readonly TimeSpan Generous = TimeSpan.FromSeconds(90);

    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<string> _errors = [];
    private readonly Lock _gate = new();
    private TaskCompletionSource _printed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _ended;

    private ChildProcess(string name, Process process)
    {
        Name = name;
        _process = process;
    }

    public string Name { get; }

    public int Id => _process.Id;

    /// <summary>Starts <c>dotnet</c> on an assembly beside the tests (the probe, the lore CLI).</summary>
    public static ChildProcess Start(string name, string assembly, params string[] arguments)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = AppContext.BaseDirectory,
        };
        info.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, assembly));
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var child = new ChildProcess(name, process);
        process.OutputDataReceived += (_, e) => child.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is not null)
            {
                lock (child._gate)
                {
                    child._errors.Add(e.Data);
                }
            }
        };
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return child;
    }

    /// <summary>Every stdout line so far.</summary>
    public IReadOnlyList<string> Lines
    {
        get
        {
            lock (_gate)
            {
                return [.. _lines];
            }
        }
    }

    public bool HasExited => _process.HasExited;

    public async Task SendAsync(string command)
    {
        await _process.StandardInput.WriteLineAsync(command);
        await _process.StandardInput.FlushAsync();
    }

    /// <summary>Waits for the first line (from <paramref name="from"/> on) that <paramref name="match"/> accepts; returns its index and text.</summary>
    public async Task<(int Index, string Line)> WaitForLineAsync(Func<string, bool> match, int from = 0, string? what = null)
    {
        using var timeout = new CancellationTokenSource(Generous);
        while (true)
        {
            Task printed;
            bool ended;
            lock (_gate)
            {
                for (var i = from; i < _lines.Count; i++)
                {
                    if (match(_lines[i]))
                    {
                        return (i, _lines[i]);
                    }
                }

                printed = _printed.Task;
                ended = _ended;
            }

            if (ended)
            {
                throw new InvalidOperationException($"{Name} closed its output (exited) before printing {what ?? "the expected line"}.{Describe()}");
            }

            try
            {
                await printed.WaitAsync(timeout.Token);
            }
            catch (OperationCanceledException)
            {
                throw new TimeoutException($"{Name} did not print {what ?? "the expected line"} within {Generous.TotalSeconds:F0} s.{Describe()}");
            }
        }
    }

    /// <summary>Waits until <paramref name="done"/> holds for the lines printed so far.</summary>
    public async Task WaitUntilAsync(Func<IReadOnlyList<string>, bool> done, string what)
    {
        var seen = 0;
        while (true)
        {
            var lines = Lines;
            if (done(lines))
            {
                return;
            }

            seen = lines.Count;
            await WaitForLineAsync(_ => true, seen, what);
        }
    }

    /// <summary>The wall-clock time stamped at the end of a probe line (UTC ticks).</summary>
    public static DateTime StampOf(string line) => new(long.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture), DateTimeKind.Utc);

    /// <summary>Kills the process at once, as a crash would (no cleanup runs in it).</summary>
    public void Kill()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            _process.WaitForExit();
        }
    }

    public ValueTask DisposeAsync()
    {
        Kill();
        _process.Dispose();
        return ValueTask.CompletedTask;
    }

    private void OnLine(string? line)
    {
        lock (_gate)
        {
            if (line is not null)
            {
                _lines.Add(line);
            }
            else
            {
                _ended = true; // end of stdout: the process is exiting
            }

            var printed = _printed;
            _printed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            printed.TrySetResult();
        }
    }

    private string Describe()
    {
        lock (_gate)
        {
            return $"\n--- stdout (last 20) ---\n{string.Join('\n', _lines.TakeLast(20))}\n--- stderr (last 20) ---\n{string.Join('\n', _errors.TakeLast(20))}";
        }
    }
}
