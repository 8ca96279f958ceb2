using Lore.Sqlite;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Runtime;

/// <summary>
/// <see cref="CaptureOptions.AbandonIdleEpisodesAfter"/> survives the copy a runtime keeps at open: a host that
/// recovers open episodes itself (the server sweeps every tenant) turns the runtime's own recovery off, and it stays off.
/// </summary>
public sealed class OpenRecoveryOptionTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Opening_a_runtime_ends_an_episode_a_dead_process_left_open_only_while_recovery_is_on(bool recoveryOff)
    {
        using var directory = new TempDirectory();
        var store = SqliteLoreStore.Open(directory.File("lore.db"));
        await store.AppendAsync([new EpisodeStarted(new Episode { Id = "ep-dead", Task = "refund order 1142", StartedAt = DateTimeOffset.UtcNow.AddDays(-1) })], Ct);
        var options = new LoreOptions { Store = store };
        if (recoveryOff)
        {
            options.Capture.AbandonIdleEpisodesAfter = Timeout.InfiniteTimeSpan;
        }

        await using var runtime = await LoreRuntime.OpenAsync(options, Ct);

        var episode = await runtime.Store.GetEpisodeAsync(Tenants.Default, "ep-dead", Ct);
        Assert.NotNull(episode);
        Assert.Equal(recoveryOff ? null : EpisodeEndReasons.Abandoned, episode.EndReason);
    }
}
