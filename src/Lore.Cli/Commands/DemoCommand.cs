using System.ComponentModel;
using System.Globalization;
using Lore.Cli.Demo;
using Lore.Cli.Infrastructure;
using Lore.PostgreSql;
using Lore.Server;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Lore.Simulation;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli.Commands;

internal sealed class DemoCommand(IAnsiConsole console) : AsyncCommand<DemoCommand.Settings>
{
    internal sealed class Settings : StoreSettings
    {
        [CommandOption("--episodes <N>")]
        [Description("How many simulated episodes to run (default 400).")]
        [DefaultValue(400)]
        public int Episodes { get; init; } = 400;

        [CommandOption("--learn-every <N>")]
        [Description("Run a learning pass after every N episodes (default 50).")]
        [DefaultValue(50)]
        public int LearnEvery { get; init; } = 50;

        [CommandOption("--seed <SEED>")]
        [Description("Seed of the simulated workplace; the same seed gives the same run (default 42).")]
        [DefaultValue(42)]
        public int Seed { get; init; } = 42;

        [CommandOption("--scenario <NAME>")]
        [Description("'learning' (default): the agent learns and gets better. 'drift': the control-plane story — canary, a workplace rule change, automatic rollback, a quarantined poisoning attempt, audit verification — then a second chapter in tenant TENANT-shift of the same store, the 'shift' story (--json reports the first chapter only). 'shift': a candidate that raises overall success while a new failure mode appears for gold members on the account slice, held in canary with the evidence.")]
        [DefaultValue("learning")]
        public string Scenario { get; init; } = "learning";

        [CommandOption("--fresh")]
        [Description("Delete the store file first, so the demo starts from nothing learned.")]
        public bool Fresh { get; init; }

        [CommandOption("--serve")]
        [Description("Watch it live: serve the dashboard (and the rest of lore serve) on the same store while the scenario runs, paced for a person (drift scenario unless --scenario says otherwise); keeps serving until Ctrl+C.")]
        public bool Serve { get; init; }

        [CommandOption("--urls <URLS>")]
        [Description("With --serve: where to listen (default http://127.0.0.1:5080, loopback only).")]
        [DefaultValue("http://127.0.0.1:5080")]
        public string Urls { get; init; } = "http://127.0.0.1:5080";

        [CommandOption("--pace <SECONDS>")]
        [Description("With --serve: pause after every 10 episodes, in seconds (default 1: the drift scenario takes about a minute and a half); 0 runs flat out.")]
        [DefaultValue(1.0)]
        public double Pace { get; init; } = 1.0;

        [CommandOption("--proxy <URL>")]
        [Description("Work the simulated workplace's tickets through a running 'lore serve --upstream simulated' at this address (for example http://127.0.0.1:5080) with the official OpenAI SDK, as any OpenAI-based agent would; defaults become --episodes 200 --learn-every 40 --seed 7.")]
        public string? Proxy { get; init; }

        [CommandOption("--key <KEY>")]
        [Description("With --proxy: the Lore API key (lore_...; LORE_API_KEY when not given). An admin key lets the demo start learning and promote; any other key only records outcomes.")]
        public string? Key { get; init; }

        [CommandOption("--streaming")]
        [Description("With --proxy: ask for streamed (SSE) completions instead of whole ones.")]
        public bool Streaming { get; init; }

        public override ValidationResult Validate()
        {
            if (Proxy is not null)
            {
                if (!Uri.TryCreate(Proxy, UriKind.Absolute, out var proxy) || proxy.Scheme is not ("http" or "https"))
                {
                    return ValidationResult.Error($"--proxy '{Proxy}' is not an http(s) URL such as http://127.0.0.1:5080.");
                }

                if (Serve || Fresh || Json || Scenario != "learning")
                {
                    return ValidationResult.Error("--proxy runs against a server you started; it cannot be combined with --serve, --fresh, --json or --scenario.");
                }
            }
            else if (Key is not null || Streaming)
            {
                return ValidationResult.Error("--key and --streaming only apply with --proxy URL.");
            }

            if (Episodes is < 1 or > 1_000_000)
            {
                return ValidationResult.Error("--episodes must be between 1 and 1000000.");
            }

            if (Scenario is not ("learning" or "drift" or "shift"))
            {
                return ValidationResult.Error($"--scenario '{Scenario}' is not one of: learning, drift, shift.");
            }

            if (LearnEvery < 1)
            {
                return ValidationResult.Error("--learn-every must be at least 1.");
            }

            if (double.IsNaN(Pace) || Pace < 0 || Pace > 60)
            {
                return ValidationResult.Error("--pace must lie between 0 and 60 seconds.");
            }

            if (Serve && Json)
            {
                return ValidationResult.Error("--serve shows the run in the dashboard; it cannot be combined with --json.");
            }

            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Proxy is { } proxy)
        {
            return await ProxyAsync(context, settings, new Uri(proxy), cancellationToken);
        }

        if (settings.Fresh && PostgresConnectionString.IsPostgres(settings.Store))
        {
            throw new CliException("--fresh deletes a SQLite file and cannot empty a PostgreSQL database: run the demo on a new database instead.");
        }

        if (settings.Fresh)
        {
            foreach (var suffix in new[] { "", "-wal", "-shm" })
            {
                File.Delete(Path.GetFullPath(settings.Store) + suffix);
            }
        }

        await using var store = await StoreLocator.OpenAsync(settings.Store, mustExist: false, cancellationToken);
        if (settings.Serve)
        {
            return await ServeAsync(context, settings, store, cancellationToken);
        }

        var drift = settings.Scenario == "drift";
        var shift = settings.Scenario == "shift";
        var given = context.Arguments.Contains("--episodes");
        var simulationOptions = drift
            ? DriftScenario.Simulation(settings.Seed, given ? settings.Episodes : 800)
            : shift
            ? FailureShiftScenario.Simulation(settings.Seed, given ? settings.Episodes : FailureShiftScenario.Episodes)
            : new SimulationOptions
            {
                Seed = settings.Seed,
                Episodes = settings.Episodes,
                LearnEvery = settings.LearnEvery,
                WindowSize = settings.LearnEvery,
            };
        Action<LoreOptions>? configure = drift ? DriftScenario.Configure : shift ? FailureShiftScenario.Configure : null;

        if (settings.Json)
        {
            // The chapter the scenario is named for (the drift scenario's second chapter is '--scenario shift --json').
            Output.Json(console, await RunChapterAsync(store, settings.Tenant, configure, simulationOptions, json: true, cancellationToken));
            return 0;
        }

        console.MarkupLine("[yellow]" + Markup.Escape(SimulationReport.SimulationNotice) + "[/]");
        var report = await RunChapterAsync(store, settings.Tenant, configure, simulationOptions, json: false, cancellationToken);
        if (drift)
        {
            await WriteControlStoryAsync(report, store, cancellationToken);
            await RunShiftChapterAsync(store, settings, given, cancellationToken);
        }
        else if (shift)
        {
            WriteFailureShift(report);
        }

        return 0;
    }

    /// <summary>
    /// The drift scenario's second chapter: the failure-shift story of <c>--scenario shift</c> (a candidate that raises
    /// overall success while a new failure mode appears, held in canary), run in its own tenant of the same store so that
    /// its workplace rule and its rollout start clean (<see cref="FailureShiftScenario.ChapterTenant"/>).
    /// </summary>
    private async Task RunShiftChapterAsync(ILoreStore store, Settings settings, bool episodesGiven, CancellationToken cancellationToken)
    {
        var tenant = FailureShiftScenario.ChapterTenant(settings.Tenant);
        console.WriteLine();
        console.Write(new Rule("[bold]Chapter 2: improved, or merely shifted the errors?[/]").LeftJustified());
        console.MarkupLineInterpolated($"A second workplace in tenant [bold]{tenant}[/] of the same store: gold members are verified by their account manager, and the automated identity check on them is forbidden. Learning will make the agent run that check; watch the rollout hold the candidate back.");
        console.MarkupLineInterpolated($"Inspect it with --tenant {tenant}: lore rollout status, lore audit list (or run 'lore demo --scenario shift' for this chapter alone).");
        var simulation = FailureShiftScenario.Simulation(settings.Seed, episodesGiven ? settings.Episodes : FailureShiftScenario.Episodes);
        var report = await RunChapterAsync(store, tenant, FailureShiftScenario.Configure, simulation, json: false, cancellationToken);
        WriteFailureShift(report);
    }

    /// <summary>The control plane of the live drift story: chapter 1's (with review) for its tenant, chapter 2's for the shift tenant.</summary>
    private static void ConfigureChapter(LoreOptions options, string tenant)
    {
        if (options.Tenant == FailureShiftScenario.ChapterTenant(tenant))
        {
            FailureShiftScenario.Configure(options);
        }
        else
        {
            DriftScenario.ConfigureWithReview(options);
        }
    }

    /// <summary>Runs one chapter of the simulated workplace in its own runtime for <paramref name="tenant"/>, with a progress bar and the success chart unless <paramref name="json"/>.</summary>
    private async Task<SimulationReport> RunChapterAsync(ILoreStore store, string tenant, Action<LoreOptions>? configure, SimulationOptions simulationOptions, bool json, CancellationToken cancellationToken)
    {
        var options = new LoreOptions { Store = store, Tenant = tenant, LeaveStoreOpen = true };
        configure?.Invoke(options);
        await using var runtime = await LoreRuntime.OpenAsync(options, cancellationToken);
        var simulation = new WorkplaceSimulation(simulationOptions);
        if (json)
        {
            return await simulation.RunAsync(runtime, progress: null, cancellationToken);
        }

        console.MarkupLineInterpolated($"Store: {store.Location}   seed {simulation.Options.Seed}, {simulation.Options.Episodes} episodes, learning every {simulation.Options.LearnEvery}.");
        console.WriteLine();
        var report = await console.Progress()
            .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new RemainingTimeColumn())
            .StartAsync(async ctx =>
            {
                var task = ctx.AddTask("episodes", maxValue: simulation.Options.Episodes);
                var progress = new SynchronousProgress<SimulationProgress>(p =>
                {
                    task.Value = p.Completed;
                    task.Description = Markup.Escape($"{p.Activity} (window success {Output.Percent(p.CurrentWindow.Rate)}, {p.LearningRuns} learning runs)");
                });
                return await simulation.RunAsync(runtime, progress, cancellationToken);
            });

        Write(report);
        return report;
    }

    /// <summary>
    /// The demo to watch: <c>lore serve</c> on the same store, the scenario run through the server's own runtime for the
    /// tenant (so the dashboard's buttons act on the very rollout the simulation is served from), paced for a person,
    /// and the server kept up after the run until Ctrl+C.
    /// </summary>
    private async Task<int> ServeAsync(CommandContext context, Settings settings, ILoreStore store, CancellationToken cancellationToken)
    {
        var drift = settings.Scenario == "drift" || !context.Arguments.Contains("--scenario");
        var simulationOptions = drift
            ? DriftScenario.Simulation(settings.Seed, context.Arguments.Contains("--episodes") ? settings.Episodes : 800)
            : new SimulationOptions { Seed = settings.Seed, Episodes = settings.Episodes, LearnEvery = settings.LearnEvery, WindowSize = settings.LearnEvery };
        simulationOptions.PaceEvery = 10;
        simulationOptions.Pause = TimeSpan.FromSeconds(settings.Pace);
        var simulation = new WorkplaceSimulation(simulationOptions);

        var serverOptions = new LoreServerOptions
        {
            Store = store,
            Urls = settings.Urls,
            // The drift story's second chapter (the failure shift) runs in its own tenant, with its own control plane.
            ConfigureRuntime = drift ? o => ConfigureChapter(o, settings.Tenant) : null,
        };
        // The console tells the story; the server logs only warnings and errors meanwhile.
        var app = LoreServer.Build(serverOptions, ["--Logging:LogLevel:Default=Warning"]);
        await using (app.ConfigureAwait(false))
        {
            var key = await ApiKeys.CreateAsync(store, settings.Tenant, ApiKeyRole.Admin, "lore demo --serve", $"cli:{Environment.UserName}", TimeProvider.System, cancellationToken);
            await app.StartAsync(cancellationToken);
            var address = (app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? []).FirstOrDefault() ?? settings.Urls;
            var dashboard = address.TrimEnd('/') + "/dashboard";
            console.MarkupLine("[yellow]" + Markup.Escape(SimulationReport.SimulationNotice) + "[/]");
            console.MarkupLineInterpolated($"Dashboard: [bold link]{dashboard}[/]");
            console.MarkupLineInterpolated($"Sign in with this admin key (tenant {settings.Tenant}; created for this demo, shown once, only its hash is stored):");
            console.Profile.Out.Writer.WriteLine(key.Secret);
            console.MarkupLineInterpolated($"Store: {store.Location}. Scenario: {(drift ? "drift" : "learning")}, {simulationOptions.Episodes} episodes, a {settings.Pace.ToString("0.##", CultureInfo.InvariantCulture)} s pause after every 10. Ctrl+C stops.");
            console.WriteLine();

            // Ctrl+C reaches the command's token; SIGTERM (a service manager, a container stop) reaches the host's lifetime.
            using var stopping = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, app.Lifetime.ApplicationStopping);
            var stop = stopping.Token;
            var runtime = await app.Services.GetRequiredService<ILoreRuntimeProvider>().GetRuntimeAsync(settings.Tenant, stop);
            try
            {
                var lastRuns = 0;
                var progress = new SynchronousProgress<SimulationProgress>(p =>
                {
                    if (p.LearningRuns != lastRuns)
                    {
                        lastRuns = p.LearningRuns;
                        console.MarkupLineInterpolated($"episode {p.Completed,4}/{p.Total}: window success {Output.Percent(p.CurrentWindow.Rate)}, {p.LearningRuns} learning runs");
                    }
                });
                var report = await simulation.RunAsync(runtime, progress, stop);
                if (drift)
                {
                    await WriteControlStoryAsync(report, store, stop);

                    // Chapter 2 in its own tenant: the dashboard shows it when signed in with that tenant's key.
                    var tenant = FailureShiftScenario.ChapterTenant(settings.Tenant);
                    var shiftKey = await ApiKeys.CreateAsync(store, tenant, ApiKeyRole.Admin, "lore demo --serve (chapter 2)", $"cli:{Environment.UserName}", TimeProvider.System, stop);
                    console.WriteLine();
                    console.Write(new Rule("[bold]Chapter 2: improved, or merely shifted the errors?[/]").LeftJustified());
                    console.MarkupLineInterpolated($"A second workplace in tenant [bold]{tenant}[/]: gold members are verified by their account manager, and the automated identity check on them is forbidden. Sign in to {dashboard} with this admin key (shown once) and open Rollout and Error mix:");
                    console.Profile.Out.Writer.WriteLine(shiftKey.Secret);
                    var shiftOptions = FailureShiftScenario.Simulation(settings.Seed, context.Arguments.Contains("--episodes") ? settings.Episodes : FailureShiftScenario.Episodes);
                    shiftOptions.PaceEvery = simulationOptions.PaceEvery;
                    shiftOptions.Pause = simulationOptions.Pause;
                    var shiftRuntime = await app.Services.GetRequiredService<ILoreRuntimeProvider>().GetRuntimeAsync(tenant, stop);
                    WriteFailureShift(await new WorkplaceSimulation(shiftOptions).RunAsync(shiftRuntime, progress, stop));
                }

                console.MarkupLineInterpolated($"The scenario is over; the dashboard keeps serving at [bold]{dashboard}[/] until Ctrl+C.");
                await Task.Delay(Timeout.Infinite, stop);
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // Ctrl+C: stop serving below.
            }

            await app.StopAsync(CancellationToken.None);
        }

        console.MarkupLine("Stopped.");
        return 0;
    }

    private async Task WriteControlStoryAsync(SimulationReport report, ILoreStore store, CancellationToken cancellationToken)
    {
        console.Write(new Rule("[bold]What the control plane did[/]").LeftJustified());
        console.MarkupLineInterpolated($"The workplace changed its tax rule at episode {DriftScenario.RuleChangeAt}; {report.AttackEpisodes} attacker episodes tried to poison learning before episode {DriftScenario.AttackAt}.");
        foreach (var e in report.ControlEvents.Where(e => e.Action != AuditActions.LessonAdmitted))
        {
            var colour = e.Action switch
            {
                AuditActions.SnapshotRolledBack => "red",
                AuditActions.LessonRejected or AuditActions.LessonQueuedForReview => "yellow",
                AuditActions.SnapshotPromoted => "green",
                _ => "default",
            };
            console.MarkupLineInterpolated($"  after episode {e.AfterEpisode,4}  [{colour}]{e.Action}[/] {e.Subject} by {e.Actor}: {Output.Shorten(e.Reason, 160)}");
        }

        var armed = report.Episodes.Where(e => e.Arm is not null).ToArray();
        if (armed.Length > 0)
        {
            var arms = new Table().AddColumns("slice", "baseline arm", "candidate arm");
            foreach (var slice in armed.GroupBy(e => e.Slice).OrderBy(g => g.Key, StringComparer.Ordinal))
            {
                var b = slice.Where(e => e.Arm == RolloutArms.Baseline).ToArray();
                var c = slice.Where(e => e.Arm == RolloutArms.Candidate).ToArray();
                arms.AddRow(Markup.Escape(slice.Key), $"{Output.Percent(b.Length == 0 ? 0 : b.Count(e => e.Success) / (double)b.Length)} (n={b.Length})", $"{Output.Percent(c.Length == 0 ? 0 : c.Count(e => e.Success) / (double)c.Length)} (n={c.Length})");
            }

            console.MarkupLine("Success per arm while a canary ran (all canaries together):");
            console.Write(arms);
        }

        console.MarkupLine(report.Quarantined.Count == 0 ? "[red]No lesson was quarantined.[/]" : "Quarantined by the admission guards (never served):");
        foreach (var q in report.Quarantined)
        {
            console.MarkupLineInterpolated($"  [yellow]{q.Id}[/] {q.Status}: rules {string.Join(", ", q.Rules)} ({q.EvidenceEpisodes} episodes from {q.DistinctSources} units)");
            console.MarkupLineInterpolated($"      {Output.Shorten(q.Text, 150)}");
        }

        var verification = await AuditVerifier.VerifyAsync(store, cancellationToken: cancellationToken);
        console.MarkupLine(verification.Fault is null
            ? $"lore audit verify: [green]verified {verification.Records} records[/], head {Markup.Escape(verification.Head.ToString())}"
            : $"lore audit verify: [red]{Markup.Escape(verification.Fault.Description)}[/]");
    }

    /// <summary>The shift scenario's ending: what the candidate improved, which failure mode appeared where, and the audited evidence.</summary>
    private void WriteFailureShift(SimulationReport report)
    {
        console.Write(new Rule("[bold]Improved, or merely shifted the errors?[/]").LeftJustified());
        foreach (var e in report.ControlEvents.Where(e => e.Action is AuditActions.SnapshotCanary or AuditActions.SnapshotPromoted or AuditActions.SnapshotRolledBack or AuditActions.FailureShiftDetected))
        {
            var colour = e.Action == AuditActions.FailureShiftDetected ? "yellow" : "default";
            console.MarkupLineInterpolated($"  after episode {e.AfterEpisode,4}  [{colour}]{e.Action}[/] {e.Subject} by {e.Actor}: {Output.Shorten(e.Reason, 200)}");
        }

        if (report.FailureShiftHold is not { } hold)
        {
            console.MarkupLine("[red]No candidate was held back for a failure shift in this run[/] (try more --episodes).");
            return;
        }

        console.MarkupLineInterpolated($"Held back: candidate [bold]{hold.CandidateSnapshotId}[/] raised overall success from {Output.Percent(hold.BaselineSuccessRate)} (n={hold.BaselineEpisodes}) to [green]{Output.Percent(hold.CandidateSuccessRate)}[/] (n={hold.CandidateEpisodes}), but:");
        foreach (var m in hold.Grown)
        {
            console.MarkupLineInterpolated($"  [yellow]{m.Mode}[/] {(m.IsNew ? "appeared (new)" : "grew")} on slice [bold]{m.Slice}[/]: {Output.Percent(m.BaselineRate)} of {m.BaselineEpisodes} baseline episodes -> {Output.Percent(m.CandidateRate)} of {m.CandidateEpisodes} candidate episodes (p = {m.PValue.ToString("0.####", CultureInfo.InvariantCulture)})");
        }

        console.MarkupLineInterpolated($"The rollout kept it in canary instead of promoting it; the evidence is in the audit entry {AuditActions.FailureShiftDetected} (lore audit list), 'lore rollout status' and the dashboard's Error mix page.");
    }

    /// <summary>
    /// The demo against a running server: tickets through the OpenAI-compatible proxy with the official SDK, outcomes
    /// and learning through the REST API, and the per-window table showing success rise once lessons are injected.
    /// </summary>
    private async Task<int> ProxyAsync(CommandContext context, Settings settings, Uri server, CancellationToken cancellationToken)
    {
        var key = settings.Key ?? Environment.GetEnvironmentVariable("LORE_API_KEY");
        if (string.IsNullOrWhiteSpace(key))
        {
            throw new CliException("--proxy needs an API key: pass --key lore_... (lore serve prints one the first time it starts on an empty store) or set LORE_API_KEY.");
        }

        bool Given(string option) => context.Arguments.Contains(option);
        var options = new ProxyDemoOptions(
            server,
            key.Trim(),
            Given("--episodes") ? settings.Episodes : 200,
            Given("--learn-every") ? settings.LearnEvery : 40,
            Given("--seed") ? settings.Seed : 7,
            settings.Streaming);

        console.MarkupLine("[yellow]Simulated: the workplace (customers, tickets, tools with hidden rules) and the agent behind 'lore serve --upstream simulated' are simulated; the agent makes typical mistakes and follows the lessons Lore injects. Real: the official OpenAI .NET SDK, Lore's proxy, REST API, learning and rollout.[/]");
        console.MarkupLineInterpolated($"Proxy: {new Uri(server, "v1/chat/completions")} ({(options.Streaming ? "streamed" : "whole")} completions); seed {options.Seed}, {options.Episodes} tickets, learning every {options.LearnEvery}.");
        console.WriteLine();

        var demo = new ProxyDemo(options);
        var report = await demo.RunAsync(
            notice => console.MarkupLine("[yellow]" + Markup.Escape(notice) + "[/]"),
            w => console.MarkupLineInterpolated($"episodes {w.First,4}-{w.Last,-4} success {Output.Percent(w.SuccessRate),6}   calls with lessons {w.CallsWithLessons}/{w.ModelCalls}   snapshot {string.Join(", ", w.Snapshots)}"),
            l => console.MarkupLineInterpolated($"  [green]learned after episode {l.AfterEpisode}[/]: {l.Message}"),
            cancellationToken);

        console.WriteLine();
        console.Write(new Rule("[bold]Success rate per window (through the proxy)[/]").LeftJustified());
        var chart = new BarChart().Width(70).Label("episodes  (green: lessons injected)");
        var table = new Table().AddColumns("episodes", "success", "calls with lessons", "lessons per call", "snapshot (X-Lore-Snapshot)");
        foreach (var w in report.Windows)
        {
            chart.AddItem($"{w.First,4}-{w.Last,-4}", Math.Round(w.SuccessRate * 100, 1), w.CallsWithLessons > 0 ? Color.Green : Color.Grey);
            table.AddRow(
                $"{w.First}-{w.Last}",
                $"{Output.Percent(w.SuccessRate)} ({w.Successes}/{w.Episodes})",
                $"{w.CallsWithLessons}/{w.ModelCalls}",
                w.LessonsPerCall.ToString("0.00", CultureInfo.InvariantCulture),
                Markup.Escape(string.Join(", ", w.Snapshots)));
        }

        console.Write(chart);
        console.Write(table);
        var without = report.Windows.Where(w => w.CallsWithLessons == 0).ToList();
        var with = report.Windows.Where(w => w.CallsWithLessons > 0).ToList();
        if (without.Count > 0 && with.Count > 0)
        {
            double Rate(List<ProxyDemoWindow> ws) => ws.Sum(w => w.Successes) / (double)ws.Sum(w => w.Episodes);
            console.MarkupLineInterpolated($"Windows without lessons: [bold]{Output.Percent(Rate(without))}[/] success; windows with lessons injected: [bold green]{Output.Percent(Rate(with))}[/].");
        }
        else if (with.Count == 0)
        {
            console.MarkupLine(report.Learned
                ? "No call carried lessons: the run was too short to learn from (try more --episodes), or the rollout did not serve the new snapshots (see above)."
                : "No call carried lessons: nothing learned was served to this run's customers.");
        }

        console.MarkupLineInterpolated($"Episodes are stored as demo-{report.RunId}-NNNNN. Next: open {new Uri(server, "dashboard")}, or 'lore lessons list' and 'lore blame demo-{report.RunId}-{options.Episodes:D5}' on the server's store.");
        return 0;
    }

    private void Write(SimulationReport report)
    {
        console.Write(new Rule("[bold]Success rate per window[/]").LeftJustified());
        var chart = new BarChart().Width(70).Label("episodes  (lessons injected)");
        var curve = new Table().AddColumns("episodes", "success", "with lessons", "snapshot");
        foreach (var w in report.Windows)
        {
            chart.AddItem($"{w.First,4}-{w.Last,-4}", Math.Round(w.Result.Rate * 100, 1), w.EpisodesWithLessons > 0 ? Color.Green : Color.Grey);
            curve.AddRow($"{w.First}-{w.Last}", Output.Percent(w.Result.Rate), $"{w.EpisodesWithLessons}/{w.Result.Episodes}", Markup.Escape(string.Join(", ", w.SnapshotIds.Select(s => s))));
        }

        console.Write(chart);
        console.Write(curve);
        console.MarkupLineInterpolated($"Before learning: [bold]{Output.Percent(report.BeforeLearning.Rate)}[/] ({report.BeforeLearning.Successes}/{report.BeforeLearning.Episodes})   after learning: [bold green]{Output.Percent(report.AfterLearning.Rate)}[/] ({report.AfterLearning.Successes}/{report.AfterLearning.Episodes})");

        var slices = new Table().AddColumns("slice", "before", "after");
        foreach (var s in report.Slices)
        {
            slices.AddRow(Markup.Escape(s.Slice), $"{Output.Percent(s.BeforeLearning.Rate)} (n={s.BeforeLearning.Episodes})", $"{Output.Percent(s.AfterLearning.Rate)} (n={s.AfterLearning.Episodes})");
        }

        console.Write(slices);

        console.Write(new Rule("[bold]Lessons served at the end[/]").LeftJustified());
        foreach (var l in report.Lessons)
        {
            console.MarkupLineInterpolated($"[bold]{l.Id}[/] {l.Kind}: evidence {l.EvidenceEpisodes} episodes from {l.DistinctSources} sources, {l.Extractor}, confidence {l.Confidence:F2}, injected in {l.InjectedInEpisodes} episodes");
            console.MarkupLineInterpolated($"    {l.Text}");
        }


        console.Write(new Rule("[bold]Snapshots created[/]").LeftJustified());
        var snapshots = new Table().AddColumns("snapshot", "parent", "lessons", "after episode");
        foreach (var s in report.Snapshots)
        {
            snapshots.AddRow(Markup.Escape(s.Id), Markup.Escape(s.ParentId ?? "-"), s.LessonCount.ToString(), s.AfterEpisode.ToString());
        }

        console.Write(snapshots);
        console.MarkupLineInterpolated($"Learning runs: {report.LearningRuns.Count}; final snapshot {report.FinalSnapshotId ?? "none"}.");
        console.MarkupLine("Next: [bold]lore lessons list[/], [bold]lore lessons show ID[/], [bold]lore snapshots show[/] (same --store).");
    }

    /// <summary>Reports on the caller's thread, so the progress display sees every update in order.</summary>
    private sealed class SynchronousProgress<T>(Action<T> report) : IProgress<T>
    {
        public void Report(T value) => report(value);
    }
}
