using System.Collections.Concurrent;
using System.Runtime.CompilerServices;

namespace Lore.Learning;

/// <summary>
/// The tenant's learning lock, whatever the store: the store's own <see cref="ILearningLock"/> when it has one (held
/// across processes), otherwise a lock per store instance and tenant, which serialises the passes of one process only.
/// </summary>
internal static class LearningLocks
{
    private static readonly ConditionalWeakTable<ILoreStore, ConcurrentDictionary<string, SemaphoreSlim>> Local = [];

    public static async Task<IAsyncDisposable> AcquireAsync(ILoreStore store, string tenant, string holder, CancellationToken cancellationToken, Action<string>? onTakeover = null)
    {
        if (store.GetService<ILearningLock>() is { } shared)
        {
            var held = await shared.AcquireLearningLockAsync(tenant, holder, cancellationToken).ConfigureAwait(false);
            if (held is ILearningLockHandle { TakeoverNote: { } note })
            {
                onTakeover?.Invoke(note);
            }

            return held;
        }

        var gate = Local.GetValue(store, _ => new ConcurrentDictionary<string, SemaphoreSlim>(StringComparer.Ordinal))
            .GetOrAdd(tenant, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken).ConfigureAwait(false);
        return new Release(gate);
    }

    private sealed class Release(SemaphoreSlim gate) : IAsyncDisposable
    {
        private int _released;

        public ValueTask DisposeAsync()
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Release();
            }

            return ValueTask.CompletedTask;
        }
    }
}
