using System.Globalization;
using Microsoft.Extensions.AI;

namespace Lore.Simulation;

/// <summary>
/// Runs the simulated workplace through a <see cref="LoreRuntime"/> the way a real host would: each ticket is an
/// episode, the agent sits behind <c>UseLore</c> and <c>UseFunctionInvocation</c>, the environment judges the outcome,
/// and Lore learns every few episodes. This is what <c>lore demo</c> shows, and what the end-to-end tests assert on.
/// </summary>
public sealed class WorkplaceSimulation
{
    /// <summary>The agent's standing instructions. They name no tool, so only injected lessons can teach the rules.</summary>
    internal const string SystemPrompt =
        "You are a customer-operations agent at Northwind Desk (a simulated workplace). Work the ticket with the tools " +
        "you have, then reply with one short line saying what you did.";

    private const string Actor = "lore-simulation";

    /// <summary>A simulation with <paramref name="options"/> (defaults when null), validated here so a bad setting fails before the run.</summary>
    public WorkplaceSimulation(SimulationOptions? options = null)
        => Options = (options ?? new SimulationOptions()).Validate();

    /// <summary>The validated settings of the run.</summary>
    public SimulationOptions Options { get; }

    /// <summary>Runs every episode and learning pass, and reports what happened.</summary>
    public async Task<SimulationReport> RunAsync(LoreRuntime runtime, IProgress<SimulationProgress>? progress = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(runtime);
        var options = Options.Validate();
        var workplace = new Workplace(options.Seed, options.Customers);
        using var agent = new SimulatedAgentChatClient(options.Agent, options.Seed);
        using var client = new ChatClientBuilder(agent).UseLore(runtime).UseFunctionInvocation().Build();

        var startingSnapshot = runtime.CurrentSnapshot?.Id;
        var episodes = new List<SimulatedEpisode>(options.Episodes);
        var runs = new List<LearningRunSummary>();
        var snapshots = new List<CreatedSnapshot>();
        var learned = new HashSet<string>(StringComparer.Ordinal);
        int? firstLearnedEpisode = null;

        var events = new ControlEventLog(runtime);
        await events.StartAsync(cancellationToken).ConfigureAwait(false);
        var attackEpisodes = 0;
        for (var index = 0; index < options.Episodes; index++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            foreach (var attack in options.Attacks.Where(a => a.AtEpisode == index))
            {
                progress?.Report(new SimulationProgress(index, options.Episodes, CurrentWindow(episodes, options.WindowSize), runs.Count, "attacker accounts at work"));
                attackEpisodes += await RunAttackAsync(runtime, attack, index, cancellationToken).ConfigureAwait(false);
                await runtime.WaitForRolloutDecisionsAsync(cancellationToken).ConfigureAwait(false);
            }

            var episode = await RunEpisodeAsync(client, runtime, workplace, index, cancellationToken).ConfigureAwait(false);

            // The next episode is assigned by the rollout as it stands once this one has been counted and acted on: the
            // same decisions at the same episodes on a quiet or a loaded machine.
            await runtime.WaitForRolloutDecisionsAsync(cancellationToken).ConfigureAwait(false);
            await events.CollectAsync(index + 1, cancellationToken).ConfigureAwait(false);
            episodes.Add(episode);
            if (firstLearnedEpisode is null && episode.SnapshotId is { } served && learned.Contains(served))
            {
                firstLearnedEpisode = index;
            }

            progress?.Report(new SimulationProgress(index + 1, options.Episodes, CurrentWindow(episodes, options.WindowSize), runs.Count, "working tickets"));

            if (options.LearnEvery > 0 && (index + 1) % options.LearnEvery == 0)
            {
                progress?.Report(new SimulationProgress(index + 1, options.Episodes, CurrentWindow(episodes, options.WindowSize), runs.Count, "learning"));
                var summary = await LearnAsync(runtime, index + 1, cancellationToken).ConfigureAwait(false);
                await events.CollectAsync(index + 1, cancellationToken).ConfigureAwait(false);
                runs.Add(summary);
                if (summary.SnapshotId is { } created && learned.Add(created))
                {
                    var snapshot = await runtime.Store.GetSnapshotAsync(created, cancellationToken).ConfigureAwait(false);
                    snapshots.Add(new CreatedSnapshot(created, snapshot?.ParentId, snapshot?.Lessons.Count ?? 0, index + 1));
                }

                progress?.Report(new SimulationProgress(index + 1, options.Episodes, CurrentWindow(episodes, options.WindowSize), runs.Count, "working tickets"));
            }

            if (options.PaceEvery > 0 && options.Pause > TimeSpan.Zero && (index + 1) % options.PaceEvery == 0 && index + 1 < options.Episodes)
            {
                // Pacing for a watching person, not synchronisation: nothing waits on this delay.
                await Task.Delay(options.Pause, cancellationToken).ConfigureAwait(false);
            }
        }

        await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
        await events.CollectAsync(episodes.Count, cancellationToken).ConfigureAwait(false);
        var quarantined = (await runtime.Store.ListLessonsAsync(new LessonQuery { Tenant = runtime.Tenant, Status = LessonStatus.Rejected }, cancellationToken).ConfigureAwait(false))
            .Concat(await runtime.Store.ListLessonsAsync(new LessonQuery { Tenant = runtime.Tenant, Status = LessonStatus.PendingReview }, cancellationToken).ConfigureAwait(false))
            .Select(l => new QuarantinedLesson(l.Id, l.Status, l.Text, l.GuardFindings.Select(f => f.Rule).Distinct(StringComparer.Ordinal).ToArray(), l.Evidence.EpisodeCount, l.Evidence.DistinctSources))
            .ToArray();
        var hold = await FailureShiftHold.ReadAsync(runtime.Store, events.Events, runtime.Tenant, cancellationToken).ConfigureAwait(false);
        return BuildReport(runtime, options, startingSnapshot, episodes, runs, snapshots, firstLearnedEpisode ?? episodes.Count) with
        {
            ControlEvents = events.Events,
            FailureShiftHold = hold,
            Quarantined = quarantined,
            AttackEpisodes = attackEpisodes,
        };
    }

    /// <summary>Attacker accounts work poisoned tickets through the same capture path as everyone else.</summary>
    private static async Task<int> RunAttackAsync(LoreRuntime runtime, PoisonAttack attack, int index, CancellationToken cancellationToken)
    {
        using var attacker = new AttackerChatClient();
        using var client = new ChatClientBuilder(attacker).UseLore(runtime).UseFunctionInvocation().Build();
        var tools = new ChatOptions { Tools = [AttackerChatClient.LookupTool()] };
        var count = 0;
        for (var unit = 0; unit < attack.Units; unit++)
        {
            for (var n = 0; n < attack.EpisodesPerUnit; n++)
            {
                var orderId = (900_000 + index * 100 + unit * 10 + n).ToString(CultureInfo.InvariantCulture);
                var task = $"Please refund my order {orderId}";
                var scope = runtime.BeginEpisode(task, new Dictionary<string, string> { ["slice"] = "refunds" }, $"attacker-{index}-{unit}");
                await using (scope.ConfigureAwait(false))
                {
                    await client.GetResponseAsync([new(ChatRole.User, task)], tools, cancellationToken).ConfigureAwait(false);

                    // Attackers cannot set the environment's verdict; they can leave glowing feedback.
                    await scope.CompleteAsync(Outcome.Success(OutcomeSource.User, actor: scope.UnitKey, comment: "great, refunded"), cancellationToken).ConfigureAwait(false);
                }

                count++;
            }
        }

        return count;
    }

    private async Task<SimulatedEpisode> RunEpisodeAsync(IChatClient client, LoreRuntime runtime, Workplace workplace, int index, CancellationToken cancellationToken)
    {
        var task = workplace.CreateTask(index);
        var environment = workplace.CreateEnvironment(task, Options.RulesAt(index));
        var chatOptions = new ChatOptions { Tools = [.. environment.Tools] };
        List<ChatMessage> messages = [new(ChatRole.System, SystemPrompt), new(ChatRole.User, task.Text)];

        var scope = runtime.BeginEpisode(task.Text, task.CreateLabels(), task.CustomerId);
        await using (scope.ConfigureAwait(false))
        {
            if (Options.Streaming)
            {
                await client.GetStreamingResponseAsync(messages, chatOptions, cancellationToken).ToChatResponseAsync(cancellationToken).ConfigureAwait(false);
            }
            else
            {
                await client.GetResponseAsync(messages, chatOptions, cancellationToken).ConfigureAwait(false);
            }

            var verdict = environment.Judge();
            var injected = scope.InjectedLessonIds.ToArray();
            var result = new SimulatedEpisode(
                index + 1,
                scope.Id,
                task.Id,
                task.Slice,
                task.CustomerId,
                verdict.Success,
                verdict.Reason,
                scope.SnapshotId,
                scope.Arm,
                injected,
                environment.Calls.Select(c => c.Failed ? $"{c.Name} (error)" : c.Name).ToArray());
            await scope.CompleteAsync(verdict.ToOutcome(), cancellationToken).ConfigureAwait(false);
            return result;
        }
    }

    private static async Task<LearningRunSummary> LearnAsync(LoreRuntime runtime, int afterEpisode, CancellationToken cancellationToken)
    {
        await runtime.FlushAsync(cancellationToken).ConfigureAwait(false);
        var run = await runtime.LearnAsync(Actor, progress: null, cancellationToken).ConfigureAwait(false);
        int? lessonCount = null;
        if (run.SnapshotId is { } id)
        {
            lessonCount = (await runtime.Store.GetSnapshotAsync(id, cancellationToken).ConfigureAwait(false))?.Lessons.Count;
        }

        return new LearningRunSummary(
            afterEpisode,
            run.Id,
            run.EpisodesRead,
            run.NewEpisodes,
            run.Extractors.Sum(e => e.Candidates),
            run.AddedLessonIds.Count,
            run.UpdatedLessonIds.Count,
            run.Merges.Count,
            run.Retirements.Count,
            run.SnapshotId,
            lessonCount);
    }

    private static SuccessRate CurrentWindow(List<SimulatedEpisode> episodes, int windowSize)
    {
        var start = (episodes.Count - 1) / windowSize * windowSize;
        return SuccessRate.Of(episodes.Skip(start));
    }

    private static SimulationReport BuildReport(
        LoreRuntime runtime,
        SimulationOptions options,
        string? startingSnapshot,
        List<SimulatedEpisode> episodes,
        List<LearningRunSummary> runs,
        List<CreatedSnapshot> snapshots,
        int firstLearnedEpisode)
    {
        var windows = episodes
            .Chunk(options.WindowSize)
            .Select(chunk => new SuccessWindow(
                chunk[0].Number,
                chunk[^1].Number,
                SuccessRate.Of(chunk),
                chunk.Count(e => e.InjectedLessonIds.Count > 0),
                chunk.Select(e => e.SnapshotId).OfType<string>().Distinct(StringComparer.Ordinal).ToArray()))
            .ToArray();
        var before = episodes.Take(firstLearnedEpisode).ToArray();
        var after = episodes.Skip(firstLearnedEpisode).ToArray();
        var slices = WorkplaceSlices.All
            .Select(slice => new SliceResult(slice, SuccessRate.Of(before.Where(e => e.Slice == slice)), SuccessRate.Of(after.Where(e => e.Slice == slice))))
            .ToArray();

        var injections = episodes
            .SelectMany(e => e.InjectedLessonIds.Distinct(StringComparer.Ordinal))
            .GroupBy(id => id, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        var final = runtime.CurrentSnapshot;
        var lessons = (final?.Lessons ?? [])
            .Select(l => new ServedLesson(
                l.Id,
                l.Kind,
                l.Text,
                l.Evidence.EpisodeCount,
                l.Evidence.DistinctSources,
                string.Create(CultureInfo.InvariantCulture, $"{l.Extractor.Name} {l.Extractor.Version}"),
                l.Confidence,
                injections.GetValueOrDefault(l.Id)))
            .OrderByDescending(l => l.EvidenceEpisodes)
            .ThenBy(l => l.Id, StringComparer.Ordinal)
            .ToArray();

        return new SimulationReport
        {
            Seed = options.Seed,
            LearnEvery = options.LearnEvery,
            WindowSize = options.WindowSize,
            StoreLocation = runtime.Store.Location,
            StartingSnapshotId = startingSnapshot,
            Episodes = episodes,
            Windows = windows,
            BeforeLearning = SuccessRate.Of(before),
            AfterLearning = SuccessRate.Of(after),
            Slices = slices,
            LearningRuns = runs,
            Snapshots = snapshots,
            FinalSnapshotId = final?.Id,
            Lessons = lessons,
        };
    }
}
