using Microsoft.Extensions.AI;

namespace Lore.Tests.Fakes;

/// <summary>
/// A toy semantic model: each text maps onto three concepts by a synonym table, so "reimburse the purchase" and
/// "refund an order" are close although they share no word. It counts what it was asked to embed, and can be made to
/// wait for a test (<see cref="Hold"/>) or to fail (<see cref="Failing"/>) once the lessons are embedded.
/// </summary>
internal sealed class ConceptEmbeddingGenerator : IEmbeddingGenerator<string, Embedding<float>>
{
    private static readonly string[][] Concepts =
    [
        ["refund", "reimburse", "money", "chargeback"],
        ["flight", "seat", "baggage", "plane"],
        ["address", "shipping", "deliver", "move"],
    ];

    private readonly Lock _lock = new();
    private readonly List<string> _embedded = [];
    private readonly List<int> _batchSizes = [];
    private TaskCompletionSource? _hold;

    /// <summary>Every text embedded so far, in order.</summary>
    public List<string> Embedded
    {
        get
        {
            lock (_lock)
            {
                return [.. _embedded];
            }
        }
    }

    /// <summary>How many texts each call asked for, in order (calls that failed or were held and cancelled included).</summary>
    public List<int> BatchSizes
    {
        get
        {
            lock (_lock)
            {
                return [.. _batchSizes];
            }
        }
    }

    public int Calls
    {
        get
        {
            lock (_lock)
            {
                return _batchSizes.Count;
            }
        }
    }

    /// <summary>When true, every call throws (as a model whose runtime broke would).</summary>
    public bool Failing { get; set; }

    /// <summary>Makes every call wait until <see cref="Release"/> (or its cancellation).</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    /// <summary>Lets held calls (and later ones) go on.</summary>
    public void Release()
    {
        TaskCompletionSource? hold;
        lock (_lock)
        {
            hold = _hold;
            _hold = null;
        }

        hold?.TrySetResult();
    }

    public async Task<GeneratedEmbeddings<Embedding<float>>> GenerateAsync(IEnumerable<string> values, EmbeddingGenerationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var texts = values.ToList();
        Task? hold;
        lock (_lock)
        {
            _batchSizes.Add(texts.Count);
            hold = _hold?.Task;
        }

        if (hold is not null)
        {
            await hold.WaitAsync(cancellationToken);
        }

        if (Failing)
        {
            throw new InvalidOperationException("The model's runtime failed.");
        }

        var result = new GeneratedEmbeddings<Embedding<float>>();
        foreach (var value in texts)
        {
            var lower = value.ToLowerInvariant();
            result.Add(new Embedding<float>(Concepts.Select(c => (float)c.Count(w => lower.Contains(w, StringComparison.Ordinal))).ToArray()));
        }

        lock (_lock)
        {
            _embedded.AddRange(texts);
        }

        return result;
    }

    public object? GetService(Type serviceType, object? serviceKey = null) => null;

    public void Dispose()
    {
    }
}
