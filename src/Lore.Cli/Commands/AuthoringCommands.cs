using System.ComponentModel;
using Lore.Cli.Infrastructure;
using Lore.Learning;
using Lore.Learning.Authoring;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// Options every change to a lesson takes: why, who, and where the snapshot carrying it enters the rollout. The CLI
/// works on the store directly, so its user acts as an admin (they could edit the store anyway); the change is still
/// screened, versioned and audited like any other.
/// </summary>
internal class AuthoringSettings : StoreSettings
{
    [CommandOption("--reason <TEXT>")]
    [Description("Why; required, kept on the lesson version and in the audit log.")]
    public string? Reason { get; init; }

    [CommandOption("--actor <NAME>")]
    [Description("Who makes the change (default: cli:<OS user>).")]
    public string? Actor { get; init; }

    [CommandOption("--entry <STAGE>")]
    [Description("Where the snapshot carrying the change enters the rollout: canary (default), shadow, or now (served to every unit at once, audited as such).")]
    public string Entry { get; init; } = "canary";

    [CommandOption("--share <SHARE>")]
    [Description("With --entry canary: the share of units that get it (default 0.1).")]
    public double Share { get; init; } = 0.1;

    public string Author => string.IsNullOrWhiteSpace(Actor) ? $"cli:{Environment.UserName}" : Actor;

    public override ValidationResult Validate()
        => string.IsNullOrWhiteSpace(Reason) ? ValidationResult.Error("--reason is required: say why the lesson changes.")
            : Entry is not ("now" or "shadow" or "canary") ? ValidationResult.Error($"--entry '{Entry}' is not one of: canary, shadow, now.")
            : Share is <= 0 or > 1 ? ValidationResult.Error("--share must lie in (0, 1].")
            : ValidationResult.Success();

    public virtual AuthorAction Action => new(Author, ApiKeyRole.Admin, Reason!) { ServeNow = Entry == "now" };

    public LessonAuthoring Open(ILoreStore store)
        => new(new LearningPipeline(store, new LearningOptions())
        {
            Rollout = new RolloutPolicy { EntryStage = Entry == "shadow" ? RolloutStage.Shadow : RolloutStage.Canary, CanaryShare = Share },
        }, Tenant);
}

/// <summary>What a lesson says and where it applies, for <c>lessons add</c> and <c>lessons edit</c>.</summary>
internal class LessonContentSettings : AuthoringSettings
{
    [CommandOption("--kind <KIND>")]
    [Description("guideline (default for add), procedure, toolGuide or antiPattern.")]
    public string? Kind { get; init; }

    [CommandOption("--keyword <WORD>")]
    [Description("Apply when the task mentions this word (repeatable); default: when the task resembles the text.")]
    public string[] Keywords { get; init; } = [];

    [CommandOption("--always")]
    [Description("Always a candidate within its scope (still ranked; use --pin to inject it first).")]
    public bool Always { get; init; }

    [CommandOption("--label <KEY=VALUE>")]
    [Description("Only for episodes carrying this label (repeatable), e.g. slice=refunds.")]
    public string[] Labels { get; init; } = [];

    [CommandOption("--tool <NAME>")]
    [Description("Only for agents offering this tool (repeatable).")]
    public string[] Tools { get; init; } = [];

    [CommandOption("--override-screen <REASON>")]
    [Description("Serve it even though the content screen blocks it; the override, its reason and the rules are audited.")]
    public string? OverrideScreen { get; init; }

    public override AuthorAction Action => base.Action with { OverrideReason = OverrideScreen };

    public override ValidationResult Validate()
        => Always && Keywords.Length > 0 ? ValidationResult.Error("--always and --keyword exclude each other.") : base.Validate();

    public LessonKind? ParsedKind => Kind is null ? null
        : Enum.TryParse<LessonKind>(Kind, ignoreCase: true, out var k) && Enum.IsDefined(k) && !int.TryParse(Kind, out _) ? k
        : throw new CliException($"--kind '{Kind}' is not one of guideline, procedure, toolGuide, antiPattern.");

    public LessonTrigger? Trigger => Always ? LessonTrigger.Always : Keywords.Length > 0 ? LessonTrigger.OnKeywords(Keywords) : null;

    public Dictionary<string, string>? ParsedLabels
    {
        get
        {
            if (Labels.Length == 0)
            {
                return null;
            }

            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var label in Labels)
            {
                var at = label.IndexOf('=', StringComparison.Ordinal);
                if (at <= 0 || at == label.Length - 1)
                {
                    throw new CliException($"--label '{label}' is not KEY=VALUE.");
                }

                labels[label[..at].Trim()] = label[(at + 1)..].Trim();
            }

            return labels;
        }
    }
}

internal sealed class LessonsAddCommand(IAnsiConsole console) : AsyncCommand<LessonsAddCommand.Settings>
{
    internal sealed class Settings : LessonContentSettings
    {
        [CommandArgument(0, "<TEXT>")]
        [Description("The lesson as the agent should read it, e.g. \"Refunds over $500 need a supervisor's approval.\"")]
        public string Text { get; init; } = "";

        [CommandOption("--pin")]
        [Description("Pin it: injected whenever in scope, first.")]
        public bool Pin { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var draft = new LessonDraft
        {
            Text = settings.Text,
            Kind = settings.ParsedKind ?? LessonKind.Guideline,
            Trigger = settings.Trigger,
            Labels = settings.ParsedLabels ?? [],
            Tools = settings.Tools,
            Pinned = settings.Pin,
        };
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var outcome = await AuthoringOutput.RunAsync(() => settings.Open(store).AddAsync(draft, settings.Action, cancellationToken));
        return AuthoringOutput.Print(console, settings, outcome, "Added");
    }
}

internal sealed class LessonsEditCommand(IAnsiConsole console) : AsyncCommand<LessonsEditCommand.Settings>
{
    internal sealed class Settings : LessonContentSettings
    {
        [CommandArgument(0, "<ID>")]
        [Description("The lesson id (learned or authored).")]
        public string Id { get; init; } = "";

        [CommandOption("--text <TEXT>")]
        [Description("The new text.")]
        public string? Text { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        var edit = new LessonEdit
        {
            Text = settings.Text,
            Kind = settings.ParsedKind,
            Trigger = settings.Trigger,
            Labels = settings.ParsedLabels,
            Tools = settings.Tools.Length == 0 ? null : settings.Tools,
        };
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var outcome = await AuthoringOutput.RunAsync(() => settings.Open(store).EditAsync(settings.Id, edit, settings.Action, cancellationToken));
        return AuthoringOutput.Print(console, settings, outcome, "Edited");
    }
}

/// <summary>Options of a change that names one lesson and nothing else (retire, pin, unpin).</summary>
internal sealed class LessonIdSettings : AuthoringSettings
{
    [CommandArgument(0, "<ID>")]
    [Description("The lesson id.")]
    public string Id { get; init; } = "";
}

internal sealed class LessonsRetireCommand(IAnsiConsole console) : AsyncCommand<LessonIdSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LessonIdSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var outcome = await AuthoringOutput.RunAsync(() => settings.Open(store).RetireAsync(settings.Id, settings.Action, cancellationToken));
        return AuthoringOutput.Print(console, settings, outcome, "Retired");
    }
}

internal sealed class LessonsPinCommand(IAnsiConsole console) : AsyncCommand<LessonIdSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LessonIdSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var outcome = await AuthoringOutput.RunAsync(() => settings.Open(store).PinAsync(settings.Id, pinned: true, settings.Action, cancellationToken));
        return AuthoringOutput.Print(console, settings, outcome, "Pinned");
    }
}

internal sealed class LessonsUnpinCommand(IAnsiConsole console) : AsyncCommand<LessonIdSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, LessonIdSettings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var outcome = await AuthoringOutput.RunAsync(() => settings.Open(store).PinAsync(settings.Id, pinned: false, settings.Action, cancellationToken));
        return AuthoringOutput.Print(console, settings, outcome, "Unpinned");
    }
}

/// <summary>Runs a change, turning refusals into the one line a user reads, and prints what it did.</summary>
internal static class AuthoringOutput
{
    public static async Task<T> RunAsync<T>(Func<Task<T>> change)
    {
        try
        {
            return await change();
        }
        catch (Exception e) when (e is KeyNotFoundException or InvalidOperationException or ArgumentException or UnauthorizedAccessException)
        {
            throw new CliException(e.Message);
        }
    }

    public static int Print(IAnsiConsole console, StoreSettings settings, AuthoringOutcome outcome, string verb)
    {
        if (settings.Json)
        {
            Output.Json(console, outcome);
            return 0;
        }

        var version = outcome.Lesson.Authorship is { } a ? $" (version {a.Version})" : "";
        console.MarkupLineInterpolated($"{verb} [green]{outcome.Lesson.Id}[/]{version}: {outcome.Lesson.Text}");
        if (outcome.Lesson.Authorship?.Override is { } o)
        {
            console.MarkupLineInterpolated($"[yellow]Content screen overridden[/] by {o.Admin} ({string.Join(", ", o.Rules)}): {o.Reason}");
        }

        if (outcome.SnapshotId is null)
        {
            console.MarkupLine("No served snapshot held it; nothing else changed.");
        }
        else
        {
            console.MarkupLineInterpolated($"Snapshot [green]{outcome.SnapshotId}[/] carries the change: {outcome.Where}.");
        }
        return 0;
    }
}
