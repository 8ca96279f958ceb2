using Lore.Cli;
using Spectre.Console;

return await LoreCommandLine.RunAsync(args, AnsiConsole.Console, Console.Error);
