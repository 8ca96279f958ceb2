using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class RetentionRunCommand(IAnsiConsole console) : AsyncCommand<RetentionRunCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--policy <FILE>")]
        [Description("The retention policy, JSON: maxEpisodeAgeDays, unusedLessonDays, minLessonEffect, minEffectEpisodes.")]
        public string? Policy { get; init; }

        [CommandOption("--apply")]
        [Description("Act: delete and retire. Without it, only report what would be done.")]
        public bool Apply { get; init; }

        [CommandOption("--actor <NAME>")]
        [Description("Who is recorded as acting (default: the OS user).")]
        public string? Actor { get; init; }

        public override ValidationResult Validate()
            => string.IsNullOrWhiteSpace(Policy) ? ValidationResult.Error("--policy FILE is required.") : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        RetentionPolicy policy;
        try
        {
            policy = RetentionPolicy.Load(settings.Policy!);
        }
        catch (FormatException e)
        {
            throw new CliException(e.Message);
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        RetentionReport report;
        try
        {
            report = await new RetentionRunner(store).RunAsync(settings.Tenant, policy, settings.Apply, settings.Actor ?? $"cli:{Environment.UserName}", cancellationToken);
        }
        catch (InvalidOperationException e)
        {
            throw new CliException(e.Message);
        }

        if (settings.Json)
        {
            Output.Json(console, report);
            return 0;
        }

        var table = new Table().AddColumns("rule", "action", "subject", "evidence");
        foreach (var action in report.Actions)
        {
            table.AddRow(Markup.Escape(action.Rule), Markup.Escape(action.Kind), Markup.Escape(action.Subject), Markup.Escape(action.Evidence));
        }

        console.Write(table);
        if (report.Actions.Count == 0)
        {
            console.WriteLine("Nothing to do: every episode and lesson is within the policy.");
        }
        else if (report.Applied)
        {
            console.WriteLine($"Applied {report.Actions.Count} action(s). Stable snapshot now {report.StableSnapshotId ?? "(none)"}; recorded as audit entry #{report.Audit?.Sequence}.");
        }
        else
        {
            console.WriteLine($"Dry run: {report.Actions.Count} action(s) would be taken; nothing was changed. Run again with --apply to act." +
                (report.Frozen ? " The tenant is frozen: --apply will refuse to change what is served." : ""));
        }

        return 0;
    }
}
