using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Rollout;

/// <summary>
/// A simulated support desk for continuous-evaluation tests: tickets of three slices go through the runtime and a
/// scripted agent behind <c>UseLore</c>, and each episode succeeds with a probability that depends on its slice and on
/// which lessons actually reached the model, so an arm is better or worse only through what it injects. Seeded, so a
/// run is the same every time.
/// </summary>
internal sealed class SimulatedDesk(RolloutScenario scenario, int seed, Func<string, IReadOnlyCollection<string>, double> successRate)
{
    public static readonly (string Slice, string Task)[] Work =
    [
        ("refunds", RolloutScenario.RefundTask),
        ("shipping", "change the shipping address"),
        ("baggage", "baggage allowance question"),
    ];

    private readonly Random _random = new(seed);

    /// <summary>Episodes by arm ("none" outside a rollout) and whether a given lesson was injected.</summary>
    public Dictionary<string, int> ByArm { get; } = [];

    public int Episodes { get; private set; }

    /// <summary>Runs ticket <paramref name="index"/> and judges it.</summary>
    public async Task<EpisodeScope> RunAsync(int index, string? task = null, string? slice = null)
    {
        var work = Work[index % Work.Length];
        task ??= work.Task;
        slice ??= work.Slice;
        var unit = $"user-{_random.Next(100_000)}";
        var episode = scenario.Runtime.BeginEpisode(task, new() { ["slice"] = slice }, unit);
        await using (episode)
        {
            await scenario.Client.GetResponseAsync([new ChatMessage(ChatRole.System, "You are a support agent."), new ChatMessage(ChatRole.User, task)], cancellationToken: TestContext.Current.CancellationToken);
            var success = _random.NextDouble() < successRate(slice, episode.InjectedLessonIds);
            await episode.CompleteAsync(success ? Outcome.Success() : Outcome.Failure(), TestContext.Current.CancellationToken);
        }

        var arm = episode.Arm ?? "none";
        ByArm[arm] = ByArm.GetValueOrDefault(arm) + 1;
        Episodes++;
        return episode;
    }
}
