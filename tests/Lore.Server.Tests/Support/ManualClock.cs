namespace Lore.Server.Tests.Support;

/// <summary>A clock the test moves by hand (for the server's key cache and rate limits).</summary>
internal sealed class ManualClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; private set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public void Advance(TimeSpan by) => Now += by;
}
