using System.Diagnostics;
using System.Reflection;
using System.Text.RegularExpressions;
using Lore.Dashboard.Tests.Support;
using Lore.Testing;
using Microsoft.Playwright;
using Xunit;
using static Microsoft.Playwright.Assertions;

namespace Lore.Dashboard.Tests;

/// <summary><c>lore demo --serve</c> run as a new user runs it: a process whose printed URL and key open a dashboard that fills while the scenario runs.</summary>
public sealed partial class DemoServeTests(ChromiumBrowser chromium)
{
    /// <summary>
    /// How long any one condition may take: the demo is a separate process paced by wall-clock time, and on a loaded
    /// two-core machine its start, the scenario and the browser can each take minutes. Each wait ends as soon as its
    /// condition holds, so the deadline costs nothing when the machine is idle.
    /// </summary>
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(5);

    private static readonly float GenerousMs = (float)Generous.TotalMilliseconds;

    [Fact]
    public async Task Lore_demo_serve_prints_the_dashboard_and_a_key_and_the_dashboard_fills_while_the_drift_scenario_runs()
    {
        using var directory = new TempDirectory();
        var output = new List<string>();
        var printed = new TaskCompletionSource<(string Url, string Key)>(TaskCreationOptions.RunContinuationsAsynchronously);
        var over = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        string? url = null;
        using var demo = new Process
        {
            StartInfo = new ProcessStartInfo("dotnet")
            {
                ArgumentList = { CliPath(), "demo", "--serve", "--pace", "0.05", "--urls", "http://127.0.0.1:0", "--store", directory.File("lore.db") },
                RedirectStandardOutput = true,
                RedirectStandardError = true,
                WorkingDirectory = directory.Path,
                Environment = { ["COLUMNS"] = "400", ["NO_COLOR"] = "1" },
            },
        };
        demo.OutputDataReceived += (_, e) =>
        {
            if (e.Data is not { } line)
            {
                return;
            }

            lock (output)
            {
                output.Add(line);
            }

            if (DashboardLine().Match(line) is { Success: true } m)
            {
                url = m.Groups[1].Value;
            }
            else if (line.StartsWith("lore_", StringComparison.Ordinal) && url is not null)
            {
                printed.TrySetResult((url, line.Trim()));
            }
            else if (line.Contains("The scenario is over", StringComparison.Ordinal))
            {
                over.TrySetResult();
            }
        };
        demo.ErrorDataReceived += (_, e) =>
        {
            if (e.Data is { } line)
            {
                lock (output)
                {
                    output.Add(line);
                }
            }
        };
        demo.Start();
        demo.BeginOutputReadLine();
        demo.BeginErrorReadLine();
        try
        {
            var (dashboard, key) = await printed.Task.WaitAsync(Generous, TestContext.Current.CancellationToken);
            var context = await chromium.Browser.NewContextAsync(new BrowserNewContextOptions { BaseURL = dashboard.Replace("/dashboard", "/", StringComparison.Ordinal) });
            context.SetDefaultTimeout(GenerousMs);
            var page = await context.NewPageAsync();
            await DashboardBrowsing.SignInAsync(page, key);

            // The page fills by itself while the scenario runs: the automatic rollback appears without a click.
            await Expect(page.Locator("[data-testid=events] tr[data-action='snapshot.rolled-back']")).ToHaveCountAsync(1, new() { Timeout = GenerousMs });
            await Expect(page.Locator("[data-testid=events] tr[data-action='lesson.rejected']")).ToHaveCountAsync(1, new() { Timeout = GenerousMs });
            await over.Task.WaitAsync(Generous, TestContext.Current.CancellationToken);
            await Expect(page.Locator("[data-testid=events] tr[data-action='snapshot.promoted']").First).ToContainTextAsync("rollout-monitor", new() { Timeout = GenerousMs });

            // After the run the server keeps serving until stopped.
            await DashboardBrowsing.GotoAsync(page, "/dashboard/outcomes");
            await Expect(page.GetByTestId("chart-overall")).ToBeVisibleAsync(new() { Timeout = GenerousMs });
            await context.CloseAsync();
        }
        catch (Exception e) when (e is TimeoutException or PlaywrightException)
        {
            lock (output)
            {
                throw new InvalidOperationException("lore demo --serve printed:\n" + string.Join('\n', output), e);
            }
        }
        finally
        {
            if (!demo.HasExited)
            {
                // SIGTERM, as a service manager stops it; the demo stops serving and exits.
                Process.Start("kill", ["-TERM", demo.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]).WaitForExit();
                if (!demo.WaitForExit(30_000))
                {
                    demo.Kill(entireProcessTree: true);
                }
            }
        }

        Assert.Equal(0, demo.ExitCode);
    }

    [GeneratedRegex(@"^Dashboard: (http://\S+/dashboard)")]
    private static partial Regex DashboardLine();

    /// <summary>The lore command built next to this test project, in the same configuration.</summary>
    private static string CliPath()
    {
        var configuration = typeof(DemoServeTests).Assembly.GetCustomAttribute<AssemblyConfigurationAttribute>()?.Configuration ?? "Debug";
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var cli = Path.Combine(dir.FullName, "src", "Lore.Cli", "bin", configuration, "net10.0", "Lore.Cli.dll");
            if (File.Exists(cli))
            {
                return cli;
            }
        }

        throw new InvalidOperationException($"Lore.Cli.dll ({configuration}) was not found above {AppContext.BaseDirectory}; build src/Lore.Cli.");
    }
}
