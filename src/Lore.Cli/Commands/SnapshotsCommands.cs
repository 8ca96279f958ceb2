using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class SnapshotsListCommand(IAnsiConsole console) : AsyncCommand<StoreSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, StoreSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var snapshots = await store.ListSnapshotsAsync(settings.Tenant, cancellationToken);
        if (settings.Json)
        {
            Output.Json(console, snapshots);
            return 0;
        }

        var table = new Table().AddColumns("id", "parent", "lessons", "created", "by", "reason", "");
        foreach (var s in snapshots)
        {
            table.AddRow(
                Markup.Escape(s.Id),
                Markup.Escape(s.ParentId ?? "-"),
                s.LessonCount.ToString(),
                Output.Time(s.CreatedAt),
                Markup.Escape(s.CreatedBy),
                Markup.Escape(Output.Shorten(s.Reason, 60)),
                s.IsActive ? "[green]active[/]" : "");
        }

        console.Write(table);
        console.MarkupLineInterpolated($"{snapshots.Count} snapshots for tenant {settings.Tenant}.");
        return 0;
    }
}

internal sealed class SnapshotsShowCommand(IAnsiConsole console) : AsyncCommand<SnapshotsShowCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "[ID]")]
        [Description("The snapshot id (default: the active one).")]
        public string? Id { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var id = settings.Id ?? await store.GetActiveSnapshotIdAsync(settings.Tenant, cancellationToken)
            ?? throw new CliException($"tenant '{settings.Tenant}' has no active snapshot; give an id (see 'lore snapshots list').");
        var snapshot = await store.GetSnapshotAsync(id, cancellationToken);
        if (snapshot is null || snapshot.Tenant != settings.Tenant)
        {
            throw new CliException($"no snapshot '{id}' for tenant '{settings.Tenant}' (see 'lore snapshots list').");
        }

        var run = (await store.ListLearningRunsAsync(settings.Tenant, 1000, cancellationToken)).FirstOrDefault(r => r.SnapshotId == id);
        if (settings.Json)
        {
            Output.Json(console, new { snapshot, intact = snapshot.IsIntact, learningRun = run });
            return snapshot.IsIntact ? 0 : 1;
        }

        console.MarkupLineInterpolated($"[bold]{snapshot.Id}[/] (parent {snapshot.ParentId ?? "none"}), created {Output.Time(snapshot.CreatedAt)} by {snapshot.CreatedBy}");
        console.MarkupLineInterpolated($"reason: {snapshot.Reason}");
        console.MarkupLine(snapshot.IsIntact
            ? "content address: [green]verified[/]"
            : "content address: [red]MISMATCH: the stored content does not match its id; Lore refuses to serve this snapshot (see 'lore audit verify')[/]");
        var s = snapshot.Settings;
        console.MarkupLineInterpolated($"retrieval: top-k {s.TopK}, min score {s.MinScore}, token budget {s.TokenBudget}, lexical weight {s.LexicalWeight}");
        var table = new Table().AddColumns("id", "kind", "text", "episodes", "confidence");
        foreach (var l in snapshot.Lessons)
        {
            table.AddRow(Markup.Escape(l.Id), l.Kind.ToString(), Markup.Escape(Output.Shorten(l.Text, 90)), l.Evidence.EpisodeCount.ToString(), l.Confidence.ToString("F2", System.Globalization.CultureInfo.InvariantCulture));
        }

        console.Write(table);
        if (run is not null)
        {
            RunReport.Write(console, run);
        }

        return snapshot.IsIntact ? 0 : 1;
    }
}
