using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class LessonsListCommand(IAnsiConsole console) : AsyncCommand<LessonsListCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--all")]
        [Description("Every lesson ever learned for the tenant, retired ones included, not just those served.")]
        public bool All { get; init; }

        [CommandOption("--kind <KIND>")]
        [Description("Only lessons of this kind: guideline, procedure, toolGuide, antiPattern, userFact.")]
        public string? Kind { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        LessonKind? kind = null;
        if (settings.Kind is not null)
        {
            kind = Enum.TryParse<LessonKind>(settings.Kind, ignoreCase: true, out var k)
                ? k
                : throw new CliException($"--kind '{settings.Kind}' is not one of {string.Join(", ", Enum.GetNames<LessonKind>())}.");
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        IReadOnlyList<Lesson> lessons;
        string scope;
        if (settings.All)
        {
            lessons = await store.ListLessonsAsync(new LessonQuery { Tenant = settings.Tenant, IncludeRetired = true, Kind = kind }, cancellationToken);
            scope = "all lessons";
        }
        else
        {
            var activeId = await store.GetActiveSnapshotIdAsync(settings.Tenant, cancellationToken);
            var snapshot = activeId is null ? null : await store.GetSnapshotAsync(activeId, cancellationToken);
            lessons = (snapshot?.Lessons ?? []).Where(l => kind is null || l.Kind == kind).ToArray();
            scope = activeId is null ? "no active snapshot" : $"served by {activeId}";
        }

        if (settings.Json)
        {
            // A retired lesson keeps the admission status it had; what a reader asks is whether it is in service.
            Output.Json(console, lessons.Select(l => l.IsRetired && l.Status == LessonStatus.Active ? l with { Status = LessonStatus.Retired } : l).ToArray());
            return 0;
        }

        var table = new Table().AddColumns("id", "kind", "text", "episodes", "sources", "confidence", "status");
        foreach (var l in lessons)
        {
            table.AddRow(
                Markup.Escape(l.Id),
                l.Kind.ToString(),
                Markup.Escape(Output.Shorten(l.Text, 90)),
                l.Evidence.EpisodeCount.ToString(),
                l.Evidence.DistinctSources.ToString(),
                l.Confidence.ToString("F2", System.Globalization.CultureInfo.InvariantCulture),
                Status(l));
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{lessons.Count} lessons ({scope}).");
        return 0;
    }

    /// <summary>The admission status; a lesson with a retirement date counts as retired unless it was rejected.</summary>
    internal static string Status(Lesson lesson) => LessonStatusNames.Of(lesson);
}

internal sealed class LessonsShowCommand(IAnsiConsole console) : AsyncCommand<LessonsShowCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The lesson id.")]
        public string Id { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var lesson = await store.GetLessonAsync(settings.Id, cancellationToken);
        if (lesson is null || lesson.Scope.Tenant != settings.Tenant)
        {
            throw new CliException($"no lesson '{settings.Id}' for tenant '{settings.Tenant}' (see 'lore lessons list --all').");
        }

        if (settings.Json)
        {
            Output.Json(console, lesson);
            return 0;
        }

        var grid = new Grid().AddColumn().AddColumn();
        void Row(string k, string v) => grid.AddRow(new Markup($"[bold]{k}[/]"), new Text(v));
        Row("id", lesson.Id);
        Row("kind", lesson.Kind.ToString());
        Row("text", lesson.Text);
        Row("trigger", Output.Trigger(lesson.Trigger));
        Row("scope", $"tenant {lesson.Scope.Tenant}" +
            (lesson.Scope.UnitKey is { } u ? $", unit {u}" : "") +
            (lesson.Scope.Labels.Count > 0 ? ", labels " + string.Join(",", lesson.Scope.Labels.Select(p => $"{p.Key}={p.Value}")) : "") +
            (lesson.Scope.Tools.Count > 0 ? ", tools " + string.Join(",", lesson.Scope.Tools) : ""));
        Row("extractor", $"{lesson.Extractor.Name} {lesson.Extractor.Version}");
        Row("confidence", lesson.Confidence.ToString("F3", System.Globalization.CultureInfo.InvariantCulture));
        var e = lesson.Evidence;
        Row("evidence", $"{e.EpisodeCount} episodes, {e.DistinctSources} distinct sources, support {e.Support}" +
            (e.Lift is { } lift ? $", lift {lift:F2}" : "") +
            (e.IntervalLow is { } lo && e.IntervalHigh is { } hi ? $", interval [{lo:F2}, {hi:F2}]" : ""));
        Row("episodes", string.Join(", ", e.EpisodeIds.Take(20)) + (e.EpisodeIds.Count > 20 ? $", … ({e.EpisodeIds.Count} listed)" : ""));
        if (lesson.Effect is { } effect)
        {
            Row("measured effect", $"with {Output.Percent(effect.WithSuccessRate)} (n={effect.WithCount}) vs without {Output.Percent(effect.WithoutSuccessRate)} (n={effect.WithoutCount})");
        }

        Row("status", LessonsListCommand.Status(lesson));
        Row("created", Output.Time(lesson.CreatedAt));
        if (lesson.RetiredAt is { } retired)
        {
            Row("retired", $"{Output.Time(retired)}: {lesson.RetiredReason}");
        }

        console.Write(grid);
        return 0;
    }
}
