using Lore.Retrieval;
using Microsoft.Extensions.AI;

namespace Lore.Snapshots;

/// <summary>
/// Builds the retrieval index of a snapshot once and keeps the few most recent ones, so serving a snapshot again
/// (a rollback, a refresh that finds the same pointer) is a pointer swap, not a rebuild. Snapshots are immutable
/// and content-addressed, so an index keyed by snapshot id never goes stale.
/// </summary>
internal sealed class SnapshotIndexCache
{
    private const int Capacity = 4;

    private readonly LessonEmbeddingCache? _embeddings;
    private readonly Lock _lock = new();
    private readonly LinkedList<(string Id, Task<LessonIndex> Index)> _recent = new();

    /// <param name="generator">
    /// The user's embedding model, or null for the built-in hashed embedding. Lesson vectors are kept by content
    /// across the cached snapshots, so a new snapshot embeds only its new or changed lessons.
    /// </param>
    public SnapshotIndexCache(IEmbeddingGenerator<string, Embedding<float>>? generator)
        => _embeddings = generator is null ? null : new LessonEmbeddingCache(generator, keepBuilds: Capacity);

    /// <summary>The lesson embeddings shared by the cached indexes (null with the built-in embedding).</summary>
    internal LessonEmbeddingCache? Embeddings => _embeddings;

    /// <summary>
    /// The cached index of a snapshot id, if it is still cached (and did not fail), so serving it again needs no read
    /// of the snapshot from the store.
    /// </summary>
    public Task<LessonIndex>? Find(string snapshotId)
    {
        lock (_lock)
        {
            for (var node = _recent.First; node is not null; node = node.Next)
            {
                if (node.Value.Id == snapshotId && !node.Value.Index.IsFaulted && !node.Value.Index.IsCanceled)
                {
                    _recent.Remove(node);
                    _recent.AddFirst(node);
                    return node.Value.Index;
                }
            }
        }

        return null;
    }

    /// <summary>The index of a snapshot (the empty index for none), built at most once while it stays cached.</summary>
    public Task<LessonIndex> GetAsync(Snapshot? snapshot, CancellationToken cancellationToken = default)
    {
        if (snapshot is null)
        {
            return Task.FromResult(LessonIndex.Empty);
        }

        lock (_lock)
        {
            for (var node = _recent.First; node is not null; node = node.Next)
            {
                if (node.Value.Id == snapshot.Id && !node.Value.Index.IsFaulted && !node.Value.Index.IsCanceled)
                {
                    _recent.Remove(node);
                    _recent.AddFirst(node);
                    return node.Value.Index;
                }
            }

            // Built off the caller's thread: indexing tens of thousands of lessons takes a while and is pure CPU.
            var build = Task.Run(() => LessonIndex.BuildAsync(snapshot, _embeddings, cancellationToken), cancellationToken);
            _recent.AddFirst((snapshot.Id, build));
            while (_recent.Count > Capacity)
            {
                _recent.RemoveLast();
            }

            return build;
        }
    }
}
