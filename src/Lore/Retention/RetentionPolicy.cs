using System.Globalization;
using System.Text.Json;

namespace Lore;

/// <summary>
/// Which data and lessons a tenant keeps, read from a JSON file: episodes older than a maximum age are deleted (with
/// the erasure cascade), lessons never injected for a number of days are retired as stale, and lessons whose measured
/// effect is below a minimum are retired. Any rule may be left out; at least one must be given.
/// </summary>
/// <example>
/// <code>
/// { "maxEpisodeAgeDays": 365, "unusedLessonDays": 60, "minLessonEffect": -0.05, "minEffectEpisodes": 50 }
/// </code>
/// </example>
public sealed record RetentionPolicy
{
    /// <summary>Episodes that started more than this many days ago are deleted.</summary>
    public double? MaxEpisodeAgeDays { get; init; }

    /// <summary>Served lessons not injected into any episode for this many days (and served at least that long) are retired.</summary>
    public double? UnusedLessonDays { get; init; }

    /// <summary>Served lessons whose measured effect (success with minus without, within slices) is below this are retired.</summary>
    public double? MinLessonEffect { get; init; }

    /// <summary>Episodes needed on each side, in a slice, before a lesson's effect counts as measured (default 30).</summary>
    public int MinEffectEpisodes { get; init; } = 30;

    private static readonly string[] Fields = ["maxEpisodeAgeDays", "unusedLessonDays", "minLessonEffect", "minEffectEpisodes"];

    /// <summary>Reads a policy file; throws <see cref="FormatException"/> naming the file and the field that is wrong.</summary>
    public static RetentionPolicy Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        string json;
        try
        {
            json = File.ReadAllText(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new FormatException($"Cannot read the retention policy {path}: {e.Message}", e);
        }

        return Parse(json, path);
    }

    /// <summary>Parses a policy; <paramref name="source"/> names it in errors. Unknown fields are errors, so a typo never silently disables a rule.</summary>
    public static RetentionPolicy Parse(string json, string source = "retention policy")
    {
        ArgumentNullException.ThrowIfNull(json);
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
        }
        catch (JsonException e)
        {
            throw new FormatException($"{source}: not valid JSON (line {(e.LineNumber ?? 0) + 1}): {e.Message}", e);
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw new FormatException($"{source}: the policy must be a JSON object with any of {string.Join(", ", Fields)}; found a JSON {root.ValueKind.ToString().ToLowerInvariant()}.");
            }

            double? maxAge = null, unused = null, minEffect = null;
            int? minEpisodes = null;
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (!seen.Add(property.Name))
                {
                    throw new FormatException($"{source}: field '{property.Name}' appears twice.");
                }

                switch (property.Name)
                {
                    case "maxEpisodeAgeDays":
                        maxAge = PositiveDays(property, source);
                        break;
                    case "unusedLessonDays":
                        unused = PositiveDays(property, source);
                        break;
                    case "minLessonEffect":
                        minEffect = Number(property, source, "a success-rate difference between -1 and 1 (for example -0.05)");
                        if (minEffect is < -1 or > 1)
                        {
                            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}: field 'minLessonEffect' must lie between -1 and 1 (a difference of success rates), not {minEffect}."));
                        }

                        break;
                    case "minEffectEpisodes":
                        var episodes = Number(property, source, "a whole number of episodes, at least 1");
                        if (episodes < 1 || episodes != Math.Floor(episodes) || episodes > 1_000_000)
                        {
                            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}: field 'minEffectEpisodes' must be a whole number of episodes from 1 to 1000000, not {episodes}."));
                        }

                        minEpisodes = (int)episodes;
                        break;
                    default:
                        throw new FormatException($"{source}: unknown field '{property.Name}'; a retention policy has {string.Join(", ", Fields)}.");
                }
            }

            if (maxAge is null && unused is null && minEffect is null)
            {
                throw new FormatException($"{source}: the policy names no rule; give at least one of maxEpisodeAgeDays, unusedLessonDays, minLessonEffect.");
            }

            if (minEpisodes is not null && minEffect is null)
            {
                throw new FormatException($"{source}: field 'minEffectEpisodes' only applies with 'minLessonEffect', which is missing.");
            }

            return new RetentionPolicy { MaxEpisodeAgeDays = maxAge, UnusedLessonDays = unused, MinLessonEffect = minEffect, MinEffectEpisodes = minEpisodes ?? 30 };
        }
    }

    private static double PositiveDays(JsonProperty property, string source)
    {
        var days = Number(property, source, "a positive number of days");
        if (days <= 0 || days > 36_500)
        {
            throw new FormatException(string.Create(CultureInfo.InvariantCulture, $"{source}: field '{property.Name}' must be a positive number of days (at most 36500), not {days}."));
        }

        return days;
    }

    private static double Number(JsonProperty property, string source, string expected)
    {
        if (property.Value.ValueKind != JsonValueKind.Number || !property.Value.TryGetDouble(out var value) || !double.IsFinite(value))
        {
            throw new FormatException($"{source}: field '{property.Name}' must be {expected}, not {property.Value.GetRawText()}.");
        }

        return value;
    }
}
