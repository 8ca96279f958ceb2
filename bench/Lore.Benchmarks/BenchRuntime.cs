using Lore.Sqlite;

namespace Lore.Benchmarks;

/// <summary>A runtime on a fresh SQLite file in the temp folder, serving a snapshot of synthetic lessons.</summary>
internal sealed class BenchRuntime : IAsyncDisposable
{
    private readonly string _directory;

    private BenchRuntime(string directory, LoreRuntime runtime)
    {
        _directory = directory;
        Runtime = runtime;
    }

    public LoreRuntime Runtime { get; }

    /// <param name="embeddings">The vector half's model; null for the built-in hashed embedding.</param>
    public static async Task<BenchRuntime> CreateAsync(int lessonCount, int seed = 7, Microsoft.Extensions.AI.IEmbeddingGenerator<string, Microsoft.Extensions.AI.Embedding<float>>? embeddings = null)
    {
        var directory = Path.Combine(Path.GetTempPath(), "lore-bench", Guid.NewGuid().ToString("n"));
        Directory.CreateDirectory(directory);
        var store = await SqliteLoreStore.OpenAsync(Path.Combine(directory, "bench.db"));
        if (lessonCount > 0)
        {
            var snapshot = Snapshot.Create(null, Tenants.Default, SyntheticLessons.Create(lessonCount, seed), new RetrievalSettings(), "bench", $"{lessonCount} synthetic lessons", DateTimeOffset.UtcNow);
            await store.SaveSnapshotAsync(snapshot);
            await store.SetActiveSnapshotAsync(Tenants.Default, snapshot.Id);
        }

        var options = new LoreOptions { Store = store, EmbeddingGenerator = embeddings };
        options.Capture.OverflowPolicy = CaptureOverflowPolicy.Wait;
        var runtime = await LoreRuntime.OpenAsync(options);
        return new BenchRuntime(directory, runtime);
    }

    public async ValueTask DisposeAsync()
    {
        await Runtime.DisposeAsync();
        try
        {
            Directory.Delete(_directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
