using Lore.Tests.Fakes;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

public sealed class EmbeddingGeneratorTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

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
