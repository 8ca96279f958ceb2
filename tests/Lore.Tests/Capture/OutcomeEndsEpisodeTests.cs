using Lore.Capture;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Tests.Capture;

/// <summary>
/// An episode that ends on its outcome (the proxy's) must not lose the call whose answer the caller already has: the
/// outcome arrives by another request and can overtake the host still recording that call.
/// </summary>
public sealed class OutcomeEndsEpisodeTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task An_outcome_that_ends_the_episode_waits_for_the_call_still_being_recorded()
    {
        using var directory = new TempDirectory();
        await using var runtime = await LoreRuntime.OpenAsync(new LoreOptions { Store = SqliteLoreStore.Open(directory.File("lore.db")) }, Ct);
        var scope = runtime.BeginEpisode("refund order 1142", episodeId: "ep-proxy");
        scope.EndsOnOutcome = true;

        scope.CallStarted();
        var outcome = runtime.RecordOutcomeAsync("ep-proxy", Outcome.Success(source: OutcomeSource.Environment), Ct);
        Assert.False(outcome.IsCompleted); // the answer is with the caller, the call is not recorded yet

        var facts = new ModelCallFacts(DateTimeOffset.UtcNow, TimeSpan.FromMilliseconds(5), "gpt-4o", null, [], []);
        await scope.RecordCallAsync([new ChatMessage(ChatRole.User, "Please refund order 1142")], [new ChatMessage(ChatRole.Assistant, "Refunded.")], facts);
        scope.CallFinished();
        await outcome;
        await runtime.FlushAsync(Ct);

        var stored = await runtime.Store.GetEpisodeAsync("ep-proxy", Ct);
        Assert.NotNull(stored);
        Assert.NotNull(stored.EndedAt);
        Assert.Single(stored.Outcomes);
        Assert.Single(stored.Steps, s => s.Kind == StepKind.ModelCall);
    }
}
