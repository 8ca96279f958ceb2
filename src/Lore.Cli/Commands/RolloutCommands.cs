using System.ComponentModel;
using System.Globalization;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>Options of every command that changes the rollout: who acts and why.</summary>
internal class RolloutChangeSettings : StoreSettings
{
    [CommandOption("--actor <NAME>")]
    [Description("Who is recorded in the audit log as making the change (default: cli:<OS user>).")]
    public string? Actor { get; init; }

    [CommandOption("--reason <TEXT>")]
    [Description("Why; recorded in the audit log.")]
    public string? Reason { get; init; }

    /// <summary>True for commands where a change without a stated reason is refused.</summary>
    protected virtual bool ReasonRequired => false;

    public string ActorName => string.IsNullOrWhiteSpace(Actor) ? $"cli:{Environment.UserName}" : Actor;

    public override ValidationResult Validate()
        => ReasonRequired && string.IsNullOrWhiteSpace(Reason)
            ? ValidationResult.Error("--reason is required: say why, it goes into the audit log.")
            : ValidationResult.Success();
}

/// <summary>Shared steps of the rollout commands: open the store, act through the controller, print the result.</summary>
internal static class RolloutOutput
{
    public static async Task<int> ActAsync(
        IAnsiConsole console,
        RolloutChangeSettings settings,
        Func<RolloutController, Task<RolloutTransition>> act,
        string done,
        string unchanged,
        CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var controller = new RolloutController(store, settings.Tenant);
        RolloutTransition transition;
        try
        {
            transition = await act(controller);
        }
        catch (InvalidOperationException ex)
        {
            throw new CliException(ex.Message);
        }
        catch (KeyNotFoundException ex)
        {
            throw new CliException($"{ex.Message} (see 'lore snapshots list').");
        }

        if (settings.Json)
        {
            Output.Json(console, transition);
            return 0;
        }

        console.MarkupLineInterpolated($"{(transition.Changed ? done : unchanged)}");
        State(console, transition.After);
        if (transition.Audit is { } audit)
        {
            console.MarkupLineInterpolated($"audit #{audit.Sequence}: {audit.Action} {audit.Subject} by {audit.Actor}");
        }

        return 0;
    }

    public static void State(IAnsiConsole console, RolloutState state)
    {
        var grid = new Grid().AddColumn().AddColumn();
        grid.AddRow("tenant", Markup.Escape(state.Tenant));
        grid.AddRow("stable", Markup.Escape(state.StableSnapshotId ?? "(none)"));
        grid.AddRow("candidate", Markup.Escape(state.CandidateSnapshotId ?? "(none)"));
        grid.AddRow("stage", state.Stage switch
        {
            RolloutStage.Canary => $"canary, {Output.Percent(state.CanaryShare)} of units",
            RolloutStage.Shadow => "shadow (logged, not injected)",
            _ => "none",
        });
        grid.AddRow("frozen", state.Frozen ? $"[yellow]yes[/]: {Markup.Escape(state.FrozenReason ?? "")}" : "no");
        grid.AddRow("version", $"{state.Version}, {Output.Time(state.UpdatedAt)} by {Markup.Escape(state.UpdatedBy.Length == 0 ? "-" : state.UpdatedBy)}");
        console.Write(grid);
    }
}

internal sealed class RolloutStatusCommand(IAnsiConsole console) : AsyncCommand<RolloutStatusCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--min-episodes <N>")]
        [Description("Episodes each arm needs in a slice before it can decide (default 100).")]
        [DefaultValue(100)]
        public int MinEpisodes { get; init; } = 100;

        [CommandOption("--alpha <LEVEL>")]
        [Description("Family-wise false-alarm level of the sequential test (default 0.05).")]
        [DefaultValue(0.05)]
        public double Alpha { get; init; } = 0.05;

        public override ValidationResult Validate()
        {
            if (MinEpisodes < 1)
            {
                return ValidationResult.Error("--min-episodes must be at least 1.");
            }

            return Alpha is > 0 and < 1 ? ValidationResult.Success() : ValidationResult.Error("--alpha must lie strictly between 0 and 1.");
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var status = await RolloutStatus.ReadAsync(store, settings.Tenant, new EvaluationPolicy { Alpha = settings.Alpha, MinimumEpisodesPerArm = settings.MinEpisodes }, cancellationToken);
        var (state, since, decision) = (status.State, status.CanarySince, status.Evaluation);
        if (settings.Json)
        {
            Output.Json(console, new { state, canarySince = since, evaluation = decision, failureShift = status.Shift });
            return 0;
        }

        RolloutOutput.State(console, state);
        if (decision is null)
        {
            console.MarkupLine(state.Stage == RolloutStage.Shadow
                ? "The candidate is in shadow: its would-be lessons are recorded on each model call; start a canary with 'lore canary --share 0.1'."
                : "No canary is running.");
            return 0;
        }

        console.MarkupLineInterpolated($"Canary episodes since {(since is { } s ? Output.Time(s) : "the start")}:");
        var table = new Table().AddColumns("slice", "baseline", "candidate", "effect", "interval", "p", "verdict");
        foreach (var verdict in decision.Slices.Prepend(decision.Overall))
        {
            var c = verdict.Comparison;
            table.AddRow(
                Markup.Escape(verdict.Slice),
                $"{Output.Percent(c.Baseline.Mean)} of {c.Baseline.Episodes}",
                $"{Output.Percent(c.Candidate.Mean)} of {c.Candidate.Episodes}",
                c.Effect.ToString("+0.000;-0.000;0.000", CultureInfo.InvariantCulture),
                Markup.Escape(string.Create(CultureInfo.InvariantCulture, $"[{c.IntervalLow:0.000}, {c.IntervalHigh:0.000}]")),
                c.PValue.ToString("0.####", CultureInfo.InvariantCulture),
                c.HasEnoughData ? c.Verdict.ToString() : "waiting for data");
        }

        console.Write(table);
        if (status.Shift is { } shift)
        {
            ShiftOutput.Write(console, shift, decision.Overall.Comparison);
        }

        console.MarkupLineInterpolated($"decision: [bold]{decision.Action}[/]: {decision.Reason}");
        return 0;
    }
}

internal sealed class PromoteCommand(IAnsiConsole console) : AsyncCommand<RolloutChangeSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, RolloutChangeSettings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.PromoteAsync(settings.ActorName, settings.Reason ?? "promoted by an operator", cancellationToken),
            "Promoted: the candidate is now the stable snapshot for every unit.",
            "Nothing to promote.",
            cancellationToken);
}

internal sealed class RollbackCommand(IAnsiConsole console) : AsyncCommand<RollbackCommand.Settings>
{
    internal sealed class Settings : RolloutChangeSettings
    {
        [CommandOption("--to <ID>")]
        [Description("Serve this (older) snapshot to every unit instead of dropping the candidate.")]
        public string? To { get; init; }

        protected override bool ReasonRequired => true;
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.RollbackAsync(settings.ActorName, settings.Reason!, settings.To, cancellationToken),
            settings.To is null ? "Rolled back: the candidate is dropped; every unit gets the stable snapshot." : $"Rolled back: every unit gets {settings.To}.",
            settings.To is null ? "Nothing to roll back." : $"{settings.To} is already served to every unit.",
            cancellationToken);
}

internal sealed class FreezeCommand(IAnsiConsole console) : AsyncCommand<FreezeCommand.Settings>
{
    internal sealed class Settings : RolloutChangeSettings
    {
        protected override bool ReasonRequired => true;
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.FreezeAsync(settings.ActorName, settings.Reason!, cancellationToken),
            "Frozen: what is served is pinned; no promotion, rollback or automatic action until 'lore unfreeze'.",
            "Already frozen.",
            cancellationToken);
}

internal sealed class UnfreezeCommand(IAnsiConsole console) : AsyncCommand<UnfreezeCommand.Settings>
{
    internal sealed class Settings : RolloutChangeSettings
    {
        protected override bool ReasonRequired => true;
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.UnfreezeAsync(settings.ActorName, settings.Reason!, cancellationToken),
            "Unfrozen: the rollout continues from where it was pinned.",
            "Not frozen.",
            cancellationToken);
}

internal sealed class CanaryCommand(IAnsiConsole console) : AsyncCommand<CanaryCommand.Settings>
{
    internal sealed class Settings : RolloutChangeSettings
    {
        [CommandArgument(0, "[SNAPSHOT]")]
        [Description("The snapshot to start a canary with (default: the candidate already in shadow or canary).")]
        public string? Snapshot { get; init; }

        [CommandOption("--share <SHARE>")]
        [Description("Share of units that get the candidate, in (0, 1]; growing it keeps every unit already in the canary there.")]
        public double? Share { get; init; }

        public override ValidationResult Validate()
            => Share is not { } share || double.IsNaN(share) || share <= 0 || share > 1
                ? ValidationResult.Error("--share is required and must lie in (0, 1], for example --share 0.1.")
                : base.Validate();
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.CanaryAsync(settings.Share!.Value, settings.ActorName, settings.Reason ?? "canary started by an operator", settings.Snapshot, cancellationToken),
            $"Canary: {Output.Percent(settings.Share!.Value)} of units get the candidate.",
            "The canary already runs at that share.",
            cancellationToken);
}

internal sealed class ShadowCommand(IAnsiConsole console) : AsyncCommand<ShadowCommand.Settings>
{
    internal sealed class Settings : RolloutChangeSettings
    {
        [CommandArgument(0, "<SNAPSHOT>")]
        [Description("The snapshot to run in shadow.")]
        public string Snapshot { get; init; } = "";
    }

    public override Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
        => RolloutOutput.ActAsync(
            console,
            settings,
            c => c.ShadowAsync(settings.Snapshot, settings.ActorName, settings.Reason ?? "shadow started by an operator", cancellationToken),
            "Shadow: every unit keeps the stable snapshot; the candidate's lessons are recorded as would-be injections.",
            "That snapshot is already in shadow.",
            cancellationToken);
}
