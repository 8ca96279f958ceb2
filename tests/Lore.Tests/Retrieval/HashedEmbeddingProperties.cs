using CsCheck;
using Lore.Retrieval;
using Lore.Testing;
using Xunit;
using static Lore.Tests.Fakes.TestLessons;

namespace Lore.Tests.Retrieval;

public sealed class HashedEmbeddingProperties
{
    private static readonly string[] Vocabulary =
    [
        "refund", "refunds", "refunded", "order", "orders", "lookup", "the", "a", "before", "customer", "customers",
        "address", "payment", "invoice", "flight", "seat", "policies", "policy", "verify", "identity", "total", "amount",
        "Ünïcödé", "42", "1142", "status", "boxes",
    ];

    private static readonly Gen<string> Sentence = Gen.Int[0, Vocabulary.Length - 1].Array[1, 25]
        .Select(ws => string.Join(' ', ws.Select(w => Vocabulary[w])));

    private static readonly Gen<string> AnyText = Gen.OneOf(Sentence, Gen.String[0, 200]);

    [Fact]
    public void The_embedding_is_deterministic_unit_norm_and_a_text_is_fully_similar_to_itself()
    {
        SeededCheck.ForAll(AnyText, text =>
        {
            var first = HashedEmbedding.Embed(text);
            var second = HashedEmbedding.Embed(new string(text.AsSpan()));
            Assert.Equal(first.Indices, second.Indices);
            Assert.Equal(first.Values, second.Values);
            Assert.All(first.Indices, i => Assert.InRange(i, 0, HashedEmbedding.Dimensions - 1));
            Assert.True(first.Indices.Zip(first.Indices.Skip(1)).All(p => p.First < p.Second), "indices are sorted and distinct");

            if (first.Count == 0)
            {
                // Only text without any content word (empty, punctuation, stop words) embeds to nothing.
                Assert.All(TextTokenizer.Tokens(text, includeStopWords: true), t => Assert.True(TextTokenizer.IsStopWord(t), t));
                return;
            }

            Assert.Equal(1.0, first.Norm(), 5);
            Assert.Equal(1.0, first.Dot(second), 5);
        }, iterations: 300);
    }

    [Fact]
    public void Similarity_is_symmetric_and_lies_in_the_unit_interval()
    {
        SeededCheck.ForAll(Gen.Select(AnyText, AnyText), pair =>
        {
            var a = HashedEmbedding.Embed(pair.Item1);
            var b = HashedEmbedding.Embed(pair.Item2);
            Assert.Equal(a.Dot(b), b.Dot(a), 6);
            Assert.InRange(a.Dot(b), 0.0, 1.0 + 1e-6);
        });
    }

    [Fact]
    public void Inflected_forms_are_closer_than_unrelated_words()
    {
        var refund = HashedEmbedding.Embed("refunding the order");
        Assert.True(refund.Dot(HashedEmbedding.Embed("refunded orders")) > refund.Dot(HashedEmbedding.Embed("baggage allowance")));
        Assert.True(refund.Dot(HashedEmbedding.Embed("refunded orders")) > 0.4);
    }

    /// <summary>
    /// The index scores frequent words as whole words and the rest through n-gram postings; whatever the split, the
    /// vector score it reports is the plain cosine of the two embeddings.
    /// </summary>
    [Fact]
    public void The_index_computes_exactly_the_cosine_of_the_embeddings()
    {
        SeededCheck.ForAll(Gen.Select(Sentence.Array[1, 60], Sentence), sample =>
        {
            var (docs, query) = sample;
            var lessons = docs.Select((d, i) => Lesson($"les-{i:D2}", d, LessonTrigger.OnDescription(""))).ToArray();
            var settings = new RetrievalSettings { LexicalWeight = 0, MinScore = 0, TopK = 100, TokenBudget = 100_000 };
            var result = LessonIndex.Build(Snapshot(lessons, settings)).Retrieve(new RetrievalQuery { Task = query });
            var q = HashedEmbedding.Embed(query);

            Assert.Equal(docs.Length, result.Lessons.Count);
            foreach (var retrieved in result.Lessons)
            {
                var expected = q.Dot(HashedEmbedding.Embed(LessonIndex.DocumentText(retrieved.Lesson)));
                Assert.Equal(expected, retrieved.VectorScore, tolerance: 1e-5);
            }
        }, iterations: 80);
    }
}
