using Microsoft.Playwright;

namespace Lore.Dashboard.Tests.Support;

/// <summary>
/// Screenshots of each page, kept as test artefacts under the test output (<c>screenshots/</c>); with
/// <c>LORE_UPDATE_SCREENSHOTS=1</c> they are also copied to <c>docs/screenshots/</c>, the ones docs/dashboard.md shows.
/// </summary>
internal static class Screenshots
{
    public static string Directory { get; } = Path.Combine(AppContext.BaseDirectory, "screenshots");

    public static async Task<string> TakeAsync(IPage page, string name)
    {
        System.IO.Directory.CreateDirectory(Directory);
        var path = Path.Combine(Directory, name + ".png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = path, FullPage = false, Animations = ScreenshotAnimations.Disabled });
        if (Environment.GetEnvironmentVariable("LORE_UPDATE_SCREENSHOTS") == "1" && RepositoryRoot() is { } root)
        {
            var docs = Path.Combine(root, "docs", "screenshots");
            System.IO.Directory.CreateDirectory(docs);
            File.Copy(path, Path.Combine(docs, name + ".png"), overwrite: true);
        }

        return path;
    }

    private static string? RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Lore.slnx")))
            {
                return dir.FullName;
            }
        }

        return null;
    }
}
