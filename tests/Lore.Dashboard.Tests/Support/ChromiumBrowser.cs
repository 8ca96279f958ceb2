using Microsoft.Playwright;
using Xunit;

[assembly: AssemblyFixture(typeof(Lore.Dashboard.Tests.Support.ChromiumBrowser))]

namespace Lore.Dashboard.Tests.Support;

/// <summary>
/// One headless Debian Chromium for the test run, driven by Playwright for .NET through the driver its NuGet package
/// ships (Playwright's own browser download is not used). A missing browser or driver fails the run with what to do,
/// never skips: a dashboard nobody tested in a browser is not tested.
/// </summary>
public sealed class ChromiumBrowser : IAsyncLifetime
{
    /// <summary>Debian's Chromium; <c>.ci/run</c> installs it with apt when missing. LORE_CHROMIUM overrides the path.</summary>
    public static string ExecutablePath => Environment.GetEnvironmentVariable("LORE_CHROMIUM") is { Length: > 0 } path ? path : "/usr/bin/chromium";

    private static readonly string[] Arguments =
    [
        "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run",
    ];

    private IPlaywright? _playwright;
    private IBrowser? _browser;

    public IBrowser Browser => _browser ?? throw new InvalidOperationException("The browser has not started.");

    public async ValueTask InitializeAsync()
    {
        if (!File.Exists(ExecutablePath))
        {
            throw new InvalidOperationException(
                $"Chromium is missing at {ExecutablePath}. The dashboard's browser tests need Debian's Chromium: run 'apt-get install -y chromium' (as .ci/run does), or set LORE_CHROMIUM to a Chromium binary.");
        }

        var driver = Path.Combine(AppContext.BaseDirectory, ".playwright");
        if (!Directory.Exists(Path.Combine(driver, "package")) || !Directory.Exists(Path.Combine(driver, "node")))
        {
            throw new InvalidOperationException(
                $"The Playwright driver is missing from the build output ({driver}): the Microsoft.Playwright package copies it there on build; rebuild the test project.");
        }

        _playwright = await Playwright.CreateAsync();
        _browser = await _playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ExecutablePath,
            Headless = true,
            Args = Arguments,
            Timeout = 60_000,
        });
    }

    /// <summary>A fresh browser context (its own cookies) with a page on the server.</summary>
    public async Task<IPage> NewPageAsync(DashboardServer server)
    {
        var context = await Browser.NewContextAsync(new BrowserNewContextOptions
        {
            BaseURL = server.BaseAddress.ToString(),
            ViewportSize = new ViewportSize { Width = 1360, Height = 1000 },
            Locale = "en-GB",
            TimezoneId = "UTC",
        });
        context.SetDefaultTimeout(20_000);
        return await context.NewPageAsync();
    }

    public async ValueTask DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.DisposeAsync();
        }

        _playwright?.Dispose();
    }
}
