using System.Net;
using Lore.Server.Tests.Support;
using Lore.Sqlite;
using Lore.Testing;
using Microsoft.Data.Sqlite;
using Xunit;

namespace Lore.Server.Tests.Api;

/// <summary>A store that cannot take a write now is answered 503 with Retry-After and a reason, never a generic 500.</summary>
public sealed class BackpressureTests
{
    [Fact]
    public async Task A_write_while_another_process_holds_the_store_is_answered_503_with_retry_after_and_why_and_succeeds_when_retried()
    {
        using var directory = new TempDirectory();
        var path = directory.File("busy.db");
        await using var busyStore = await SqliteLoreStore.OpenAsync(path, new SqliteStoreOptions { BusyTimeout = TimeSpan.FromMilliseconds(200) }, TestContext.Current.CancellationToken);
        await using var server = await LoreTestServer.StartAsync(o => o.Store = busyStore);
        var (key, presented) = Lore.Server.Security.ApiKeyAuthentication.Issue("acme", ApiKeyRole.Agent, "agent", "test", DateTimeOffset.UtcNow);
        await busyStore.SaveApiKeyAsync(key, TestContext.Current.CancellationToken);
        using var client = server.CreateClient(presented);

        ApiClient.Response refused;
        using (var holder = new SqliteConnection($"Data Source={path};Pooling=False"))
        {
            holder.Open();
            using var held = holder.BeginTransaction(deferred: false); // another process's write lock
            refused = await client.ApiPostAsync("/api/episodes", new { id = "ep-busy", task = "refund order 7" });
            held.Rollback();
        }

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.Status);
        var retryAfter = refused.Headers.RetryAfter?.Delta;
        Assert.NotNull(retryAfter);
        Assert.True(retryAfter >= TimeSpan.FromSeconds(1), $"Retry-After {retryAfter}");
        Assert.Equal("Store busy", (string?)refused.Json["title"]);
        Assert.Contains("busy", (string?)refused.Json["detail"], StringComparison.Ordinal);
        Assert.Null(await busyStore.GetEpisodeAsync("ep-busy", TestContext.Current.CancellationToken));

        var retried = await client.ApiPostAsync("/api/episodes", new { id = "ep-busy", task = "refund order 7" });
        Assert.Equal(HttpStatusCode.Created, retried.Status);
    }
}
