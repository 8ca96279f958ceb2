using System.Collections.Immutable;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.DependencyInjection;
using Xunit;

namespace Lore.Embeddings.MiniLM.Tests;

public sealed class MiniLmRetrievalTests(MiniLmFixture model)
{
    private static readonly DateTimeOffset Created = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    // Shares no word with any lesson below (text, trigger or description): only meaning can match it.
    private const string ParaphrasedTask = "A shopper would like to be reimbursed for a purchase";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static Lesson Lesson(string id, string text, string description) => new()
    {
        Id = id,
        Kind = LessonKind.Guideline,
        Text = text,
        Trigger = LessonTrigger.OnDescription(description),
        Scope = new LessonScope { Tenant = Tenants.Default, Labels = ImmutableSortedDictionary<string, string>.Empty },
        Evidence = new LessonEvidence { EpisodeCount = 5, DistinctSources = 3, Support = 5 },
        Extractor = new ExtractorInfo("test", "1"),
        Confidence = 0.9,
        CreatedAt = Created,
    };

    private static Lesson[] SupportDesk() =>
    [
        Lesson("les-refund-lookup", "Look up the order with lookup_order before issuing any refund.", "refund an order"),
        Lesson("les-address", "Confirm the new shipping address back to the customer before saving it.", "change the shipping address"),
        Lesson("les-baggage", "Baggage allowance depends on the fare class; read it from the reservation.", "baggage allowance question"),
        Lesson("les-flights", "Search flights for both directions before holding a seat.", "book a round trip flight"),
        Lesson("les-password", "Never read a password back to the user; send a reset link.", "reset a password"),
    ];

    private static Snapshot SnapshotOf(IEnumerable<Lesson> lessons, string? parent = null, string reason = "test")
        => Snapshot.Create(parent, Tenants.Default, lessons, new RetrievalSettings(), "test", reason, Created);

    private static Task<LoreRuntime> OpenAsync(TempDirectory directory, IEmbeddingGenerator<string, Embedding<float>>? generator, params Snapshot[] snapshots)
        => OpenAsync(directory, generator, TimeSpan.Zero, snapshots);

    private static async Task<LoreRuntime> OpenAsync(TempDirectory directory, IEmbeddingGenerator<string, Embedding<float>>? generator, TimeSpan queryEmbeddingWait, params Snapshot[] snapshots)
    {
        var store = SqliteLoreStore.Open(directory.File("lore.db"));
        foreach (var snapshot in snapshots)
        {
            await store.SaveSnapshotAsync(snapshot, Ct);
        }

        await store.SetActiveSnapshotAsync(Tenants.Default, snapshots[^1].Id, Ct);
        return await LoreRuntime.OpenAsync(new LoreOptions { Store = store, EmbeddingGenerator = generator, RefreshInterval = TimeSpan.Zero, QueryEmbeddingWait = queryEmbeddingWait }, Ct);
    }

    [Fact]
    public async Task MiniLM_finds_a_paraphrased_lesson_that_the_hashed_embedding_misses()
    {
        var snapshot = SnapshotOf(SupportDesk());
        var query = new RetrievalQuery { Task = ParaphrasedTask };

        using (var hashedDirectory = new TempDirectory())
        {
            await using var hashed = await OpenAsync(hashedDirectory, null, snapshot);
            var lexical = await hashed.RetrieveAsync(query, Ct);
            Assert.DoesNotContain("les-refund-lookup", lexical.Lessons.Select(l => l.Lesson.Id));
        }

        using var directory = new TempDirectory();
        await using var semantic = await OpenAsync(directory, model.Generator, snapshot);
        var result = await semantic.RetrieveAsync(query, Ct);
        Assert.NotEmpty(result.Lessons);
        Assert.Equal("les-refund-lookup", result.Lessons[0].Lesson.Id);
        Assert.Equal(0, result.Lessons[0].LexicalScore);
        Assert.Contains("lookup_order", result.Section, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Each_lesson_is_embedded_once_and_a_new_snapshot_embeds_only_its_new_lessons()
    {
        var counting = new CountingEmbeddingGenerator(model.Generator);
        var first = SnapshotOf(SupportDesk(), reason: "first");
        var added = Lesson("les-seat", "Seat upgrades are paid with the card on file only.", "upgrade a seat");
        var second = SnapshotOf([.. SupportDesk(), added], parent: first.Id, reason: "second");
        using var directory = new TempDirectory();
        await using var runtime = await OpenAsync(directory, counting, second, first);
        Assert.Equal(5, counting.Texts.Count);

        await runtime.ActivateSnapshotAsync(second.Id, Ct);
        Assert.Equal(6, counting.Texts.Count);
        Assert.Contains("Seat upgrades", counting.Texts[^1], StringComparison.Ordinal);

        // Back and forth: both indexes are cached, nothing is embedded again.
        await runtime.ActivateSnapshotAsync(first.Id, Ct);
        await runtime.ActivateSnapshotAsync(second.Id, Ct);
        Assert.Equal(6, counting.Texts.Count);
    }

    [Fact]
    public async Task An_episode_embeds_its_query_once_however_many_calls_it_makes()
    {
        var counting = new CountingEmbeddingGenerator(model.Generator);
        using var directory = new TempDirectory();

        // A wait long enough for the model, so even the first call is served by meaning (by default it would be lexical).
        await using var runtime = await OpenAsync(directory, counting, TimeSpan.FromSeconds(30), SnapshotOf(SupportDesk()));
        var lessons = counting.Texts.Count;
        var inner = new RecordingChatClient();
        using var client = new ChatClientBuilder(inner).UseLore(runtime).Build();

        await using (var episode = runtime.BeginEpisode(ParaphrasedTask))
        {
            for (var call = 0; call < 3; call++)
            {
                await client.GetResponseAsync([new ChatMessage(ChatRole.User, ParaphrasedTask)], cancellationToken: Ct);
            }

            await episode.CompleteAsync(Outcome.Success(), Ct);
        }

        // The same task in a later episode reuses the cached query vector too.
        await using (var again = runtime.BeginEpisode(ParaphrasedTask))
        {
            await client.GetResponseAsync([new ChatMessage(ChatRole.User, ParaphrasedTask)], cancellationToken: Ct);
            await again.CompleteAsync(Outcome.Success(), Ct);
        }

        Assert.Equal(lessons + 1, counting.Texts.Count);
        Assert.Equal(4, inner.Requests.Count);
        Assert.All(inner.Requests, messages => Assert.Contains(messages, m => m.Role == ChatRole.System && m.Text.Contains("lookup_order", StringComparison.Ordinal)));
    }

    [Fact]
    public async Task AddLore_with_UseMiniLmEmbeddings_serves_lessons_by_meaning()
    {
        using var directory = new TempDirectory();
        var store = SqliteLoreStore.Open(directory.File("lore.db"));
        var snapshot = SnapshotOf(SupportDesk());
        await store.SaveSnapshotAsync(snapshot, Ct);
        await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id, Ct);
        var services = new ServiceCollection()
            .AddLore(o => o.Store = store)
            .UseMiniLmEmbeddings(o => o.MaxBatchSize = 8);
        await using var provider = services.BuildServiceProvider();

        Assert.IsType<MiniLmEmbeddingGenerator>(provider.GetRequiredService<IEmbeddingGenerator<string, Embedding<float>>>());
        var runtime = await provider.StartLoreAsync(Ct);
        var result = await runtime.RetrieveAsync(new RetrievalQuery { Task = ParaphrasedTask }, Ct);
        Assert.Equal("les-refund-lookup", Assert.Single(result.Lessons, l => l.Lesson.Id == "les-refund-lookup").Lesson.Id);
    }

    [Fact]
    public void UseMiniLmEmbeddings_rejects_invalid_options_when_called()
        => Assert.Throws<ArgumentException>(() => new ServiceCollection().UseMiniLmEmbeddings(o => o.MaxBatchSize = 0));

    /// <summary>An inner client that answers at once and keeps the messages it was sent (with Lore's section).</summary>
    private sealed class RecordingChatClient : IChatClient
    {
        public List<IReadOnlyList<ChatMessage>> Requests { get; } = [];

        public Task<ChatResponse> GetResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
        {
            Requests.Add([.. messages]);
            return Task.FromResult(new ChatResponse(new ChatMessage(ChatRole.Assistant, "done")));
        }

        public IAsyncEnumerable<ChatResponseUpdate> GetStreamingResponseAsync(IEnumerable<ChatMessage> messages, ChatOptions? options = null, CancellationToken cancellationToken = default)
            => throw new NotSupportedException();

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
