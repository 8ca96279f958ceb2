using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Lore.PostgreSql;
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

        // A refused import must leave no trace: a store file this command created for it is removed again.
        var resolved = StoreLocator.Resolve(settings.Store);
        var createdFile = !PostgresConnectionString.IsPostgres(resolved) && !File.Exists(Path.GetFullPath(resolved)) ? Path.GetFullPath(resolved) : null;
        ImportResult result;
        try
        {
            await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
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

            var skipped = result.Skipped > 0 ? $"; skipped {result.Skipped} already in the store" : "";
            console.MarkupLineInterpolated($"Imported [green]{result.Episodes}[/] episodes ({result.Steps} steps, format {result.Format}) into {store.Location}{skipped}.");
        }
        catch when (createdFile is not null)
        {
            RemoveStoreFiles(createdFile);
            throw;
        }

        return 0;
    }

    private static void RemoveStoreFiles(string path)
    {
        foreach (var file in new[] { path, path + "-wal", path + "-shm", path + "-journal" })
        {
            try
            {
                File.Delete(file);
            }
            catch (IOException)
            {
                // Best effort: the import's own error is what the user needs to see.
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
    }
}
