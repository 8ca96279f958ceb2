using Lore.Testing;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Runtime;

public sealed class LearningTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static async Task RunEpisodeAsync(LoreRuntime runtime, IChatClient client, string unit)
    {
        await using var episode = runtime.BeginEpisode("refund order 1142", unitKey: unit);
        await client.GetResponseAsync("Please refund order 1142", cancellationToken: Ct);
        await episode.CompleteAsync(Outcome.Success(), Ct);
    }

    [Fact]
    public async Task Learning_now_serves_the_snapshot_it_activates_to_the_next_episode()
    {
        var extractor = FixedLessonExtractor.RefundNeedsLookup();
        await using var host = await RuntimeHost.OpenAsync(configure: o =>
        {
            o.Learning.Extractors.Add(extractor);
        });
        var model = new ScriptedAgentClient();
        var client = new ChatClientBuilder(model).UseLore(host.Runtime).Build();
        await RunEpisodeAsync(host.Runtime, client, "user-1");
        await RunEpisodeAsync(host.Runtime, client, "user-2");
        await RunEpisodeAsync(host.Runtime, client, "user-3");
        Assert.Null(host.Runtime.CurrentSnapshot);

        var run = await host.Runtime.LearnAsync("test", cancellationToken: Ct);

        Assert.Equal(3, run.EpisodesRead);
        Assert.NotNull(run.SnapshotId);
        Assert.Equal(run.SnapshotId, host.Runtime.CurrentSnapshot?.Id);
        await using var next = host.Runtime.BeginEpisode("refund order 77", unitKey: "user-4");
        Assert.Equal(run.SnapshotId, next.SnapshotId);
        await client.GetResponseAsync("Please refund order 77", cancellationToken: Ct);
        Assert.Contains("Before any refund, call lookup_order", model.Requests[^1][0].Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_background_learner_runs_after_the_configured_number_of_ended_episodes()
    {
        var extractor = FixedLessonExtractor.RefundNeedsLookup();
        await using var host = await RuntimeHost.OpenAsync(configure: o =>
        {
            o.LearnEveryEpisodes = 3;
            o.Learning.Extractors.Add(extractor);
        });
        var client = new ChatClientBuilder(new ScriptedAgentClient()).UseLore(host.Runtime).Build();
        await RunEpisodeAsync(host.Runtime, client, "user-1");
        await RunEpisodeAsync(host.Runtime, client, "user-2");
        Assert.Equal(0, host.Runtime.BackgroundLearningPasses);

        var served = host.Runtime.WhenServingChangesAsync();
        await RunEpisodeAsync(host.Runtime, client, "user-3");
        await served.WaitAsync(TimeSpan.FromSeconds(60), Ct);

        Assert.NotNull(host.Runtime.CurrentSnapshot);
        Assert.Contains(host.Runtime.CurrentSnapshot!.Lessons, l => l.Text.StartsWith("Before any refund", StringComparison.Ordinal));
        Assert.Equal(1, extractor.Calls);
    }
}
