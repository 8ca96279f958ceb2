using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Npgsql;

namespace Lore.PostgreSql;

// The change feed: other processes' rollout changes, pushed over LISTEN/NOTIFY so hosts refresh within milliseconds
// instead of waiting for their next poll.
public sealed partial class PostgresLoreStore : IStoreChangeFeed
{
    /// <summary>How long the listening connection may stay silent before a round trip checks that it is still alive.</summary>
    internal static readonly TimeSpan ListenPing = TimeSpan.FromSeconds(10);

    private static readonly TimeSpan FirstReconnect = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan LongestReconnect = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Yields every change announced on <c>lore_changes</c> by any process (this one included) until cancelled. Each
    /// subscription holds one connection that LISTENs; when it drops (a restart, a network cut,
    /// <c>pg_terminate_backend</c>) it reconnects with backoff (0.1 s doubling to 5 s). A <see cref="StoreChangeKinds.Resync"/>
    /// follows every LISTEN that starts, the first one included, because notifications sent while no LISTEN was in
    /// place (before the subscription, or while reconnecting) are lost: the consumer re-reads what it watches.
    /// </summary>
    public async IAsyncEnumerable<StoreChange> WatchAsync([EnumeratorCancellation] CancellationToken cancellationToken)
    {
        ThrowIfClosed();
        var changes = Channel.CreateUnbounded<StoreChange>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var listener = Task.Run(() => ListenAsync(changes.Writer, stop.Token), CancellationToken.None);
        try
        {
            while (await changes.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
            {
                while (changes.Reader.TryRead(out var change))
                {
                    yield return change;
                }
            }
        }
        finally
        {
            await stop.CancelAsync().ConfigureAwait(false);
            await listener.ConfigureAwait(false);
        }
    }

    /// <summary>Listens until cancelled, reconnecting after every failure; never throws (the feed ends only by cancellation or disposal).</summary>
    private async Task ListenAsync(ChannelWriter<StoreChange> changes, CancellationToken cancellationToken)
    {
        var retry = FirstReconnect;
        try
        {
            while (!cancellationToken.IsCancellationRequested && Volatile.Read(ref _closed) == 0)
            {
                try
                {
                    await ListenOnceAsync(changes, () => retry = FirstReconnect, cancellationToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is NpgsqlException or IOException or TimeoutException or ObjectDisposedException or InvalidOperationException)
                {
                    // The connection broke (or the store is closing): wait, then listen again and resync.
                }

                await Task.Delay(retry, _clock, cancellationToken).ConfigureAwait(false);
                retry = TimeSpan.FromTicks(Math.Min(retry.Ticks * 2, LongestReconnect.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        finally
        {
            changes.TryComplete();
        }
    }

    private async Task ListenOnceAsync(ChannelWriter<StoreChange> changes, Action connected, CancellationToken cancellationToken)
    {
        await using var connection = await OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        connection.Notification += (_, e) =>
        {
            if (e.Channel == ChangeChannel)
            {
                changes.TryWrite(ParseChange(e.Payload));
            }
        };

        await using (var listen = new NpgsqlCommand($"LISTEN {ChangeChannel};", connection))
        {
            await listen.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
        }

        connected();
        changes.TryWrite(new StoreChange(StoreChangeKinds.Resync, ""));
        while (true)
        {
            if (!await connection.WaitAsync(ListenPing, cancellationToken).ConfigureAwait(false))
            {
                // Silence: make sure the connection is still there (a cut network delivers no error on its own).
                await using var ping = new NpgsqlCommand("SELECT 1;", connection);
                await ping.ExecuteScalarAsync(cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>A payload <c>{"kind":...,"tenant":...}</c>; anything else says something changed, but not what: resync.</summary>
    internal static StoreChange ParseChange(string payload)
    {
        try
        {
            using var json = JsonDocument.Parse(payload);
            if (json.RootElement.ValueKind == JsonValueKind.Object
                && json.RootElement.TryGetProperty("kind", out var kind) && kind.ValueKind == JsonValueKind.String
                && json.RootElement.TryGetProperty("tenant", out var tenant) && tenant.ValueKind == JsonValueKind.String)
            {
                return new StoreChange(kind.GetString()!, tenant.GetString()!);
            }
        }
        catch (JsonException)
        {
        }

        return new StoreChange(StoreChangeKinds.Resync, "");
    }
}
