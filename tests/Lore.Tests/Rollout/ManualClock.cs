namespace Lore.Tests.Rollout;

/// <summary>
/// A clock the test moves by hand, with timers: <see cref="Advance"/> fires every timer that falls due (periodic ones
/// as often as their period fits), on the calling thread. Lets polling and backoff be tested without waiting.
/// </summary>
internal sealed class ManualClock(DateTimeOffset start) : TimeProvider
{
    private readonly Lock _lock = new();
    private readonly List<ManualTimer> _timers = [];
    private DateTimeOffset _now = start;
    private TaskCompletionSource _timerCreated = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public override DateTimeOffset GetUtcNow()
    {
        lock (_lock)
        {
            return _now;
        }
    }

    /// <summary>Completes once some timer is armed (at once if one already is).</summary>
    public Task WhenTimerArmedAsync()
    {
        lock (_lock)
        {
            return _timers.Count > 0 ? Task.CompletedTask : _timerCreated.Task;
        }
    }

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new ManualTimer(this, callback, state);
        timer.Change(dueTime, period);
        return timer;
    }

    public void Advance(TimeSpan by)
    {
        DateTimeOffset target;
        lock (_lock)
        {
            target = _now + by;
        }

        while (true)
        {
            ManualTimer? due;
            lock (_lock)
            {
                due = _timers.Where(t => t.Due <= target).OrderBy(t => t.Due).FirstOrDefault();
                if (due is null)
                {
                    _now = target;
                    return;
                }

                _now = due.Due!.Value;
                due.Due = due.Period > TimeSpan.Zero ? _now + due.Period : null;
                if (due.Due is null)
                {
                    _timers.Remove(due);
                }
            }

            due.Fire();
        }
    }

    private sealed class ManualTimer(ManualClock clock, TimerCallback callback, object? state) : ITimer
    {
        public DateTimeOffset? Due { get; set; }

        public TimeSpan Period { get; private set; }

        public void Fire() => callback(state);

        public bool Change(TimeSpan dueTime, TimeSpan period)
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
                Period = period == Timeout.InfiniteTimeSpan ? TimeSpan.Zero : period;
                Due = dueTime == Timeout.InfiniteTimeSpan ? null : clock._now + dueTime;
                if (Due is not null)
                {
                    clock._timers.Add(this);
                    var armed = clock._timerCreated;
                    clock._timerCreated = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
                    armed.TrySetResult();
                }
            }

            return true;
        }

        public void Dispose()
        {
            lock (clock._lock)
            {
                clock._timers.Remove(this);
            }
        }

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
