using System.Globalization;
using System.Text.Json;
using Lore.Cli.Infrastructure;
using Lore.Learning;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

/// <summary>
/// <c>lore worker</c>: a learning worker. Run as many as the backlog needs, on any machines sharing the store: each
/// leases a batch of ended episodes, learns from it and marks it processed, so every episode is learned from once and a
/// crashed worker's batch is retried by another after its lease expires. With <c>--json</c> every pass is one line.
/// </summary>
internal sealed class WorkerCommand(IAnsiConsole console) : AsyncCommand<WorkerCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--batch <N>")]
        [System.ComponentModel.Description("Most episodes leased and learned from in one pass (default 200).")]
        public int Batch { get; init; } = 200;

        [CommandOption("--lease <SECONDS>")]
        [System.ComponentModel.Description("How long a lease holds before another worker may take the episodes (default 300).")]
        public double Lease { get; init; } = 300;

        [CommandOption("--idle <SECONDS>")]
        [System.ComponentModel.Description("How long to wait before leasing again when nothing was waiting (default 2).")]
        public double Idle { get; init; } = 2;

        [CommandOption("--once")]
        [System.ComponentModel.Description("Lease and learn one batch, then exit.")]
        public bool Once { get; init; }

        [CommandOption("--name <NAME>")]
        [System.ComponentModel.Description("The worker's name in leases and learning runs (default: host, process id and a random suffix).")]
        public string? Name { get; init; }

        [CommandOption("--entry <STAGE>")]
        [System.ComponentModel.Description("Where a new snapshot enters the rollout: now (served at once, default), shadow, or canary.")]
        public string Entry { get; init; } = "now";

        [CommandOption("--share <SHARE>")]
        [System.ComponentModel.Description("With --entry canary: the share of units that get the new snapshot (default 0.1).")]
        public double Share { get; init; } = 0.1;

        public override ValidationResult Validate()
            => Batch < 1 ? ValidationResult.Error($"--batch {Batch}: a batch holds at least one episode.")
                : !(Lease >= 1) ? ValidationResult.Error($"--lease {Lease.ToString(CultureInfo.InvariantCulture)}: a lease lasts at least one second.")
                : !(Idle >= 0) ? ValidationResult.Error("--idle must be zero or more seconds.")
                : Name is not null && string.IsNullOrWhiteSpace(Name) ? ValidationResult.Error("--name is empty.")
                : Entry is not ("now" or "shadow" or "canary") ? ValidationResult.Error($"--entry '{Entry}' is not one of: now, shadow, canary.")
                : Share is <= 0 or > 1 ? ValidationResult.Error("--share must lie in (0, 1].")
                : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: true, cancellationToken);
        var options = new LearningWorkerOptions
        {
            Tenant = settings.Tenant,
            BatchSize = settings.Batch,
            LeaseDuration = TimeSpan.FromSeconds(settings.Lease),
            // A pass gives up rather than write when this little of its lease is left: a fifth of it, at most 10 s.
            SafetyMargin = TimeSpan.FromSeconds(Math.Min(10, settings.Lease / 5)),
            IdleDelay = TimeSpan.FromSeconds(settings.Idle),
            Rollout = new RolloutPolicy
            {
                EntryStage = settings.Entry switch { "shadow" => RolloutStage.Shadow, "canary" => RolloutStage.Canary, _ => RolloutStage.None },
                CanaryShare = settings.Share,
            },
        };
        if (settings.Name is { } name)
        {
            options.Name = name;
        }

        var worker = new LearningWorker(store, options);
        var writer = console.Profile.Out.Writer;
        void Line(string text)
        {
            writer.WriteLine(text);
            writer.Flush();
        }

        Line(settings.Json
            ? JsonSerializer.Serialize(new { @event = "started", worker = worker.Name, tenant = settings.Tenant, store = store.Location }, LoreJson.Options)
            : $"Worker {worker.Name} learning for tenant '{settings.Tenant}' from {store.Location}{(settings.Once ? " (one batch)" : "; Ctrl+C stops")}.");

        void Report(LearningWorkerPass pass)
        {
            if (pass.Run is { } run)
            {
                LoreTelemetry.LearningRunCompleted(run);
            }

            if (pass.Outcome == LearningWorkerOutcome.Idle && !settings.Once)
            {
                return; // a waiting loop prints nothing
            }

            if (settings.Json)
            {
                Line(JsonSerializer.Serialize(
                    new
                    {
                        @event = "pass",
                        worker = worker.Name,
                        outcome = pass.Outcome,
                        learned = pass.Learned,
                        givenUp = pass.GivenUp,
                        attempts = pass.Leases.ToDictionary(l => l.EpisodeId, l => l.Attempt),
                        run = pass.Run?.Id,
                        snapshot = pass.Run?.SnapshotId,
                    },
                    LoreJson.Options));
                return;
            }

            var retried = pass.Leases.Count(l => l.Attempt > 1);
            Line(pass.Outcome switch
            {
                LearningWorkerOutcome.Idle => "No ended episode is waiting to be learned from.",
                LearningWorkerOutcome.Abandoned => $"Abandoned a batch of {pass.Leases.Count} episodes: its leases were about to expire; they will be leased again.",
                LearningWorkerOutcome.LostLease => $"A lease of the {pass.Leases.Count} episodes was taken over by another worker before this pass could write; it wrote nothing, and the new holder learns from them.",
                _ => $"Learned from {pass.Learned.Count} episodes{(retried > 0 ? $" ({retried} retried after an expired lease)" : "")}{(pass.GivenUp.Count > 0 ? $", gave up on {pass.GivenUp.Count}" : "")}: run {pass.Run?.Id ?? "(none)"}, {(pass.Run?.SnapshotId is { } snapshot ? $"new snapshot {snapshot}" : "no new snapshot")}.",
            });
        }

        if (settings.Once)
        {
            Report(await worker.RunOnceAsync(cancellationToken));
            return 0;
        }

        await worker.RunAsync(Report, cancellationToken);
        Line(settings.Json ? JsonSerializer.Serialize(new { @event = "stopped", worker = worker.Name }, LoreJson.Options) : "Stopped.");
        return 0;
    }
}
