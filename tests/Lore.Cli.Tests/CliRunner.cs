using Spectre.Console;

namespace Lore.Cli.Tests;

/// <summary>Runs the lore command line in-process and captures what a user would see on stdout and stderr.</summary>
internal static class CliRunner
{
    public sealed record Result(int ExitCode, string Out, string Error);

    public static async Task<Result> RunAsync(params string[] args)
    {
        var output = new StringWriter();
        var error = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(output),
        });
        console.Profile.Width = 200;
        var exit = await LoreCommandLine.RunAsync(args, console, error, TestContext.Current.CancellationToken);
        return new Result(exit, output.ToString(), error.ToString());
    }
}
