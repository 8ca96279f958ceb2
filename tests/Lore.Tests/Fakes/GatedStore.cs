using Lore.Testing;

namespace Lore.Tests.Fakes;

/// <summary>
/// A store whose appends the test holds at a gate and can make fail, around a real store. It lets capture tests
/// fill the buffer or break a write at an exact moment, without sleeping.
/// </summary>
internal sealed class GatedStore : DelegatingLoreStore
{
    private readonly object _lock = new();
    private TaskCompletionSource _gate = Open();
    private TaskCompletionSource _entered = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public GatedStore(ILoreStore inner)
        : base(inner)
    {
    }

    /// <summary>How many of the next appends throw before reaching the inner store.</summary>
    public int FailNextAppends { get; set; }

    /// <summary>Appends that throw whenever they carry a record of this episode (a poisoned episode).</summary>
    public string? FailEpisode { get; set; }

    public int AppendCalls { get; private set; }

    public List<int> BatchSizes { get; } = [];

    /// <summary>Makes the next appends wait until <see cref="Release"/>.</summary>
    public void Hold()
    {
        lock (_lock)
        {
            _gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _entered = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        }
    }

    public void Release()
    {
        lock (_lock)
        {
            _gate.TrySetResult();
        }
    }

    /// <summary>Completes once an append is waiting at the held gate.</summary>
    public Task AppendWaiting
    {
        get
        {
            lock (_lock)
            {
                return _entered.Task;
            }
        }
    }

    public override async Task AppendAsync(IReadOnlyList<CaptureRecord> records, CancellationToken cancellationToken = default)
    {
        Task gate;
        lock (_lock)
        {
            AppendCalls++;
            BatchSizes.Add(records.Count);
            _entered.TrySetResult();
            gate = _gate.Task;
        }

        await gate.WaitAsync(cancellationToken);
        if (FailNextAppends > 0)
        {
            FailNextAppends--;
            throw new IOException("disk unavailable (simulated)");
        }

        if (FailEpisode is not null && records.Any(r => r.EpisodeId == FailEpisode))
        {
            throw new IOException($"episode {FailEpisode} is poisoned (simulated)");
        }

        await InnerStore.AppendAsync(records, cancellationToken);
    }

    private static TaskCompletionSource Open()
    {
        var open = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        open.SetResult();
        return open;
    }
}
