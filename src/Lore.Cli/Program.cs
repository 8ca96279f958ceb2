using Lore.Cli;
using Spectre.Console;

var console = AnsiConsole.Console;

// Piped or redirected output is read by scripts and files, not a terminal: ids and dates must not wrap at 80 columns.
// COLUMNS, when set, is honoured either way.
if (int.TryParse(Environment.GetEnvironmentVariable("COLUMNS"), out var columns) && columns > 0)
{
    console.Profile.Width = columns;
}
else if (Console.IsOutputRedirected)
{
    console.Profile.Width = 400;
}

return await LoreCommandLine.RunAsync(args, console, Console.Error);
