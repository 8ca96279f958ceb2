using System.Text.Json;
using System.Text.RegularExpressions;

namespace Lore.Benchmarks.LearningQuality;

/// <summary>
/// The labels of lessons learned from the airline trajectories (<c>airline-dev-labels.json</c>): what an expert holding
/// the written policy says of each lesson text, and the true lessons the data supports.
/// </summary>
internal sealed record LessonLabels(
    string Dataset,
    IReadOnlyList<(Regex Pattern, string Label, string Why)> Rules,
    IReadOnlyList<(string Name, Regex Pattern)> Supported)
{
    public static async Task<LessonLabels> LoadAsync()
    {
        var path = Path.Combine(AppContext.BaseDirectory, "LearningQuality", "airline-dev-labels.json");
        using var labels = JsonDocument.Parse(await File.ReadAllTextAsync(path));
        var root = labels.RootElement;
        return new LessonLabels(
            root.GetProperty("dataset").GetString()!,
            [.. root.GetProperty("labels").EnumerateArray()
                .Select(l => (new Regex(l.GetProperty("match").GetString()!, RegexOptions.CultureInvariant), l.GetProperty("label").GetString()!, l.GetProperty("why").GetString()!))],
            [.. root.GetProperty("supported").EnumerateArray()
                .Select(l => (l.GetProperty("name").GetString()!, new Regex(l.GetProperty("match").GetString()!, RegexOptions.CultureInvariant)))]);
    }

    /// <summary>The label of the first rule matching the lesson's text, or "unlabelled".</summary>
    public string LabelOf(string text) => Rules.FirstOrDefault(r => r.Pattern.IsMatch(text)).Label ?? "unlabelled";
}
