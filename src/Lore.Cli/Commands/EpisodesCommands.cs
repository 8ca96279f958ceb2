using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class EpisodesDeleteCommand(IAnsiConsole console) : AsyncCommand<EpisodesDeleteCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--unit <KEY>")]
        [Description("Delete every episode of this unit (a user's right to erasure); lessons about the unit are retired and scrubbed.")]
        public string? Unit { get; init; }

        [CommandOption("--id <ID>")]
        [Description("Delete this episode (repeat for several).")]
        public string[] Ids { get; init; } = [];

        [CommandOption("--reason <REASON>")]
        [Description("Why (recorded in the audit log; required). Do not put personal data here.")]
        public string? Reason { get; init; }

        [CommandOption("--actor <NAME>")]
        [Description("Who is recorded as deleting (default: the OS user).")]
        public string? Actor { get; init; }

        [CommandOption("--dry-run")]
        [Description("Show what would be deleted and retired, and change nothing.")]
        public bool DryRun { get; init; }

        public override ValidationResult Validate()
        {
            if ((Unit is null) == (Ids.Length == 0))
            {
                return ValidationResult.Error("give either --unit KEY or one or more --id ID (not both).");
            }

            if (string.IsNullOrWhiteSpace(Reason))
            {
                return ValidationResult.Error("--reason is required: the audit log records why episodes were deleted.");
            }

            return Ids.Any(string.IsNullOrWhiteSpace) ? ValidationResult.Error("--id must not be empty.") : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var erasure = new EpisodeErasure(store);
        ErasurePlan plan;
        try
        {
            plan = settings.Unit is { } unit
                ? await erasure.PlanUnitAsync(settings.Tenant, unit, cancellationToken)
                : await erasure.PlanEpisodesAsync(settings.Tenant, settings.Ids, cancellationToken);
        }
        catch (KeyNotFoundException e)
        {
            throw new CliException(e.Message);
        }

        if (plan.EpisodeIds.Count == 0)
        {
            throw new CliException($"tenant '{settings.Tenant}' has no episode of that unit; nothing was deleted.");
        }

        if (settings.DryRun)
        {
            if (settings.Json)
            {
                Output.Json(console, new { dryRun = true, episodes = plan.EpisodeIds, units = plan.UnitPseudonyms, retirements = plan.Retirements, prunedLessons = plan.PrunedLessonIds });
                return 0;
            }

            Write(plan);
            console.WriteLine("Dry run: nothing was changed.");
            return 0;
        }

        var result = await erasure.ApplyAsync(plan, settings.Actor ?? $"cli:{Environment.UserName}", settings.Reason!, cancellationToken);
        if (settings.Json)
        {
            Output.Json(console, new
            {
                deleted = result.Deleted,
                units = plan.UnitPseudonyms,
                retirements = plan.Retirements,
                prunedLessons = plan.PrunedLessonIds,
                stableSnapshot = result.StableSnapshotId,
                candidateSnapshot = result.CandidateSnapshotId,
                auditSequence = result.Audit?.Sequence,
            });
            return 0;
        }

        Write(plan);
        console.WriteLine($"Deleted {result.Deleted} episodes. Stable snapshot now {result.StableSnapshotId ?? "(none)"}" +
            (result.CandidateSnapshotId is { } c ? $", candidate {c}" : "") +
            (result.Audit is { } a ? $"; recorded as audit entry #{a.Sequence} (counts and unit pseudonyms only)." : "."));
        return 0;
    }

    private void Write(ErasurePlan plan)
    {
        console.WriteLine($"{plan.EpisodeIds.Count} episodes of {plan.UnitPseudonyms.Count} unit(s) ({string.Join(", ", plan.UnitPseudonyms)}).");
        if (plan.Retirements.Count > 0)
        {
            var table = new Table().AddColumns("lesson retired", "rule", "evidence");
            foreach (var r in plan.Retirements)
            {
                table.AddRow(Markup.Escape(r.LessonId), Markup.Escape(r.Rule), Markup.Escape(r.Evidence));
            }

            console.Write(table);
        }
        else
        {
            console.WriteLine("No lesson falls below the admission thresholds without these episodes.");
        }

        if (plan.PrunedLessonIds.Count > 0)
        {
            console.WriteLine($"{plan.PrunedLessonIds.Count} other lesson(s) keep enough evidence; their evidence lists drop the deleted episodes: {string.Join(", ", plan.PrunedLessonIds.Take(10))}{(plan.PrunedLessonIds.Count > 10 ? ", ..." : "")}");
        }
    }
}
