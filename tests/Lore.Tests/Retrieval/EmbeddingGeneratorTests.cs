using Lore.Tests.Fakes;
using Microsoft.Extensions.AI;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

public sealed class EmbeddingGeneratorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// A toy semantic model: each text maps onto three concepts by a synonym table, so "reimburse the purchase" and
    /// "refund an order" are close although they share no word. It counts what it was asked to embed.
    /// </summary>
    private sealed class ConceptEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        private static readonly string[][] Concepts =
        [
            ["refund", "reimburse", "money", "chargeback"],
            ["flight", "seat", "baggage", "plane"],
            ["address", "shipping", "deliver", "move"],
        ];

        public List<string> Embedded { get; } = [];

        public int Calls { get; private set; }

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            Calls++;
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var value in values)
            {
                Embedded.Add(value);
                var lower = value.ToLowerInvariant();
                result.Add(new Embedding<float>(Concepts.Select(c => (float)c.Count(w => lower.Contains(w, StringComparison.Ordinal))).ToArray()));
            }

            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }

    [Fact]
    public async Task A_supplied_generator_embeds_each_lesson_once_per_snapshot_and_each_query_per_call()
    {
        var generator = new ConceptEmbeddingGenerator();
        var lessons = new[]
        {
            Lesson("les-money", "Reimburse to the original card only.", LessonTrigger.OnDescription("give the money back")),
            Lesson("les-plane", "Seat changes need the fare rules.", LessonTrigger.OnDescription("plane seat change")),
        };
        await using var host = await RuntimeHost.OpenAsync([Snapshot(lessons, new RetrievalSettings { LexicalWeight = 0.3 })], o => o.EmbeddingGenerator = generator);
        Assert.Equal(2, generator.Embedded.Count);

        // No word in common with "les-money": only the vector half can find it.
        var result = await host.Runtime.RetrieveAsync(new RetrievalQuery { Task = "process a chargeback", Turn = "the customer wants a refund" }, Ct);
        Assert.Equal(["les-money"], result.Lessons.Select(l => l.Lesson.Id));
        Assert.Equal(0, result.Lessons[0].LexicalScore);
        Assert.Equal(1.0, result.Lessons[0].VectorScore, tolerance: 1e-6);

        await host.Runtime.RetrieveAsync(new RetrievalQuery { Task = "book a plane seat" }, Ct);
        Assert.Equal(4, generator.Embedded.Count);
        Assert.Equal("process a chargeback\nthe customer wants a refund", generator.Embedded[2]);
    }

    [Fact]
    public async Task Serving_the_same_snapshot_again_reuses_its_index()
    {
        var generator = new ConceptEmbeddingGenerator();
        var first = Snapshot([Lesson("les-money", "Reimburse to the original card only.")], reason: "first");
        var second = Snapshot([Lesson("les-plane", "Seat changes need the fare rules.")], parent: first.Id, reason: "second");
        await using var host = await RuntimeHost.OpenAsync([second, first], o => o.EmbeddingGenerator = generator);

        await host.Runtime.ActivateSnapshotAsync(second.Id, Ct);
        await host.Runtime.ActivateSnapshotAsync(first.Id, Ct);
        await host.Runtime.ActivateSnapshotAsync(second.Id, Ct);

        Assert.Equal(2, generator.Calls);
    }
}
