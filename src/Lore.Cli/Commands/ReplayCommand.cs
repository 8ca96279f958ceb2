using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// Answers "what would snapshot S have injected here?" for a stored episode, call by call, so an operator can see how
/// a candidate would have changed a past run before serving it (or why a rolled-back one misbehaved).
/// </summary>
internal sealed class ReplayCommand(IAnsiConsole console) : AsyncCommand<ReplayCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<EPISODE>")]
        [Description("The episode id.")]
        public string EpisodeId { get; init; } = "";

        [CommandOption("--snapshot <SNAPSHOT>")]
        [Description("The snapshot to replay: an id, 'stable' or 'candidate' (default: stable).")]
        public string Snapshot { get; init; } = "stable";

        [CommandOption("--text")]
        [Description("Also print the system-message section the snapshot would have injected at each call that changed.")]
        public bool Text { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        EpisodeReplay replay;
        try
        {
            var snapshot = await SnapshotNames.ResolveAsync(store, settings.Snapshot, settings.Tenant, cancellationToken);
            replay = await EpisodeReplayer.ReplayAsync(store, settings.EpisodeId, snapshot.Id, settings.Tenant, cancellationToken: cancellationToken);
        }
        catch (KeyNotFoundException e)
        {
            throw new CliException($"{e.Message.TrimEnd('.')} (see 'lore episodes list' and 'lore snapshots list').");
        }
        catch (InvalidDataException e)
        {
            throw new CliException(e.Message);
        }

        if (settings.Json)
        {
            Output.Json(console, replay);
            return 0;
        }

        console.Write(new Rule($"[bold]{Markup.Escape(replay.EpisodeId)}[/] replayed against {Markup.Escape(replay.SnapshotId)}").LeftJustified());
        console.WriteLine($"task: {Output.Shorten(replay.Task, 160)}");
        console.WriteLine($"served by: {replay.RecordedSnapshotId ?? "no snapshot (nothing learned was served)"}");
        if (replay.Calls.Count == 0)
        {
            console.WriteLine("The episode recorded no model calls: there is nothing to replay.");
            return 0;
        }

        console.WriteLine($"{replay.Calls.Count} model call(s); {replay.ChangedCalls} would have been served differently.");
        if (replay.ToolsUnknown)
        {
            console.WriteLine("Some calls did not record the tools they offered: tool-scoped lessons were allowed there, as live retrieval allows them for a caller that does not say.");
        }

        var table = new Table().AddColumns("step", "injected", "replayed", "difference");
        foreach (var call in replay.Calls)
        {
            var difference = call.Unchanged
                ? "same"
                : string.Join("\n", call.Added.Select(id => $"+ {id}").Concat(call.Removed.Select(id => $"- {id}")));
            table.AddRow(
                call.StepIndex.ToString(System.Globalization.CultureInfo.InvariantCulture),
                Markup.Escape(Ids(call.Recorded) + (call.RecordedWithheld.Count > 0 ? $"\n(withheld: {string.Join(", ", call.RecordedWithheld)})" : "")),
                Markup.Escape(Ids(call.Replayed)),
                Markup.Escape(difference));
        }

        console.Write(table);
        var changed = replay.Calls.SelectMany(c => c.Added.Concat(c.Removed)).Distinct(StringComparer.Ordinal).ToList();
        if (changed.Count > 0)
        {
            console.Write(new Rule("lessons that differ").LeftJustified());
            foreach (var id in changed)
            {
                console.WriteLine($"{id}: {Output.Shorten(replay.Lessons.GetValueOrDefault(id) ?? "(text unknown: no stored snapshot or lesson has it)", 200)}");
            }
        }

        if (settings.Text)
        {
            foreach (var call in replay.Calls.Where(c => !c.Unchanged))
            {
                console.Write(new Rule($"step {call.StepIndex}: what {Markup.Escape(replay.SnapshotId)} would have injected").LeftJustified());
                console.WriteLine(call.Section ?? "(nothing)");
            }
        }

        return 0;
    }

    private static string Ids(IReadOnlyList<string> ids) => ids.Count == 0 ? "-" : string.Join("\n", ids);
}
