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
        var pipeline = new LearningPipeline(store, new LearningOptions()) { Rollout = rollout };
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
