using Lore.Retrieval;
using System.Numerics.Tensors;

namespace Lore.Tests.Retrieval.Oracle;

/// <summary>
/// Unit-norm dense embeddings from a user-supplied <c>IEmbeddingGenerator</c>, stored row after row in one array so
/// that scoring a query is one SIMD dot product (<see cref="TensorPrimitives"/>) per lesson over contiguous memory.
/// </summary>
internal sealed class DenseVectorIndex
{
    private readonly float[] _matrix;

    private DenseVectorIndex(float[] matrix, int dimensions, int count)
    {
        _matrix = matrix;
        Dimensions = dimensions;
        Count = count;
    }

    public int Dimensions { get; }

    public int Count { get; }

    /// <summary>Builds the index; every vector must have the same length. Zero vectors stay zero (similarity 0).</summary>
    public static DenseVectorIndex Build(IReadOnlyList<ReadOnlyMemory<float>> vectors)
    {
        if (vectors.Count == 0)
        {
            return new DenseVectorIndex([], 0, 0);
        }

        var dims = vectors[0].Length;
        if (dims == 0)
        {
            throw new InvalidOperationException("The embedding generator returned an empty vector for a lesson.");
        }

        var matrix = new float[checked(dims * vectors.Count)];
        for (var i = 0; i < vectors.Count; i++)
        {
            if (vectors[i].Length != dims)
            {
                throw new InvalidOperationException(
                    $"The embedding generator returned vectors of different lengths ({dims} and {vectors[i].Length}); every lesson needs the same dimensions.");
            }

            var row = matrix.AsSpan(i * dims, dims);
            vectors[i].Span.CopyTo(row);
            NormalizeInPlace(row);
        }

        return new DenseVectorIndex(matrix, dims, vectors.Count);
    }

    public ReadOnlySpan<float> Row(int index) => _matrix.AsSpan(index * Dimensions, Dimensions);

    /// <summary>Cosine of a unit-norm query with one lesson.</summary>
    public float Similarity(ReadOnlySpan<float> unitQuery, int index) => TensorPrimitives.Dot(unitQuery, Row(index));

    /// <summary>Scales a vector to unit L2 norm in place (a zero vector is left alone).</summary>
    public static void NormalizeInPlace(Span<float> vector)
    {
        var norm = TensorPrimitives.Norm(vector);
        if (norm > 0 && float.IsFinite(norm))
        {
            TensorPrimitives.Divide(vector, norm, vector);
        }
    }
}
