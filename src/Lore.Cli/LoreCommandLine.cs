using Lore.Cli.Commands;
using Lore.Cli.Infrastructure;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Lore.Cli;

/// <summary>
/// The <c>lore</c> command tree. Kept separate from Program so tests can run any command in-process against a
/// captured console and see exactly what a user would.
/// </summary>
internal static class LoreCommandLine
{
    public static async Task<int> RunAsync(string[] args, IAnsiConsole console, TextWriter error, CancellationToken cancellationToken = default)
    {
        var registrar = new ConsoleRegistrar(console);
        var app = new CommandApp(registrar);
        app.Configure(config =>
        {
            config.SetApplicationName("lore");
            config.ConfigureConsole(console);
            config.Settings.StrictParsing = true;
            config.SetExceptionHandler((ex, _) =>
            {
                error.WriteLine($"lore: error: {CliErrors.Describe(ex)}");
                return CliErrors.ExitCode(ex);
            });

            config.AddCommand<DemoCommand>("demo")
                .WithDescription("Run the simulated workplace and watch the agent learn (in-process, no model endpoint; with --proxy, through a running 'lore serve --upstream simulated' and the OpenAI SDK).")
                .WithExample("demo", "--proxy", "http://127.0.0.1:5080", "--key", "lore_...");
            config.AddCommand<IngestCommand>("ingest")
                .WithDescription("Import trajectories (OpenAI chat-completions messages, JSON array or JSONL; tau-bench results).")
                .WithExample("ingest", "trajectories.json", "--label", "slice=airline");
            config.AddCommand<EvalCommand>("eval")
                .WithDescription("Replay a held-out task set under a baseline and a candidate snapshot; report per-slice deltas with confidence intervals (exit 3 on a regression).");
            config.AddCommand<McpCommand>("mcp")
                .WithDescription("Serve the MCP tools and resources over stdio to a local coding agent, as an agent of --tenant (stdout carries only the protocol).")
                .WithExample("mcp", "--store", "lore.db", "--tenant", "default");
            config.AddCommand<LearnCommand>("learn")
                .WithDescription("Run one learning pass: extract lessons from episodes and create a new snapshot.");
            config.AddCommand<WorkerCommand>("worker").WithDescription("Run a learning worker: lease ended episodes, learn from them, mark them processed; run several on one shared store.");
            config.AddBranch("lessons", lessons =>
            {
                lessons.SetDescription("Inspect lessons, and write, edit, retire and pin them by hand.");
                lessons.AddCommand<LessonsListCommand>("list").WithDescription("List the lessons of the active snapshot (or all with --all).");
                lessons.AddCommand<LessonsShowCommand>("show").WithDescription("Show one lesson with its evidence and provenance.");
                lessons.AddCommand<LessonsAddCommand>("add").WithDescription("Write a lesson (a policy the agent must follow); screened, audited, and served through a new snapshot in the rollout.")
                    .WithExample("lessons", "add", "Refunds over $500 need a supervisor's approval.", "--label", "slice=refunds", "--tool", "refund_order", "--pin", "--reason", "refunds policy 2026-04");
                lessons.AddCommand<LessonsEditCommand>("edit").WithDescription("Make a new version of a lesson; the previous one stays in its lineage.")
                    .WithExample("lessons", "edit", "les-0123456789abcdef", "--text", "Look the order up first.", "--reason", "clearer wording");
                lessons.AddCommand<LessonsRetireCommand>("retire").WithDescription("Take one lesson out of service: a child snapshot without it enters the rollout.")
                    .WithExample("lessons", "retire", "les-0123456789abcdef", "--reason", "wrong since the refunds API changed", "--entry", "now");
                lessons.AddCommand<LessonsPinCommand>("pin").WithDescription("Pin a lesson: injected whenever in scope, first (within the token budget).");
                lessons.AddCommand<LessonsUnpinCommand>("unpin").WithDescription("Unpin a lesson: retrieved by relevance again.");
            });
            config.AddBranch("snapshots", snapshots =>
            {
                snapshots.SetDescription("Inspect snapshots of the learned state.");
                snapshots.AddCommand<SnapshotsListCommand>("list").WithDescription("List snapshots, newest first.");
                snapshots.AddCommand<SnapshotsShowCommand>("show").WithDescription("Show one snapshot: settings, lessons, the learning run that made it.");
                snapshots.AddCommand<SnapshotsExportCommand>("export").WithDescription("Write a snapshot as a self-contained bundle (no episodes, no personal data), optionally signed.")
                    .WithExample("snapshots", "export", "stable", "--out", "staging.bundle", "--sign-key", "bundle.pem");
                snapshots.AddCommand<SnapshotsImportCommand>("import").WithDescription("Verify a bundle and add it as a candidate that enters this tenant's rollout (canary by default).")
                    .WithExample("snapshots", "import", "staging.bundle", "--verify-key", "bundle.pub.pem", "--reason", "promote staging 2026-04");
            });
            config.AddBranch("review", review =>
            {
                review.SetDescription("Lessons the admission guards found borderline, waiting for a person.");
                review.AddCommand<ReviewListCommand>("list").WithDescription("List the lessons waiting for review, with the rules that queued them.");
                review.AddCommand<ReviewApproveCommand>("approve").WithDescription("Admit a waiting lesson; a new snapshot containing it enters the rollout.")
                    .WithExample("review", "approve", "les-0123456789abcdef", "--reason", "checked with the refunds team");
                review.AddCommand<ReviewRejectCommand>("reject").WithDescription("Reject a waiting lesson; it is kept with the decision and never served.")
                    .WithExample("review", "reject", "les-0123456789abcdef", "--reason", "one customer's special case");
            });
            config.AddBranch("audit", audit =>
            {
                audit.SetDescription("The tamper-evident audit log of every change.");
                audit.AddCommand<AuditListCommand>("list").WithDescription("List audit entries (every tenant, or --tenant; --about ID for one lesson or snapshot).");
                audit.AddCommand<AuditVerifyCommand>("verify").WithDescription("Recompute the hash chain; name the first edited, deleted, inserted or reordered record.")
                    .WithExample("audit", "verify", "--expect-head", "42:<hash printed by the last verify>");
            });
            config.AddCommand<WhyCommand>("why")
                .WithDescription("Show a lesson's lineage: extractor, evidence, learning runs, guards and reviews, snapshots, audit entries, retirement.");
            config.AddCommand<BlameCommand>("blame")
                .WithDescription("Show what shaped an episode: snapshot and arm in effect, lessons injected with their texts, outcome.");
            config.AddCommand<ReplayCommand>("replay")
                .WithDescription("Show what a snapshot would have injected at each model call of an episode, against what was injected.")
                .WithExample("replay", "ep-42", "--snapshot", "candidate");
            config.AddCommand<DiffCommand>("diff")
                .WithDescription("Show what changed between two snapshots: lessons added, removed and changed, and settings.")
                .WithExample("diff", "snap-0123456789abcdef", "stable");
            config.AddBranch("episodes", episodes =>
            {
                episodes.SetDescription("Manage stored episodes.");
                episodes.AddCommand<EpisodesDeleteCommand>("delete")
                    .WithDescription("Delete episodes (right to erasure); lessons left without enough evidence are retired in a new snapshot.")
                    .WithExample("episodes", "delete", "--unit", "customer-42", "--reason", "erasure request 2026-117");
            });
            config.AddBranch("retention", retention =>
            {
                retention.SetDescription("Retention policies for episodes and lessons.");
                retention.AddCommand<RetentionRunCommand>("run")
                    .WithDescription("Report (or with --apply, carry out) what a retention policy deletes and retires.")
                    .WithExample("retention", "run", "--policy", "retention.json", "--apply");
            });
            config.AddBranch("rollout", rollout =>
            {
                rollout.SetDescription("Staged rollout of snapshots: shadow, canary, promote, roll back.");
                rollout.AddCommand<RolloutStatusCommand>("status").WithDescription("Show the rollout and the canary's evaluation so far, per slice.");
            });
            config.AddCommand<ShadowCommand>("shadow")
                .WithDescription("Run a snapshot in shadow: retrieve and record what it would inject, inject nothing.")
                .WithExample("shadow", "snap-0123456789abcdef");
            config.AddCommand<CanaryCommand>("canary")
                .WithDescription("Start a canary (or change its share): a stable share of units gets the candidate.")
                .WithExample("canary", "--share", "0.1");
            config.AddCommand<PromoteCommand>("promote")
                .WithDescription("Make the candidate the stable snapshot for every unit, at once.");
            config.AddCommand<RollbackCommand>("rollback")
                .WithDescription("Drop the candidate (or serve an older snapshot with --to), at once.")
                .WithExample("rollback", "--reason", "refund slice regressed");
            config.AddCommand<FreezeCommand>("freeze")
                .WithDescription("Pin what is served: no promotion, rollback or automatic action until unfrozen.")
                .WithExample("freeze", "--reason", "incident 42");
            config.AddCommand<UnfreezeCommand>("unfreeze")
                .WithDescription("Lift a freeze.");
            config.AddCommand<ServeCommand>("serve")
                .WithDescription("Serve Lore over HTTP: REST API, OpenAI-compatible proxy, OTLP receiver, MCP and dashboard, behind API keys.")
                .WithExample("serve", "--upstream", "https://api.openai.com/v1/", "--upstream-key-env", "OPENAI_API_KEY");
            config.AddBranch("keys", keys =>
            {
                keys.SetDescription("API keys for lore serve: each bound to one tenant and a role (agent, reviewer, admin); only their hashes are stored.");
                keys.AddCommand<KeysCreateCommand>("create").WithDescription("Create a key and print it once.")
                    .WithExample("keys", "create", "--tenant", "acme", "--role", "agent", "--name", "checkout agent");
                keys.AddCommand<KeysListCommand>("list").WithDescription("List keys (never their secrets).");
                keys.AddCommand<KeysTrustCommand>("trust").WithDescription("Set whether a key may assert units (each unit its own evidence source) or counts as one source.")
                    .WithExample("keys", "trust", "k1a2b3c4d5e6", "on", "--reason", "support backend authenticates its users");
                keys.AddCommand<KeysRevokeCommand>("revoke").WithDescription("Revoke a key; it never authenticates again.")
                    .WithExample("keys", "revoke", "k1a2b3c4d5e6", "--reason", "laptop lost");
            });
        });

        return await app.RunAsync(args, cancellationToken);
    }
}
