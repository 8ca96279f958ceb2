using Lore.Simulation.OpenAi;
using System.ClientModel;
using System.Globalization;
using Lore.Cli.Infrastructure;

namespace Lore.Cli.Demo;

/// <summary>What the proxy demo does, and how often.</summary>
internal sealed record ProxyDemoOptions(Uri Server, string ApiKey, int Episodes, int LearnEvery, int Seed, bool Streaming);

/// <summary>One window of episodes between learning passes, as the agent saw it through the proxy.</summary>
internal sealed record ProxyDemoWindow(
    int First,
    int Last,
    int Episodes,
    int Successes,
    int ModelCalls,
    int CallsWithLessons,
    int LessonsInjected,
    IReadOnlyList<string> Snapshots)
{
    public double SuccessRate => Episodes == 0 ? 0 : Successes / (double)Episodes;

    /// <summary>Lessons the proxy injected per model call, on average.</summary>
    public double LessonsPerCall => ModelCalls == 0 ? 0 : LessonsInjected / (double)ModelCalls;
}

/// <summary>What happened at one learning point: the run, and what the rollout did with its snapshot.</summary>
internal sealed record ProxyDemoLearning(int AfterEpisode, string Message);

/// <summary>The whole run: per-window figures and every learning point.</summary>
internal sealed record ProxyDemoReport(string RunId, bool Learned, IReadOnlyList<ProxyDemoWindow> Windows, IReadOnlyList<ProxyDemoLearning> Learning);

/// <summary>
/// The simulated workplace worked through a running <c>lore serve</c> as any OpenAI-based agent would use it: tickets
/// through the proxy with the official SDK, tools run here, the environment's verdict posted as the outcome, and,
/// every few episodes, a learning pass whose snapshot is brought into service, so that later calls carry lessons.
/// </summary>
internal sealed class ProxyDemo(ProxyDemoOptions options)
{
    private const string PromoteReason = "lore demo --proxy: promoted the snapshot learned from the simulated workplace so the next window runs with its lessons";

    /// <summary>Runs the demo; <paramref name="onWindow"/> and <paramref name="onLearning"/> see each as it completes.</summary>
    public async Task<ProxyDemoReport> RunAsync(Action<string> onNotice, Action<ProxyDemoWindow> onWindow, Action<ProxyDemoLearning> onLearning, CancellationToken cancellationToken)
    {
        using var server = new LoreServerClient(options.Server, options.ApiKey);
        var access = await server.CheckAsync(cancellationToken).ConfigureAwait(false);
        var learn = access == KeyAccess.Admin;
        if (!learn)
        {
            onNotice("The key is not an admin key, so this run cannot start learning or promote snapshots: it records outcomes only, and shows lessons only if the server learns by itself (lore worker) or an admin promotes. Use an admin key (lore keys create --role admin) to watch the whole loop.");
        }

        // A fresh run id keeps the episode ids of this run apart from earlier runs on the same server.
        var runId = Guid.NewGuid().ToString("N")[..8];
        var agent = new WorkplaceOverOpenAi(options.Server, options.ApiKey, options.Seed);
        var windows = new List<ProxyDemoWindow>();
        var learning = new List<ProxyDemoLearning>();
        var window = new List<TicketRun>();
        var firstInWindow = 1;
        for (var index = 0; index < options.Episodes; index++)
        {
            var episodeId = $"demo-{runId}-{index + 1:D5}";
            TicketRun run;
            try
            {
                run = await agent.RunAsync(index, episodeId, options.Streaming, cancellationToken).ConfigureAwait(false);
            }
            catch (ClientResultException e)
            {
                throw new CliException(Describe(e, options.Server));
            }

            await server.RecordOutcomeAsync(episodeId, run.Verdict.Success, run.Verdict.Reason, cancellationToken).ConfigureAwait(false);
            window.Add(run);

            var done = index + 1;
            if (done % options.LearnEvery != 0 && done != options.Episodes)
            {
                continue;
            }

            var finished = Summarise(firstInWindow, done, window);
            windows.Add(finished);
            onWindow(finished);
            window.Clear();
            firstInWindow = done + 1;
            if (learn && done < options.Episodes)
            {
                var point = new ProxyDemoLearning(done, await LearnAndServeAsync(server, cancellationToken).ConfigureAwait(false));
                learning.Add(point);
                onLearning(point);
            }
        }

        return new ProxyDemoReport(runId, learn, windows, learning);
    }

    /// <summary>One learning pass, and the snapshot it made brought into service unless the rollout already did or refuses.</summary>
    private static async Task<string> LearnAndServeAsync(LoreServerClient server, CancellationToken cancellationToken)
    {
        var run = await server.LearnAsync(cancellationToken).ConfigureAwait(false);
        var learned = $"learning run {run.RunId} read {run.EpisodesRead} episodes and added {run.AddedLessons} lessons";
        if (run.SnapshotId is not { } snapshot)
        {
            return $"{learned}; no new snapshot (nothing changed), the served lessons stay as they are.";
        }

        var rollout = await server.RolloutAsync(cancellationToken).ConfigureAwait(false);
        if (rollout.StableSnapshotId == snapshot)
        {
            return $"{learned}: snapshot {snapshot}, served to every customer at once (the server's rollout policy activates new snapshots directly).";
        }

        if (rollout.Frozen)
        {
            return $"{learned}: snapshot {snapshot}, but the rollout is frozen ({rollout.FrozenReason}), so it is not served; the next window runs without it.";
        }

        if (rollout.CandidateSnapshotId != snapshot)
        {
            return $"{learned}: snapshot {snapshot}, which the rollout does not serve (stable {rollout.StableSnapshotId ?? "none"}, candidate {rollout.CandidateSnapshotId ?? "none"}); left as it is.";
        }

        var stage = rollout.Stage == "canary"
            ? string.Create(CultureInfo.InvariantCulture, $"canary for {rollout.CanaryShare:P0} of customers")
            : rollout.Stage;
        var refused = await server.PromoteAsync(PromoteReason, cancellationToken).ConfigureAwait(false);
        return refused is null
            ? $"{learned}: snapshot {snapshot} entered as {stage} (the server's rollout policy); promoted it so every customer gets it (audited with the reason)."
            : $"{learned}: snapshot {snapshot} is in {stage}; promoting it was refused: {refused}";
    }

    private static ProxyDemoWindow Summarise(int first, int last, List<TicketRun> runs)
    {
        var calls = runs.SelectMany(r => r.Calls).ToList();
        var lessons = calls.Select(c => c.TryGetValue("X-Lore-Lessons", out var ids) ? ids.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Length : 0).ToList();
        var snapshots = calls.Select(c => c.TryGetValue("X-Lore-Snapshot", out var s) ? s : "none").Distinct(StringComparer.Ordinal).ToList();
        return new ProxyDemoWindow(first, last, runs.Count, runs.Count(r => r.Verdict.Success), calls.Count, lessons.Count(n => n > 0), lessons.Sum(), snapshots);
    }

    /// <summary>The SDK's failure as one line: unreachable server, rejected key, disabled proxy, upstream trouble.</summary>
    private static string Describe(ClientResultException e, Uri server)
    {
        var detail = e.Message.ReplaceLineEndings(" ").Trim();
        return e.Status switch
        {
            0 => $"cannot reach Lore's proxy at {server}: {e.InnerException?.Message ?? detail} Is 'lore serve' running there?",
            401 => $"the proxy at {server} refused the key (401 Unauthorized): check --key.",
            404 => $"the proxy at {server} answered 404: is this a Lore server? ({Output.Shorten(detail, 200)})",
            503 => $"the proxy at {server} has no upstream (503): start the server with 'lore serve --upstream simulated'. ({Output.Shorten(detail, 200)})",
            _ => $"the proxy at {server} answered {e.Status}: {Output.Shorten(detail, 300)}",
        };
    }
}
