using System.ComponentModel;
using System.Globalization;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class WhyCommand(IAnsiConsole console) : AsyncCommand<WhyCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<LESSON>")]
        [Description("The lesson id.")]
        public string LessonId { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        LessonLineage lineage;
        try
        {
            lineage = await Provenance.LessonAsync(store, settings.LessonId, settings.Tenant, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            throw new CliException($"no lesson '{settings.LessonId}' for tenant '{settings.Tenant}' (see 'lore lessons list --all').");
        }

        if (settings.Json)
        {
            Output.Json(console, lineage);
            return 0;
        }

        var c = CultureInfo.InvariantCulture;
        var lesson = lineage.Lesson;
        console.Write(new Rule($"[bold]{Markup.Escape(lesson.Id)}[/] ({lesson.Kind}, {lesson.Status.ToString().ToLowerInvariant()})").LeftJustified());
        console.WriteLine(lesson.Text);
        console.WriteLine($"extractor: {lesson.Extractor.Name} {lesson.Extractor.Version}; created {Output.Time(lesson.CreatedAt)}; confidence {lesson.Confidence.ToString("0.00", c)}");
        console.WriteLine($"trigger: {Output.Trigger(lesson.Trigger)}");

        if (lesson.Authorship is { } authorship)
        {
            // A person's version: who made it, why, and the versions before it (the lineage of a policy's wording).
            console.Write(new Rule("written by people").LeftJustified());
            console.WriteLine($"version {authorship.Version}: {authorship.Change} by {authorship.Author} {Output.Time(authorship.At)}: {authorship.Reason}{(lesson.Pinned ? " (pinned)" : "")}");
            if (authorship.Override is { } o)
            {
                console.WriteLine($"content screen overridden by {o.Admin} ({string.Join(", ", o.Rules)}): {o.Reason}");
            }

            if (authorship.ImportedFrom is { } origin)
            {
                console.WriteLine($"imported from {origin}");
            }

            foreach (var previous in authorship.Previous.Reverse())
            {
                console.WriteLine($"version {previous.Version} by {previous.Source} {Output.Time(previous.At)}{(previous.Pinned ? " (pinned)" : "")}: {previous.Text}");
            }
        }

        console.Write(new Rule("evidence").LeftJustified());
        var e = lesson.Evidence;
        console.WriteLine(string.Create(c, $"{e.EpisodeCount} episodes from {e.DistinctSources} distinct sources, support {e.Support}") +
            (e.Lift is { } lift ? string.Create(c, $", lift {lift:0.00}") : "") +
            (lesson.Effect is { } effect ? $"; measured success {Output.Percent(effect.WithSuccessRate)} with (n={effect.WithCount}) vs {Output.Percent(effect.WithoutSuccessRate)} without (n={effect.WithoutCount})" : ""));
        var episodes = new Table().AddColumns("episode", "started", "slice", "outcome");
        foreach (var ep in lineage.Evidence)
        {
            episodes.AddRow(
                Markup.Escape(ep.EpisodeId),
                ep.StartedAt is { } at ? Output.Time(at) : "-",
                Markup.Escape(ep.Slice ?? "-"),
                !ep.Stored ? "[grey]deleted or not stored[/]" : ep.Succeeded switch { true => "[green]success[/]", false => "[red]failure[/]", null => "not judged" });
        }

        console.Write(episodes);
        if (lineage.EvidenceNotListed > 0)
        {
            console.WriteLine($"... and {lineage.EvidenceNotListed} older supporting episodes not listed (the list keeps the newest).");
        }

        console.Write(new Rule("learning runs").LeftJustified());
        if (lineage.LearningRuns.Count == 0)
        {
            console.WriteLine("No learning run of this store mentions it (it was written by other means).");
        }

        foreach (var run in lineage.LearningRuns)
        {
            console.WriteLine($"{Output.Time(run.FinishedAt)}  {run.RunId}  {run.Role}: {run.Detail}{(run.SnapshotId is { } s ? $" -> {s}" : "")}");
        }

        console.Write(new Rule("guards and review").LeftJustified());
        if (lesson.GuardFindings.Count == 0 && lesson.Reviews.Count == 0)
        {
            console.WriteLine("No guard finding, no review.");
        }

        foreach (var finding in lesson.GuardFindings)
        {
            console.WriteLine($"guard {finding.Rule}{(finding.Blocking ? " (blocking)" : "")}: {finding.Detail}");
        }

        foreach (var review in lesson.Reviews)
        {
            console.WriteLine($"{Output.Time(review.At)}  {(review.Approved ? "approved" : "rejected")} by {review.Reviewer}: {review.Reason}");
        }

        console.Write(new Rule("snapshots that served it").LeftJustified());
        if (lineage.Snapshots.Count == 0)
        {
            console.WriteLine("None.");
        }

        string? previousText = null;
        foreach (var s in lineage.Snapshots)
        {
            var serving = s.Serving.Length > 0 ? $" [{s.Serving}]" : "";
            var changed = previousText is not null && previousText != s.Text ? $" (text now: \"{Output.Shorten(s.Text, 80)}\")" : "";
            console.WriteLine($"{Output.Time(s.CreatedAt)}  {s.SnapshotId}{serving}  by {s.CreatedBy}: {Output.Shorten(s.Reason, 90)}{changed}");
            previousText = s.Text;
        }

        console.Write(new Rule("audit log").LeftJustified());
        if (lineage.AuditEntries.Count == 0)
        {
            console.WriteLine("No audit entry mentions it.");
        }

        foreach (var entry in lineage.AuditEntries)
        {
            console.WriteLine($"#{entry.Sequence} {Output.Time(entry.At)}  {entry.Action} by {entry.Actor}: {entry.Reason}");
        }

        console.Write(new Rule("retirement").LeftJustified());
        console.WriteLine(lesson.RetiredAt is { } retired ? $"retired {Output.Time(retired)}: {lesson.RetiredReason}" : "Not retired.");
        return 0;
    }
}

internal sealed class BlameCommand(IAnsiConsole console) : AsyncCommand<BlameCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<EPISODE>")]
        [Description("The episode id.")]
        public string EpisodeId { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        EpisodeBlame blame;
        try
        {
            blame = await Provenance.EpisodeAsync(store, settings.EpisodeId, settings.Tenant, cancellationToken);
        }
        catch (KeyNotFoundException)
        {
            throw new CliException($"no episode '{settings.EpisodeId}' for tenant '{settings.Tenant}'.");
        }

        if (settings.Json)
        {
            Output.Json(console, blame);
            return 0;
        }

        var episode = blame.Episode;
        console.Write(new Rule($"[bold]{Markup.Escape(episode.Id)}[/]").LeftJustified());
        console.WriteLine($"task: {Output.Shorten(episode.Task, 160)}");
        console.WriteLine($"unit {(episode.UnitKey.Length == 0 ? "(none)" : episode.UnitKey)}, slice {episode.Slice}, started {Output.Time(episode.StartedAt)}, {blame.Steps} steps, origin {episode.Origin}");
        console.WriteLine($"arm: {episode.Arm ?? "none (no rollout was running)"}");
        console.WriteLine(episode.SnapshotId is null
            ? "snapshot: none (nothing learned was served)"
            : blame.Snapshot is { } s
                ? $"snapshot: {s.Id} ({s.LessonCount} lessons), created {Output.Time(s.CreatedAt)} by {s.CreatedBy}: {Output.Shorten(s.Reason, 100)}"
                : $"snapshot: {episode.SnapshotId} (no longer in the store)");

        var outcome = episode.Score switch
        {
            null => "not judged",
            { } score => $"{(score >= 0.5 ? "success" : "failure")} (score {score.ToString("0.##", CultureInfo.InvariantCulture)}, {episode.Outcomes.Count} judgement(s): {string.Join(", ", episode.Outcomes.Select(o => o.Source))})",
        };
        console.WriteLine($"outcome: {outcome}");

        console.Write(new Rule($"lessons injected ({blame.Injected.Count})").LeftJustified());
        var table = new Table().AddColumns("lesson", "kind", "text as served", "now");
        foreach (var lesson in blame.Injected)
        {
            table.AddRow(
                Markup.Escape(lesson.LessonId),
                lesson.Kind?.ToString() ?? "-",
                Markup.Escape(lesson.Text ?? "(unknown: neither the snapshot nor the lesson table has it)") + (lesson.Source == "lesson table" ? " [grey](latest text)[/]" : ""),
                lesson.CurrentStatus?.ToString().ToLowerInvariant() ?? "-");
        }

        console.Write(table);
        if (blame.SnapshotHistory.Count > 0)
        {
            console.Write(new Rule("how that snapshot came to be served").LeftJustified());
            foreach (var entry in blame.SnapshotHistory)
            {
                console.WriteLine($"#{entry.Sequence} {Output.Time(entry.At)}  {entry.Action} by {entry.Actor}: {entry.Reason}");
            }
        }

        return 0;
    }
}

internal sealed class DiffCommand(IAnsiConsole console) : AsyncCommand<DiffCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandArgument(0, "<FROM>")]
        [Description("The earlier snapshot: an id, 'stable' or 'candidate'.")]
        public string From { get; init; } = "";

        [CommandArgument(1, "<TO>")]
        [Description("The later snapshot: an id, 'stable' or 'candidate'.")]
        public string To { get; init; } = "";
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        SnapshotDiff diff;
        try
        {
            var from = await SnapshotNames.ResolveAsync(store, settings.From, settings.Tenant, cancellationToken);
            var to = await SnapshotNames.ResolveAsync(store, settings.To, settings.Tenant, cancellationToken);
            diff = await Provenance.DiffAsync(store, from.Id, to.Id, settings.Tenant, cancellationToken);
        }
        catch (KeyNotFoundException e)
        {
            throw new CliException($"{e.Message.TrimEnd('.')} (see 'lore snapshots list').");
        }

        // How failures moved between the two snapshots, from the judged episodes each one served.
        var served = new List<Episode>();
        await foreach (var episode in store.ReadEpisodesAsync(new EpisodeQuery { Tenant = settings.Tenant, EndedOnly = true }, cancellationToken))
        {
            if (episode.SnapshotId == diff.FromId || episode.SnapshotId == diff.ToId)
            {
                served.Add(episode);
            }
        }

        var shift = new FailureShiftAnalyzer().Analyze(FailureCounts.BetweenSnapshots(served, diff.FromId, diff.ToId));
        var success = new RolloutEvaluator().Compare(Outcomes(served, diff.FromId), Outcomes(served, diff.ToId));
        if (settings.Json)
        {
            Output.Json(console, new { diff.FromId, diff.ToId, diff.Added, diff.Removed, diff.Changed, diff.Settings, success, failureShift = shift });
            return 0;
        }

        console.WriteLine($"{diff.FromId} -> {diff.ToId}: {diff.Added.Count} added, {diff.Removed.Count} removed, {diff.Changed.Count} changed, {diff.Settings.Count} setting(s) changed");
        foreach (var lesson in diff.Added)
        {
            console.WriteLine($"+ {lesson.Id} ({lesson.Kind}): {lesson.Text}");
        }

        foreach (var lesson in diff.Removed)
        {
            console.WriteLine($"- {lesson.Id} ({lesson.Kind}): {lesson.Text}");
        }

        foreach (var change in diff.Changed)
        {
            console.WriteLine($"~ {change.LessonId}");
            foreach (var field in change.Fields)
            {
                console.WriteLine($"    {field.Field}: {field.Before} -> {field.After}");
            }
        }

        foreach (var field in diff.Settings)
        {
            console.WriteLine($"settings {field.Field}: {field.Before} -> {field.After}");
        }

        if (diff.IsEmpty)
        {
            console.WriteLine("The two snapshots serve the same lessons with the same settings.");
        }

        if (success.Baseline.Episodes == 0 || success.Candidate.Episodes == 0)
        {
            console.WriteLine($"Failure modes: not compared, {(success.Baseline.Episodes == 0 ? diff.FromId : diff.ToId)} has served no judged episode.");
            return 0;
        }

        console.WriteLine($"Served traffic: {diff.FromId} (as baseline) vs {diff.ToId} (as candidate): {success.Describe()}");
        ShiftOutput.Write(console, shift, success);
        return 0;
    }

    /// <summary>The outcomes of the judged episodes one snapshot served, each unit a cluster.</summary>
    private static ArmOutcomes Outcomes(IEnumerable<Episode> episodes, string snapshotId)
    {
        var tally = new OutcomeTally();
        foreach (var episode in episodes.Where(e => e.SnapshotId == snapshotId && e.Score is not null))
        {
            tally.Add(RolloutArms.Baseline, episode.Slice, string.IsNullOrWhiteSpace(episode.UnitKey) ? "episode:" + episode.Id : episode.UnitKey, Math.Clamp(episode.Score!.Value, 0, 1));
        }

        return tally.ToOutcomes().Baseline;
    }
}
