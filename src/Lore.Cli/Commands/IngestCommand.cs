using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class IngestCommand(IAnsiConsole console) : AsyncCommand<IngestCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<FILE>")]
        [Description("A JSON array or JSONL file of trajectories in OpenAI chat-completions format (tau-bench results too).")]
        public string File { get; init; } = "";

        [CommandOption("--label <KEY=VALUE>")]
        [Description("A label added to every imported episode (repeatable), e.g. --label slice=airline.")]
        public string[] Labels { get; init; } = [];
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (!System.IO.File.Exists(settings.File))
        {
            throw new CliException($"no file at {Path.GetFullPath(settings.File)}.");
        }

        var options = new ImportOptions { Tenant = settings.Tenant };
        foreach (var label in settings.Labels)
        {
            var eq = label.IndexOf('=', StringComparison.Ordinal);
            if (eq <= 0 || eq == label.Length - 1)
            {
                throw new CliException($"--label '{label}' is not KEY=VALUE.");
            }

            options.Labels[label[..eq].Trim()] = label[(eq + 1)..].Trim();
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        ImportResult result;
        if (settings.Json)
        {
            result = await TrajectoryImporter.ImportFileAsync(settings.File, store, options, progress: null, cancellationToken);
            Output.Json(console, result);
            return 0;
        }

        result = await console.Status().StartAsync($"Importing {Path.GetFileName(settings.File)}...", async status =>
        {
            var progress = new Progress<int>(n => status.Status($"Importing {Path.GetFileName(settings.File)}: {n} episodes parsed"));
            return await TrajectoryImporter.ImportFileAsync(settings.File, store, options, progress, cancellationToken);
        });

        console.MarkupLineInterpolated($"Imported [green]{result.Episodes}[/] episodes ({result.Steps} steps, format {result.Format}) into {store.Location}.");
        return 0;
    }
}
