using System.Globalization;
using Spectre.Console;

namespace Lore.Cli.Infrastructure;

/// <summary>How the CLI prints a failure-mode shift: one table of the modes overall (and the slices where a mode moved) and the one-sentence verdict.</summary>
internal static class ShiftOutput
{
    public static void Write(IAnsiConsole console, FailureShift shift, ArmComparison? success)
    {
        if (shift.Modes.Count == 0)
        {
            console.WriteLine("Failure modes: no failures recorded yet in either arm.");
            return;
        }

        var c = CultureInfo.InvariantCulture;
        console.WriteLine(string.Create(c, $"Failure modes (rate per episode; {shift.TestCount} tests share the level): distance {shift.Distance:0.000}, interval [{shift.DistanceLow:0.000}, {shift.DistanceHigh:0.000}] at {(1 - shift.DistanceAlpha) * 100:0.##}%"));
        var table = new Table().AddColumns("mode", "slice", "baseline", "candidate", "change", "interval", "p", "");
        foreach (var mode in shift.Modes.Where(m => m.Slice == SliceVerdict.Overall || m.Change != FailureModeChange.Inconclusive || m.IsNew))
        {
            var comparison = mode.Comparison;
            table.AddRow(
                Markup.Escape(mode.Mode),
                Markup.Escape(mode.Slice),
                $"{Output.Percent(comparison.Baseline.Mean)} of {comparison.Baseline.Episodes}",
                $"{Output.Percent(comparison.Candidate.Mean)} of {comparison.Candidate.Episodes}",
                comparison.Effect.ToString("+0.000;-0.000;0.000", c),
                Markup.Escape(string.Create(c, $"[{comparison.IntervalLow:0.000}, {comparison.IntervalHigh:0.000}]")),
                comparison.PValue.ToString("0.####", c),
                (mode.Change switch
                {
                    FailureModeChange.Grew => "[red]grew[/]",
                    FailureModeChange.Shrank => "[green]shrank[/]",
                    _ => comparison.HasEnoughData ? "" : "waiting for data",
                }) + (mode.IsNew ? " [yellow]new[/]" : "") + (mode.Severe ? " [red]severe[/]" : ""));
        }

        console.Write(table);
        console.WriteLine(shift.Verdict(success));
    }
}
