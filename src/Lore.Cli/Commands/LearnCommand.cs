using Lore.Cli.Infrastructure;
using Lore.Learning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class LearnCommand(IAnsiConsole console) : AsyncCommand<LearnCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--actor <NAME>")]
        [System.ComponentModel.Description("Who is recorded as creating the snapshot (default: the OS user).")]
        public string? Actor { get; init; }

        [CommandOption("--entry <STAGE>")]
        [System.ComponentModel.Description("Where a new snapshot enters the rollout: now (served at once, default), shadow, or canary.")]
        public string Entry { get; init; } = "now";

        [CommandOption("--share <SHARE>")]
        [System.ComponentModel.Description("With --entry canary: the share of units that get the new snapshot (default 0.1).")]
        public double Share { get; init; } = 0.1;

        [CommandOption("--tools <FILE>")]
        [System.ComponentModel.Description("A JSON object naming what tools do, e.g. {\"hold_seat\": \"stateChanging\", \"get_quote\": \"readOnly\"} (noOp, readOnly, stateChanging, moneyMoving, permissionChanging); tools it does not name are judged by their names.")]
        public string? Tools { get; init; }

        public override ValidationResult Validate()
            => Entry is not ("now" or "shadow" or "canary") ? ValidationResult.Error($"--entry '{Entry}' is not one of: now, shadow, canary.")
                : Share is <= 0 or > 1 ? ValidationResult.Error("--share must lie in (0, 1].")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var rollout = new RolloutPolicy
        {
            EntryStage = settings.Entry switch { "shadow" => RolloutStage.Shadow, "canary" => RolloutStage.Canary, _ => RolloutStage.None },
            CanaryShare = settings.Share,
        };
        var options = new LearningOptions();
        if (settings.Tools is not null)
        {
            options.Tools = ToolFile.Read(settings.Tools);
        }

        var pipeline = new LearningPipeline(store, options) { Rollout = rollout };
        var actor = settings.Actor ?? $"cli:{Environment.UserName}";

        LearningRun run;
        if (settings.Json)
        {
            run = await pipeline.RunAsync(settings.Tenant, actor, progress: null, cancellationToken);
            LoreTelemetry.LearningRunCompleted(run);
            Output.Json(console, run);
            return 0;
        }

        run = await console.Status().StartAsync("Learning...", async status =>
            await pipeline.RunAsync(settings.Tenant, actor, new Progress<string>(s => status.Status(Markup.Escape(s))), cancellationToken));
        LoreTelemetry.LearningRunCompleted(run);
        RunReport.Write(console, run);
        var servedId = run.SnapshotId ?? await store.GetActiveSnapshotIdAsync(settings.Tenant, cancellationToken);
        if (servedId is not null && await store.GetSnapshotAsync(servedId, cancellationToken) is { } served)
        {
            console.MarkupLineInterpolated($"Served by {served.Id} ({served.Lessons.Count} lessons), and why each is believed:");
            foreach (var lesson in served.Lessons)
            {
                console.MarkupLineInterpolated($"  {lesson.Id}: {Output.Belief(lesson)}");
            }
        }

        return 0;
    }
}

/// <summary>Prints a learning run the way people read it: what was looked at, proposed, kept, and produced.</summary>
internal static class RunReport
{
    public static void Write(IAnsiConsole console, LearningRun run)
    {
        console.MarkupLineInterpolated($"Learning run [bold]{run.Id}[/]: {run.EpisodesRead} episodes read ({run.NewEpisodes} new).");
        var table = new Table().AddColumns("extractor", "version", "candidates", "rejected", "time");
        foreach (var e in run.Extractors)
        {
            table.AddRow(Markup.Escape(e.Name), Markup.Escape(e.Version), e.Candidates.ToString(), e.Rejected.ToString(), $"{e.Elapsed.TotalMilliseconds:F0} ms");
        }

        console.Write(table);
        console.MarkupLineInterpolated($"Added {run.AddedLessonIds.Count}, updated {run.UpdatedLessonIds.Count}, merged {run.Merges.Count}, contradictions {run.Contradictions.Count}, retired {run.Retirements.Count}, dropped {run.Dropped.Count}.");
        foreach (var d in run.Dropped.Take(5))
        {
            console.MarkupLineInterpolated($"  dropped: {Output.Shorten(d, 400)}");
        }

        if (run.Dropped.Count > 5)
        {
            console.MarkupLineInterpolated($"  ... and {run.Dropped.Count - 5} more dropped (see --json).");
        }

        foreach (var a in run.Admissions.Where(a => a.Status != LessonStatus.Active))
        {
            console.Markup(a.Status == LessonStatus.Rejected ? "  [yellow]rejected[/] " : "  queued for review ");
            console.MarkupLineInterpolated($"{a.LessonId}: {string.Join(", ", a.Rules)}");
        }

        foreach (var c in run.Contradictions)
        {
            console.MarkupLineInterpolated($"  contradiction {c.FirstId} vs {c.SecondId}: kept {c.WinnerId} ({c.Method}: {c.Reason})");
        }

        foreach (var r in run.Retirements)
        {
            console.MarkupLineInterpolated($"  retired {r.LessonId}: {r.Reason}");
        }

        if (run.SnapshotId is null)
        {
            console.MarkupLine("No change to the served lessons: no new snapshot.");
        }
        else
        {
            console.MarkupLineInterpolated($"New snapshot [green]{run.SnapshotId}[/] (parent {run.ParentSnapshotId ?? "none"}).");
        }
    }
}

/// <summary>Reads a tool-effects file: one JSON object, tool name to effect name; errors name the file and the entry.</summary>
internal static class ToolFile
{
    public static ToolCatalog Read(string path)
    {
        if (!File.Exists(path))
        {
            throw new CliException($"--tools: no file at {Path.GetFullPath(path)}.");
        }

        System.Text.Json.JsonDocument document;
        try
        {
            document = System.Text.Json.JsonDocument.Parse(File.ReadAllText(path));
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new CliException($"--tools: {path} is not JSON ({e.Message}).");
        }

        using (document)
        {
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                throw new CliException($"--tools: {path} must hold one JSON object of tool name to effect.");
            }

            var catalog = new ToolCatalog();
            foreach (var entry in document.RootElement.EnumerateObject())
            {
                if (string.IsNullOrWhiteSpace(entry.Name)
                    || entry.Value.ValueKind != System.Text.Json.JsonValueKind.String
                    || !Enum.TryParse<ToolEffect>(entry.Value.GetString(), ignoreCase: true, out var effect)
                    || !Enum.IsDefined(effect)
                    || int.TryParse(entry.Value.GetString(), out _))
                {
                    throw new CliException($"--tools: {path}: '{entry.Name}' has {entry.Value.GetRawText()}; expected one of noOp, readOnly, stateChanging, moneyMoving, permissionChanging.");
                }

                catalog.Set(entry.Name, effect);
            }

            return catalog;
        }
    }
}
