using Lore.Sqlite;
using Lore.Testing;

namespace Lore.Tests.Fakes;

/// <summary>A runtime on a fresh SQLite file in a temp folder, optionally behind a <see cref="GatedStore"/>.</summary>
internal sealed class RuntimeHost : IAsyncDisposable
{
    private readonly TempDirectory _directory;

    private RuntimeHost(TempDirectory directory, LoreRuntime runtime, GatedStore? gated)
    {
        _directory = directory;
        Runtime = runtime;
        Gated = gated;
    }

    public LoreRuntime Runtime { get; }

    public GatedStore? Gated { get; }

    public ILoreStore Store => Runtime.Store;

    public static async Task<RuntimeHost> OpenAsync(IEnumerable<Snapshot>? snapshots = null, Action<LoreOptions>? configure = null, bool gated = false)
    {
        var directory = new TempDirectory();
        ILoreStore store = SqliteLoreStore.Open(directory.File("lore.db"));
        Snapshot? last = null;
        foreach (var snapshot in snapshots ?? [])
        {
            await store.SaveSnapshotAsync(snapshot);
            last = snapshot;
        }

        if (last is not null)
        {
            await store.SetActiveSnapshotAsync(last.Tenant, last.Id);
        }

        var gate = gated ? new GatedStore(store) : null;
        var options = new LoreOptions { Store = gate ?? store };
        configure?.Invoke(options);
        var runtime = await LoreRuntime.OpenAsync(options);
        return new RuntimeHost(directory, runtime, gate);
    }

    public async Task<Episode> StoredEpisodeAsync(string id)
    {
        await Runtime.FlushAsync();
        return await Store.GetEpisodeAsync(id) ?? throw new Xunit.Sdk.XunitException($"Episode {id} was not stored.");
    }

    public async ValueTask DisposeAsync()
    {
        Gated?.Release();
        await Runtime.DisposeAsync();
        _directory.Dispose();
    }
}
