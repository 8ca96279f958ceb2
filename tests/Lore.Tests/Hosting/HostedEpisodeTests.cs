using Lore.Hosting;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Hosting;

/// <summary>
/// The public hosting surface a host outside <c>UseLore()</c> captures with (the proxy's): a hosted episode is never
/// ambient, records each call it is given, and ends on its outcome only after the call in flight is recorded.
/// </summary>
public sealed class HostedEpisodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_hosted_episode_is_never_ambient_records_its_calls_and_ends_on_its_outcome_after_the_call_in_flight()
    {
        using var directory = new TempDirectory();
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")), Tenant = "acme" }, Ct);

        var episode = runtime.BeginHostedEpisode(new HostedEpisodeStart("refund order 1142") { EpisodeId = "ep-hosted", UnitKey = "user-7", Source = "key:k1" });
        Assert.Null(LoreRuntime.CurrentEpisode);
        Assert.True(runtime.IsRunning("ep-hosted"));
        Assert.Contains("ep-hosted", runtime.RunningEpisodeIds);

        var call = episode.BeginCall("gpt-4o");
        Assert.Null(await call.RetrieveLessonsAsync("please refund order 1142", ["lookup_order"], Ct)); // nothing learned yet
        var outcome = runtime.RecordOutcomeAsync("ep-hosted", Outcome.Success(), Ct);
        Assert.False(outcome.IsCompleted); // the caller may have the answer; the call is not recorded yet

        var recorded = await call.EndAsync(new ModelCallObservation([new ChatMessage(ChatRole.User, "please refund order 1142")], [new ChatMessage(ChatRole.Assistant, "Refunded.")])
        {
            Model = "gpt-4o",
            OfferedTools = ["lookup_order"],
        });
        await outcome;
        await runtime.FlushAsync(Ct);

        Assert.True(recorded >= 1, $"the call was recorded ({recorded} steps)");
        Assert.True(episode.IsEnded);
        Assert.False(runtime.IsRunning("ep-hosted"));
        await Assert.ThrowsAsync<InvalidOperationException>(async () => await call.EndAsync(new ModelCallObservation([], [])));
        var stored = await runtime.Store.GetEpisodeAsync("acme", "ep-hosted", Ct);
        Assert.NotNull(stored);
        Assert.Equal("key:k1", stored.Source);
        Assert.Equal("user-7", stored.UnitKey);
        Assert.True(stored.Succeeded);
        var modelCall = Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
        Assert.Equal(["lookup_order"], modelCall.OfferedTools);
    }

    [Fact]
    public async Task A_call_ended_with_an_error_is_recorded_as_failed_not_as_an_empty_answer()
    {
        using var directory = new TempDirectory();
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")) }, Ct);
        var episode = runtime.BeginHostedEpisode(new HostedEpisodeStart("refund order 1142") { EpisodeId = "ep-failed" });

        await episode.BeginCall("gpt-4o").EndAsync(new ModelCallObservation([new ChatMessage(ChatRole.User, "refund 1142")], []) { Error = "upstream timed out", ErrorType = "504" });
        await episode.EndAsync();
        await runtime.FlushAsync(Ct);

        var stored = await runtime.Store.GetEpisodeAsync("ep-failed", Ct);
        Assert.NotNull(stored);
        Assert.NotNull(stored.EndedAt);
        Assert.Equal("upstream timed out", Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall).Error);
    }

    [Fact]
    public void A_transcript_records_a_resent_conversation_once()
    {
        var transcript = new ChatTranscript();
        var first = new ModelCallObservation([new ChatMessage(ChatRole.User, "refund order 1142")], [new ChatMessage(ChatRole.Assistant, "Which order?")]);
        var second = new ModelCallObservation([.. first.Request, .. first.Response, new ChatMessage(ChatRole.User, "1142")], [new ChatMessage(ChatRole.Assistant, "Refunded.")]);

        var steps = transcript.Record(first, DateTimeOffset.UnixEpoch, TimeSpan.FromMilliseconds(5))
            .Concat(transcript.Record(second, DateTimeOffset.UnixEpoch.AddSeconds(1), TimeSpan.FromMilliseconds(5)))
            .ToList();

        Assert.Equal(2, steps.Count(s => s.Kind == StepKind.ModelCall));
        Assert.Equal(Enumerable.Range(0, steps.Count), steps.Select(s => s.Index));
    }
}
