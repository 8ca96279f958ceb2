using System.ComponentModel;
using System.Globalization;
using Lore.Cli.Infrastructure;
using Lore.Learning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>Opens the tenant's review queue over the store, with the same pipeline (policy, publication) `lore learn` uses.</summary>
internal static class ReviewQueues
{
    public static ReviewQueue Open(ILoreStore store, string tenant, RolloutPolicy? rollout = null)
        => new(new LearningPipeline(store, new LearningOptions()) { Rollout = rollout }, tenant);

    /// <summary>Runs a decision, turning the queue's refusals into the one line a user reads.</summary>
    public static async Task<ReviewOutcome> DecideAsync(Func<Task<ReviewOutcome>> decide)
    {
        try
        {
            return await decide();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or ArgumentException)
        {
            throw new CliException(e.Message);
        }
    }
}

internal sealed class ReviewListCommand(IAnsiConsole console) : AsyncCommand<StoreSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, StoreSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var pending = await ReviewQueues.Open(store, settings.Tenant).ListAsync(cancellationToken);
        if (settings.Json)
        {
            Output.Json(console, pending);
            return 0;
        }

        var table = new Table().AddColumns("id", "kind", "text", "episodes", "sources", "confidence", "why it waits");
        foreach (var l in pending)
        {
            table.AddRow(
                Markup.Escape(l.Id),
                l.Kind.ToString(),
                Markup.Escape(Output.Shorten(l.Text, 70)),
                l.Evidence.EpisodeCount.ToString(CultureInfo.InvariantCulture),
                l.Evidence.DistinctSources.ToString(CultureInfo.InvariantCulture),
                l.Confidence.ToString("F2", CultureInfo.InvariantCulture),
                Markup.Escape(string.Join("; ", l.GuardFindings.Select(f => $"{f.Rule}: {f.Detail}"))));
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{pending.Count} lessons waiting for review (tenant {settings.Tenant}).");
        if (pending.Count > 0)
        {
            console.MarkupLine("Decide with: lore review approve ID --reason \"...\"  or  lore review reject ID --reason \"...\"");
        }

        return 0;
    }
}

/// <summary>Options of a review decision: the lesson, the reason (required) and who decides.</summary>
internal class ReviewDecisionSettings : StoreSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The lesson id (see 'lore review list').")]
    public string Id { get; init; } = "";

    [CommandOption("--reason <TEXT>")]
    [Description("Why; required, kept on the lesson and in the audit log.")]
    public string? Reason { get; init; }

    [CommandOption("--actor <NAME>")]
    [Description("Who decides (default: cli:<OS user>).")]
    public string? Actor { get; init; }

    public string Reviewer => string.IsNullOrWhiteSpace(Actor) ? $"cli:{Environment.UserName}" : Actor;

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Reason)
            ? ValidationResult.Error("--reason is required: say why the lesson is approved or rejected.")
            : ValidationResult.Success();
}

/// <summary>An approval also says where its snapshot enters the rollout, as <c>lore learn</c> does.</summary>
internal sealed class ReviewApproveSettings : ReviewDecisionSettings
{
    [CommandOption("--entry <STAGE>")]
    [Description("Where the snapshot containing the lesson enters the rollout: now (served at once, default), shadow, or canary.")]
    public string Entry { get; init; } = "now";

    [CommandOption("--share <SHARE>")]
    [Description("With --entry canary: the share of units that get it (default 0.1).")]
    public double Share { get; init; } = 0.1;

    public RolloutPolicy Rollout => new()
    {
        EntryStage = Entry switch { "shadow" => RolloutStage.Shadow, "canary" => RolloutStage.Canary, _ => RolloutStage.None },
        CanaryShare = Share,
    };

    public override ValidationResult Validate()
        => Entry is not ("now" or "shadow" or "canary") ? ValidationResult.Error($"--entry '{Entry}' is not one of: now, shadow, canary.")
            : Share is <= 0 or > 1 ? ValidationResult.Error("--share must lie in (0, 1].")
            : base.Validate();
}

internal sealed class ReviewApproveCommand(IAnsiConsole console) : AsyncCommand<ReviewApproveSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ReviewApproveSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var queue = ReviewQueues.Open(store, settings.Tenant, settings.Rollout);
        var outcome = await ReviewQueues.DecideAsync(() => queue.ApproveAsync(settings.Id, settings.Reviewer, settings.Reason!, cancellationToken));
        if (settings.Json)
        {
            Output.Json(console, outcome);
            return 0;
        }

        var rollout = await store.GetRolloutAsync(settings.Tenant, cancellationToken);
        var where = rollout.StableSnapshotId == outcome.SnapshotId ? "served to every unit"
            : rollout.CandidateSnapshotId == outcome.SnapshotId ? $"the rollout candidate ({rollout.Stage})"
            : "stored; not in rollout yet (see 'lore rollout status')";
        console.MarkupLineInterpolated($"Approved [green]{outcome.Lesson.Id}[/] as {settings.Reviewer}: {outcome.Lesson.Text}");
        console.MarkupLineInterpolated($"Snapshot [green]{outcome.SnapshotId}[/] contains it: {where}.");
        return 0;
    }
}

internal sealed class ReviewRejectCommand(IAnsiConsole console) : AsyncCommand<ReviewDecisionSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ReviewDecisionSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var queue = ReviewQueues.Open(store, settings.Tenant);
        var outcome = await ReviewQueues.DecideAsync(() => queue.RejectAsync(settings.Id, settings.Reviewer, settings.Reason!, cancellationToken));
        if (settings.Json)
        {
            Output.Json(console, outcome);
            return 0;
        }

        console.MarkupLineInterpolated($"Rejected [red]{outcome.Lesson.Id}[/] as {settings.Reviewer}; it is kept with the decision and never served.");
        return 0;
    }
}
