using Microsoft.Extensions.AI;

namespace Lore.Retrieval;

/// <summary>
/// The most recent query embeddings by text. A call embeds its query once (the served and the shadow snapshot share
/// it), a later call of the same episode with the same task and turn reuses it, and so do other episodes of the same
/// task: the model runs on the call path only for text it has not seen lately.
/// </summary>
internal sealed class QueryEmbeddingCache
{
    private readonly IEmbeddingGenerator<string, Embedding<float>> _generator;
    private readonly int _capacity;
    private readonly Lock _lock = new();
    private readonly Dictionary<string, LinkedListNode<(string Text, ReadOnlyMemory<float> Vector)>> _entries = new(StringComparer.Ordinal);
    private readonly LinkedList<(string Text, ReadOnlyMemory<float> Vector)> _recent = new();
    private long _embedded;

    public QueryEmbeddingCache(IEmbeddingGenerator<string, Embedding<float>> generator, int capacity)
    {
        ArgumentNullException.ThrowIfNull(generator);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 1);
        _generator = generator;
        _capacity = capacity;
    }

    /// <summary>Query texts embedded by the generator so far.</summary>
    public long Embedded => Interlocked.Read(ref _embedded);

    public ValueTask<ReadOnlyMemory<float>> GetAsync(string text, CancellationToken cancellationToken)
    {
        lock (_lock)
        {
            if (_entries.TryGetValue(text, out var node))
            {
                _recent.Remove(node);
                _recent.AddFirst(node);
                return ValueTask.FromResult(node.Value.Vector);
            }
        }

        return EmbedAsync(text, cancellationToken);
    }

    private async ValueTask<ReadOnlyMemory<float>> EmbedAsync(string text, CancellationToken cancellationToken)
    {
        var vector = await _generator.GenerateVectorAsync(text, cancellationToken: cancellationToken).ConfigureAwait(false);
        Interlocked.Increment(ref _embedded);
        lock (_lock)
        {
            if (!_entries.ContainsKey(text))
            {
                _entries[text] = _recent.AddFirst((text, vector));
                if (_recent.Count > _capacity)
                {
                    _entries.Remove(_recent.Last!.Value.Text);
                    _recent.RemoveLast();
                }
            }
        }

        return vector;
    }
}
