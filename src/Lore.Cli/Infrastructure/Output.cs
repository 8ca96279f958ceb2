using System.Text.Json;
using Spectre.Console;

namespace Lore.Cli.Infrastructure;

/// <summary>Writes command results: JSON for scripts (unwrapped, one document), tables and text for people.</summary>
internal static class Output
{
    public static void Json<T>(IAnsiConsole console, T value)
    {
        var writer = console.Profile.Out.Writer;
        writer.WriteLine(JsonSerializer.Serialize(value, LoreJson.Indented));
        writer.Flush();
    }

    public static string Percent(double rate) => rate.ToString("P1", System.Globalization.CultureInfo.InvariantCulture);

    public static string Time(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>How a lesson decides that it applies, in one line.</summary>
    public static string Trigger(LessonTrigger trigger) => trigger.Kind switch
    {
        TriggerKind.Always => "always",
        TriggerKind.Keywords => "keywords: " + string.Join(", ", trigger.Keywords),
        _ => "description: " + trigger.Description,
    };

    /// <summary>Why a lesson is believed, in one line: distinct tasks and sources, the behaviour shown working, the measured effect.</summary>
    public static string Belief(Lesson lesson)
    {
        var e = lesson.Evidence;
        var line = $"{e.EpisodeCount} episodes from {e.DistinctTasks} tasks and {e.DistinctSources} sources";
        if (e.ExemplarCount > 0)
        {
            line += $"; the advice worked in {e.ExemplarCount} episodes ({e.ExemplarTasks} tasks, {e.ExemplarSources} sources)";
        }

        line += lesson.Effect is { } effect
            ? string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; measured {effect.Delta:+0.0%;-0.0%} success with it ({effect.WithCount} vs {effect.WithoutCount} episodes)")
            : "; effect not measured yet";
        return line + string.Create(System.Globalization.CultureInfo.InvariantCulture, $"; confidence {lesson.Confidence:F2} ({lesson.Extractor.Name})");
    }

    public static string Shorten(string text, int max) => text.Length <= max ? text : text[..(max - 1)] + "…";
}
