using Lore.Retrieval;
using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging.Abstractions;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

/// <summary>
/// The query embedding stays off the model call: a call whose vector is not ready is served by the lexical side of
/// the hybrid, the vector is computed in the background, and later calls use the full hybrid.
/// </summary>
public sealed class QueryEmbeddingOffCallPathTests
{
    // Shares words with les-chargeback only; les-money is its paraphrase by meaning ("chargeback" ~ "reimburse").
    private const string ChargebackTask = "handle a chargeback for order 1142";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Snapshot Desk() => Snapshot(
        [
            Lesson("les-chargeback", "Answer a chargeback within the bank's deadline.", LessonTrigger.OnDescription("handle a chargeback")),
            Lesson("les-money", "Reimburse to the original card only.", LessonTrigger.OnDescription("give the money back")),
        ],
        new RetrievalSettings { LexicalWeight = 0.3 });

    [Fact]
    public async Task A_call_made_before_the_query_embedding_is_ready_is_served_lexically_and_later_calls_use_the_hybrid()
    {
        var generator = new ConceptEmbeddingGenerator();
        var snapshot = Desk();
        await using var host = await RuntimeHost.OpenAsync([snapshot], o => o.EmbeddingGenerator = generator);
        var lessonCalls = generator.Calls;
        var agent = new ScriptedAgentClient();
        using var client = new ChatClientBuilder(agent).UseLore(host.Runtime).Build();
        generator.Hold();

        string episodeId;
        await using (var episode = host.Runtime.BeginEpisode(ChargebackTask))
        {
            episodeId = episode.Id;
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ChargebackTask)], cancellationToken: Ct);

            generator.Release();
            await WaitUntilAsync(() => host.Runtime.HasQueryVector(ChargebackTask));
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ChargebackTask)], cancellationToken: Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.Equal(["les-chargeback"], InjectedIds(agent.Requests[0]));
        Assert.Equal(["les-chargeback", "les-money"], InjectedIds(agent.Requests[1]));

        // The episode's start and its first call asked for the same text: the model embedded it once.
        Assert.Equal([1], generator.BatchSizes.Skip(lessonCalls));

        await host.Runtime.FlushAsync(Ct);
        var stored = await host.Store.GetEpisodeAsync(Tenants.Default, episodeId, Ct);
        var calls = stored!.Steps.Where(s => s.Kind == StepKind.ModelCall).ToList();
        Assert.Equal([true, false], calls.Select(s => s.LexicalOnly));

        // Replay follows the recorded path of each call, so it reproduces both.
        var replay = await host.Runtime.ReplayAsync(episodeId, snapshot.Id, Ct);
        Assert.Equal(0, replay.ChangedCalls);
        Assert.Equal([true, false], replay.Calls.Select(c => c.LexicalOnly));
    }

    [Fact]
    public async Task A_failing_generator_never_fails_the_call_and_it_is_served_lexically()
    {
        var generator = new ConceptEmbeddingGenerator();
        await using var host = await RuntimeHost.OpenAsync([Desk()], o => o.EmbeddingGenerator = generator);
        var lessonCalls = generator.Calls;
        generator.Failing = true;
        var agent = new ScriptedAgentClient();
        using var client = new ChatClientBuilder(agent).UseLore(host.Runtime).Build();

        await using (var episode = host.Runtime.BeginEpisode(ChargebackTask))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ChargebackTask)], cancellationToken: Ct);
            await WaitUntilAsync(() => generator.Calls > lessonCalls);
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, "and the customer is waiting")], cancellationToken: Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.All(agent.Requests, request => Assert.Equal(["les-chargeback"], InjectedIds(request)));
        Assert.False(host.Runtime.HasQueryVector(ChargebackTask));
    }

    [Fact]
    public async Task A_generator_that_never_answers_costs_a_call_no_more_than_its_wait()
    {
        var generator = new ConceptEmbeddingGenerator();
        await using var host = await RuntimeHost.OpenAsync([Desk()], o =>
        {
            o.EmbeddingGenerator = generator;
            o.QueryEmbeddingWait = TimeSpan.FromMilliseconds(50);
        });
        generator.Hold();
        var agent = new ScriptedAgentClient();
        using var client = new ChatClientBuilder(agent).UseLore(host.Runtime).Build();

        await using (var episode = host.Runtime.BeginEpisode(ChargebackTask))
        {
            // Cancelled by the test's deadline, not by Lore, if the call waited on the held generator.
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ChargebackTask)], cancellationToken: Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.Equal(["les-chargeback"], InjectedIds(Assert.Single(agent.Requests)));

        // Disposing the runtime (at the end of this test) cancels the held batch instead of waiting for it.
    }

    [Fact]
    public async Task A_wait_budget_long_enough_for_the_generator_serves_the_first_call_by_meaning()
    {
        var generator = new ConceptEmbeddingGenerator();
        await using var host = await RuntimeHost.OpenAsync([Desk()], o =>
        {
            o.EmbeddingGenerator = generator;
            o.QueryEmbeddingWait = TimeSpan.FromSeconds(30);
        });
        var agent = new ScriptedAgentClient();
        using var client = new ChatClientBuilder(agent).UseLore(host.Runtime).Build();

        await using (var episode = host.Runtime.BeginEpisode(ChargebackTask))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ChargebackTask)], cancellationToken: Ct);
            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.Contains("les-money", InjectedIds(Assert.Single(agent.Requests)));
    }

    [Fact]
    public async Task Texts_asked_for_while_the_generator_is_busy_are_embedded_together_once_each()
    {
        var generator = new ConceptEmbeddingGenerator();
        var cache = new QueryEmbeddingCache(generator, capacity: 100, NullLogger.Instance);
        await using (cache)
        {
            generator.Hold();
            var first = cache.Prefetch("refund the order")!;
            await WaitUntilAsync(() => generator.Calls == 1);

            var waiting = new[] { cache.Prefetch("move the address")!, cache.Prefetch("a plane seat")!, cache.Prefetch("reimburse the money")! };
            Assert.Same(waiting[1], cache.Prefetch("a plane seat"));
            generator.Release();

            Assert.All(await Task.WhenAll([first, .. waiting]), Assert.True);
            Assert.Equal([1, 3], generator.BatchSizes);
            Assert.Equal(4, cache.Embedded);
            Assert.True(cache.TryGet("a plane seat", out var vector));
            Assert.Equal([0f, 2f, 0f], vector.ToArray());
            Assert.Null(cache.Prefetch("a plane seat"));
        }
    }

    [Fact]
    public void A_negative_or_huge_wait_is_refused_when_the_runtime_opens()
    {
        Assert.Contains(new LoreOptions { QueryEmbeddingWait = TimeSpan.FromMilliseconds(-1) }.Errors(), e => e.StartsWith("LoreOptions.QueryEmbeddingWait", StringComparison.Ordinal));
        Assert.Contains(new LoreOptions { QueryEmbeddingWait = TimeSpan.FromMinutes(5) }.Errors(), e => e.StartsWith("LoreOptions.QueryEmbeddingWait", StringComparison.Ordinal));
        Assert.DoesNotContain(new LoreOptions { QueryEmbeddingWait = TimeSpan.FromMilliseconds(5) }.Errors(), e => e.StartsWith("LoreOptions.QueryEmbeddingWait", StringComparison.Ordinal));
    }

    /// <summary>The ids of the lessons in the system message Lore injected into a request (empty when none).</summary>
    private static string[] InjectedIds(IReadOnlyList<ChatMessage> request)
    {
        var section = request.FirstOrDefault(m => m.Role == ChatRole.System)?.Text ?? "";
        return [.. new[] { "les-chargeback", "les-money" }.Where(id => section.Contains(Desk().Lessons.Single(l => l.Id == id).Text, StringComparison.Ordinal))];
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(30);
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "The condition did not hold within 30 seconds.");
            await Task.Delay(10, Ct);
        }
    }
}
