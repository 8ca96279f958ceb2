using Xunit;

namespace Lore.Testing;

/// <summary>
/// Finds the team's shared data folder (../shared beside the project root). Tests that need it skip with a clear
/// message when the folder is absent, so the project still builds and passes its tests on its own.
/// </summary>
public static class SharedData
{
    public const string TauBenchFileName = "tau-bench-airline-gpt-4o-sample.json";

    /// <summary>The path of a file under shared/data, or null when the shared folder is not beside the project.</summary>
    public static string? TryFind(string fileName)
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var candidate = Path.Combine(dir.FullName, "shared", "data", fileName);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        return null;
    }

    /// <summary>The path of the file, or skips the current test naming what is missing.</summary>
    public static string RequireOrSkip(string fileName)
    {
        var path = TryFind(fileName);
        Assert.SkipWhen(path is null, $"../shared/data/{fileName} is not present beside the project; this test reads real shared data and is skipped without it.");
        return path!;
    }

    public static string TauBenchOrSkip() => RequireOrSkip(TauBenchFileName);
}
