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

    /// <summary>Runs a decision on several lessons, turning the queue's refusals into the one line a user reads.</summary>
    public static async Task<IReadOnlyList<ReviewOutcome>> DecideManyAsync(Func<Task<IReadOnlyList<ReviewOutcome>>> decide)
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

    public static int PrintMany(IAnsiConsole console, StoreSettings settings, IReadOnlyList<ReviewOutcome> outcomes, string verb)
    {
        if (settings.Json)
        {
            Output.Json(console, outcomes);
            return 0;
        }

        foreach (var outcome in outcomes)
        {
            console.MarkupLineInterpolated($"{verb} [green]{outcome.Lesson.Id}[/]: {outcome.Lesson.Text}");
        }

        if (outcomes.FirstOrDefault()?.SnapshotId is { } snapshot)
        {
            console.MarkupLineInterpolated($"Snapshot [green]{snapshot}[/] contains all {outcomes.Count} (see 'lore rollout status').");
        }

        return 0;
    }

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

internal sealed class ReviewListCommand(IAnsiConsole console) : AsyncCommand<ReviewListCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--kind <KIND>")]
        [Description("Only lessons of this kind.")]
        public string? Kind { get; init; }

        [CommandOption("--tool <NAME>")]
        [Description("Only lessons naming this tool.")]
        public string? Tool { get; init; }

        [CommandOption("--slice <SLICE>")]
        [Description("Only lessons of this slice (scope or evidence label 'slice').")]
        public string? Slice { get; init; }

        [CommandOption("--finding <RULE>")]
        [Description("Only lessons on which this guard rule fired (e.g. borderline-confidence).")]
        public string? Finding { get; init; }

        public ReviewFilter Filter => new()
        {
            Kind = Kind is null ? null : Enum.TryParse<LessonKind>(Kind, ignoreCase: true, out var k) && Enum.IsDefined(k) ? k : throw new CliException($"--kind '{Kind}' is not one of {string.Join(", ", Enum.GetNames<LessonKind>())}."),
            Tool = Tool,
            Slice = Slice,
            Finding = Finding,
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var filter = settings.Filter;
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var pending = await ReviewQueues.Open(store, settings.Tenant).ListAsync(filter, cancellationToken);
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
            console.MarkupLine("Decide with: lore review approve ID [[ID...]] --reason \"...\"  or  lore review reject ID [[ID...]] --reason \"...\" (several ids: one decision, one snapshot)");
        }

        return 0;
    }
}

/// <summary>Options of a review decision: the lesson, the reason (required) and who decides.</summary>
internal class ReviewDecisionSettings : StoreSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The lesson ids (see 'lore review list'); several are decided together with one reason, all or none.")]
    public string[] Ids { get; init; } = [];

    public string Id => Ids[0];

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
        if (settings.Ids.Length > 1)
        {
            var many = await ReviewQueues.DecideManyAsync(() => queue.ApproveManyAsync(settings.Ids, settings.Reviewer, settings.Reason!, cancellationToken));
            return ReviewQueues.PrintMany(console, settings, many, "Approved");
        }

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
        if (settings.Ids.Length > 1)
        {
            var many = await ReviewQueues.DecideManyAsync(() => queue.RejectManyAsync(settings.Ids, settings.Reviewer, settings.Reason!, cancellationToken));
            return ReviewQueues.PrintMany(console, settings, many, "Rejected");
        }

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
