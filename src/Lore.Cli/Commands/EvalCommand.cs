using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Lore.Simulation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// Offline evaluation of a candidate snapshot against a baseline by replaying a fixed, held-out task set. From
/// the command line the runner is the simulated workplace; production hosts supply their own
/// <see cref="IOfflineEvaluationRunner"/> through the library.
/// </summary>
internal sealed class EvalCommand(IAnsiConsole console) : AsyncCommand<EvalCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--baseline <ID>")]
        [Description("The baseline snapshot id, or 'none' for no lessons (default: the stable snapshot).")]
        public string? Baseline { get; init; }

        [CommandOption("--candidate <ID>")]
        [Description("The candidate snapshot id (default: the rollout's candidate).")]
        public string? Candidate { get; init; }

        [CommandOption("--tasks <N>")]
        [Description("How many held-out simulated tasks to replay under each snapshot (default 400).")]
        [DefaultValue(400)]
        public int Tasks { get; init; } = 400;

        [CommandOption("--seed <SEED>")]
        [Description("Seed of the held-out task set (default 1042).")]
        [DefaultValue(1042)]
        public int Seed { get; init; } = 1042;

        [CommandOption("--rules <NAME>")]
        [Description("Workplace rules during the replay: 'default' or 'tax-separate' (the drift scenario's changed rule).")]
        [DefaultValue("default")]
        public string Rules { get; init; } = "default";

        [CommandOption("--margin <DROP>")]
        [Description("A slice fails when significantly worse by at least this much (default 0.02).")]
        [DefaultValue(0.02)]
        public double Margin { get; init; } = 0.02;

        public override ValidationResult Validate()
            => Tasks is < 1 or > 100_000 ? ValidationResult.Error("--tasks must be between 1 and 100000.")
                : Margin is < 0 or >= 1 ? ValidationResult.Error("--margin must lie in [0, 1).")
                : Rules is not ("default" or "tax-separate") ? ValidationResult.Error("--rules must be 'default' or 'tax-separate'.")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var rollout = await store.GetRolloutAsync(settings.Tenant, cancellationToken);
        var baseline = await ResolveAsync(store, settings.Tenant, settings.Baseline ?? rollout.StableSnapshotId ?? "none", "--baseline", cancellationToken);
        var candidateId = settings.Candidate ?? rollout.CandidateSnapshotId
            ?? throw new CliException("no --candidate given and the rollout has no candidate (see 'lore snapshots list').");
        var candidate = await ResolveAsync(store, settings.Tenant, candidateId, "--candidate", cancellationToken);

        var rules = settings.Rules == "tax-separate" ? WorkplaceRules.Default with { TaxCollectedSeparately = true } : WorkplaceRules.Default;
        var runner = new SimulatedEvaluationRunner(settings.Seed, settings.Tasks, rules);
        var policy = new OfflineEvaluationPolicy { Margin = settings.Margin };
        var report = settings.Json
            ? await OfflineEvaluation.CompareAsync(runner, baseline, candidate, policy, cancellationToken)
            : await console.Status().StartAsync($"Replaying {settings.Tasks} simulated tasks under each snapshot...", _ => OfflineEvaluation.CompareAsync(runner, baseline, candidate, policy, cancellationToken));

        if (settings.Json)
        {
            Output.Json(console, report);
            return report.Passed ? 0 : 3;
        }

        console.MarkupLine("[yellow]Runner: the simulated workplace (held-out tasks). Production hosts plug in their own runner.[/]");
        console.MarkupLineInterpolated($"baseline {report.BaselineSnapshotId ?? "none"} vs candidate {report.CandidateSnapshotId ?? "none"}");
        var table = new Table().AddColumns("slice", "tasks", "baseline", "candidate", "delta", "95% CI", "");
        foreach (var row in report.Slices.Append(report.Overall))
        {
            table.AddRow(
                Markup.Escape(row.Slice),
                row.Tasks.ToString(),
                Output.Percent(row.BaselineMean),
                Output.Percent(row.CandidateMean),
                Signed(row.Delta),
                Markup.Escape($"[{Signed(row.Low)}, {Signed(row.High)}]"),
                row.Regressed ? "[red]regressed[/]" : "");
        }

        console.Write(table);
        ShiftOutput.Write(console, report.Shift, null);
        console.MarkupLineInterpolated($"{(report.Passed ? "PASS" : "FAIL")}: {report.Reason}");
        return report.Passed ? 0 : 3;
    }

    private static string Signed(double value) => value.ToString("+0.0%;-0.0%;0.0%", System.Globalization.CultureInfo.InvariantCulture);

    private static async Task<Snapshot?> ResolveAsync(ILoreStore store, string tenant, string id, string option, CancellationToken cancellationToken)
    {
        if (id.Equals("none", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }

        var snapshot = await store.GetSnapshotAsync(id, cancellationToken);
        return snapshot is not null && snapshot.Tenant == tenant
            ? snapshot
            : throw new CliException($"{option} '{id}' is not a snapshot of tenant '{tenant}' (see 'lore snapshots list').");
    }
}
