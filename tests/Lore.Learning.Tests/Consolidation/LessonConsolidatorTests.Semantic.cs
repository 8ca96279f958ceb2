using Lore.Learning.Consolidation;
using Microsoft.Extensions.AI;

namespace Lore.Learning.Tests.Consolidation;

public sealed partial class LessonConsolidatorTests
{
    [Fact]
    public async Task With_an_embedding_generator_a_paraphrase_of_a_lesson_merges_into_it()
    {
        var window = Window(10);
        var strong = Candidate("a", "Call lookup_order before calling refund_order: refunds without it fail.", window.Take(6).Select(e => e.Id));
        var paraphrase = Candidate("b", "Check the purchase record first; reimbursing blind is rejected.", window.Skip(4).Select(e => e.Id), confidence: 0.7);
        var other = Candidate("c", "Confirm the amount with the customer before paying an invoice.", window.Select(e => e.Id));
        var generator = new ConceptEmbeddingGenerator();

        var lexical = await Consolidator().ConsolidateAsync(Input(window, [strong, paraphrase, other]), Ct);
        var semantic = await Consolidator().ConsolidateAsync(Input(window, [strong, paraphrase, other]) with { Embeddings = generator }, Ct);

        // Word overlap alone keeps the paraphrase as a second lesson about the same thing.
        Assert.Empty(lexical.Merges);
        Assert.Equal(3, lexical.Served.Count);

        var merge = Assert.Single(semantic.Merges);
        Assert.Equal((LessonIds.For(Tenants.Default, "a"), LessonIds.For(Tenants.Default, "b")), (merge.KeptId, merge.MergedId));
        Assert.True(merge.Similarity >= new LearningOptions().SemanticMergeSimilarity);
        Assert.Equal(2, semantic.Served.Count);
        Assert.Equal(10, semantic.Served.Single(l => l.Id == merge.KeptId).Evidence.EpisodeCount);

        // The invoice lesson is about something else and stays apart; each text was embedded once.
        Assert.Contains(semantic.Served, l => l.Id == LessonIds.For(Tenants.Default, "c"));
        Assert.Equal(generator.Embedded.Count, generator.Embedded.Distinct().Count());
    }

    [Fact]
    public void A_semantic_merge_threshold_outside_zero_to_one_is_refused_by_name()
    {
        var error = Assert.Throws<ArgumentOutOfRangeException>(() => new LearningOptions { SemanticMergeSimilarity = 1.5 }.Validate());
        Assert.Equal(nameof(LearningOptions.SemanticMergeSimilarity), error.ParamName);
    }

    /// <summary>A toy semantic model: texts map onto concepts by a synonym table, so paraphrases sharing no word are close.</summary>
    private sealed class ConceptEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
    {
        private static readonly string[][] Concepts =
        [
            ["refund", "reimburs", "money back"],
            ["lookup_order", "purchase record", "look up"],
            ["invoice", "bill"],
            ["fail", "rejected"],
        ];

        public List<string> Embedded { get; } = [];

        public Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
        {
            var result = new GeneratedEmbeddings<Embedding<float>>();
            foreach (var value in values)
            {
                Embedded.Add(value);
                var lower = value.ToLowerInvariant();
                result.Add(new Embedding<float>(Concepts.Select(c => c.Any(w => lower.Contains(w, StringComparison.Ordinal)) ? 1f : 0f).ToArray()));
            }

            return Task.FromResult(result);
        }

        public object? GetService(Type serviceType, object? serviceKey = null) => null;

        public void Dispose()
        {
        }
    }
}
