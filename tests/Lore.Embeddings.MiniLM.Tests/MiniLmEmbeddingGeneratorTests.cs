using System.Numerics.Tensors;
using Microsoft.Extensions.AI;
using Xunit;

namespace Lore.Embeddings.MiniLM.Tests;

public sealed class MiniLmEmbeddingGeneratorTests(MiniLmFixture model)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static float Cosine(Embedding<float> a, Embedding<float> b) => TensorPrimitives.CosineSimilarity(a.Vector.Span, b.Vector.Span);

    [Fact]
    public async Task Every_text_gets_a_384_dimension_unit_vector_in_the_order_given()
    {
        string[] texts = ["refund the order", "", "Baggage allowance depends on the fare class; read it from the reservation before answering.", "ok", "日本語のテキスト 🚀"];

        var batch = await model.Generator.GenerateAsync(texts, cancellationToken: Ct);

        Assert.Equal(texts.Length, batch.Count);
        for (var i = 0; i < texts.Length; i++)
        {
            Assert.Equal(MiniLmEmbeddingGenerator.Dimensions, batch[i].Vector.Length);
            Assert.Equal(1.0, TensorPrimitives.Norm(batch[i].Vector.Span), tolerance: 1e-4);
            Assert.Equal(MiniLmEmbeddingGenerator.ModelId, batch[i].ModelId);

            // Batched by length internally, yet each vector is the one its own text gets alone.
            var alone = await model.Generator.GenerateAsync([texts[i]], cancellationToken: Ct);
            Assert.True(Cosine(alone[0], batch[i]) > 0.9999f, $"text {i} ('{texts[i]}') got another text's vector");
        }
    }

    [Fact]
    public async Task A_paraphrase_is_closer_than_unrelated_text()
    {
        var vectors = await model.Generator.GenerateAsync(
            ["look up the order first", "call lookup_order before refund_order", "the weather in Paris is sunny today"],
            cancellationToken: Ct);

        var paraphrase = Cosine(vectors[0], vectors[1]);
        var unrelated = Cosine(vectors[0], vectors[2]);
        Assert.True(paraphrase > unrelated + 0.2f, $"paraphrase {paraphrase:F3}, unrelated {unrelated:F3}");
    }

    [Fact]
    public async Task Concurrent_callers_get_the_same_vectors_as_one_caller()
    {
        var texts = Enumerable.Range(0, 24).Select(i => $"Task {i}: rebook passenger {i} onto the next flight to gate {i % 7}").ToArray();
        var sequential = await model.Generator.GenerateAsync(texts, cancellationToken: Ct);

        var concurrent = await Task.WhenAll(Enumerable.Range(0, 8).Select(worker => Task.Run(
            async () => await model.Generator.GenerateAsync(texts.Skip(worker * 3).Take(3), cancellationToken: Ct), Ct)));

        for (var worker = 0; worker < 8; worker++)
        {
            for (var j = 0; j < 3; j++)
            {
                Assert.True(Cosine(sequential[(worker * 3) + j], concurrent[worker][j]) > 0.9999f);
            }
        }
    }

    [Fact]
    public async Task Text_beyond_the_input_limit_is_cut_off_not_rejected()
    {
        using var generator = new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { MaxInputCharacters = 20 });
        var cut = await generator.GenerateAsync(["refund the order now, and then also rebook the flight"], cancellationToken: Ct);
        var prefix = await generator.GenerateAsync(["refund the order now"], cancellationToken: Ct);
        Assert.True(Cosine(cut[0], prefix[0]) > 0.9999f);
    }

    [Fact]
    public void Invalid_options_are_all_named_at_once()
    {
        var error = Assert.Throws<ArgumentException>(() => new MiniLmEmbeddingGenerator(new MiniLmEmbeddingOptions { MaxBatchSize = 0, MaxInputCharacters = -1, IntraOpThreads = -2 }));
        Assert.Contains("MaxBatchSize", error.Message, StringComparison.Ordinal);
        Assert.Contains("MaxInputCharacters", error.Message, StringComparison.Ordinal);
        Assert.Contains("IntraOpThreads", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Asking_for_other_dimensions_or_a_null_text_is_refused_with_the_reason()
    {
        var dims = await Assert.ThrowsAsync<ArgumentException>(() => model.Generator.GenerateAsync(["x"], new EmbeddingGenerationOptions { Dimensions = 768 }, Ct));
        Assert.Contains("384", dims.Message, StringComparison.Ordinal);
        var nullText = await Assert.ThrowsAsync<ArgumentException>(() => model.Generator.GenerateAsync(["x", null!], cancellationToken: Ct));
        Assert.Contains("Text 1", nullText.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_disposed_generator_refuses_work()
    {
        var generator = new MiniLmEmbeddingGenerator();
        generator.Dispose();
        generator.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => generator.GenerateAsync(["x"], cancellationToken: Ct));
    }

    [Fact]
    public void Metadata_names_the_model_and_its_dimensions()
    {
        var metadata = model.Generator.GetService<EmbeddingGeneratorMetadata>();
        Assert.NotNull(metadata);
        Assert.Equal(MiniLmEmbeddingGenerator.ModelId, metadata.DefaultModelId);
        Assert.Equal(384, metadata.DefaultModelDimensions);
    }
}
