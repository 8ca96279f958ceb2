using Xunit;

namespace Lore.StoreContract;

// API keys: stored by hash only, unique ids, listed newest first per tenant, revocation keeps the first time.
public abstract partial class LoreStoreContract
{
    private static readonly DateTimeOffset KeyTime = new(2026, 3, 1, 9, 0, 0, TimeSpan.Zero);

    private static ApiKey NewKey(string id, string tenant = Tenants.Default, ApiKeyRole role = ApiKeyRole.Agent, int minute = 0, string secret = "s3cret") => new()
    {
        Id = id,
        Tenant = tenant,
        Role = role,
        Name = $"key {id}",
        SecretHash = ApiKey.HashSecret(secret),
        CreatedAt = KeyTime.AddMinutes(minute),
        CreatedBy = "cli:alice",
    };

    [Fact]
    public async Task A_saved_api_key_reads_back_with_every_field_and_its_secret_matches()
    {
        var store = await NewStoreAsync();
        var key = NewKey("k1", "acme", ApiKeyRole.Reviewer, secret: "right-secret");

        await store.SaveApiKeyAsync(key, Ct);
        var read = await store.GetApiKeyAsync("k1", Ct);

        Assert.NotNull(read);
        Assert.Equal(Canonical(key), Canonical(read));
        Assert.True(read.Matches("right-secret"));
        Assert.False(read.Matches("wrong-secret"));
    }

    [Fact]
    public async Task An_unknown_api_key_id_reads_as_null()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k1"), Ct);

        Assert.Null(await store.GetApiKeyAsync("k2", Ct));
        Assert.Null(await store.GetApiKeyAsync("K1", Ct));
    }

    [Fact]
    public async Task Saving_an_api_key_id_twice_is_a_conflict_and_keeps_the_first_key()
    {
        var store = await NewStoreAsync();
        var first = NewKey("k1", "acme", ApiKeyRole.Agent, secret: "first");
        await store.SaveApiKeyAsync(first, Ct);

        var e = await Assert.ThrowsAsync<StoreConflictException>(() => store.SaveApiKeyAsync(NewKey("k1", "other", ApiKeyRole.Admin, secret: "second"), Ct));

        Assert.Contains("k1", e.Message, StringComparison.Ordinal);
        var kept = await store.GetApiKeyAsync("k1", Ct);
        Assert.Equal(Canonical(first), Canonical(kept));
        Assert.Single(await store.ListApiKeysAsync(null, Ct));
    }

    [Fact]
    public async Task Api_keys_are_listed_newest_first_per_tenant_or_for_every_tenant()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k-old", "acme", minute: 1), Ct);
        await store.SaveApiKeyAsync(NewKey("k-new", "acme", minute: 3), Ct);
        await store.SaveApiKeyAsync(NewKey("k-mid", "globex", minute: 2), Ct);

        Assert.Equal(["k-new", "k-old"], (await store.ListApiKeysAsync("acme", Ct)).Select(k => k.Id));
        Assert.Equal(["k-mid"], (await store.ListApiKeysAsync("globex", Ct)).Select(k => k.Id));
        Assert.Empty(await store.ListApiKeysAsync("initech", Ct));
        Assert.Equal(["k-new", "k-mid", "k-old"], (await store.ListApiKeysAsync(null, Ct)).Select(k => k.Id));
    }

    [Fact]
    public async Task Revoking_an_api_key_keeps_the_first_revocation_time_and_the_key_stays_listed()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k1"), Ct);
        await store.SaveApiKeyAsync(NewKey("k2", minute: 1), Ct);

        Assert.True(await store.RevokeApiKeyAsync("k1", KeyTime.AddHours(1), Ct));
        Assert.True(await store.RevokeApiKeyAsync("k1", KeyTime.AddHours(2), Ct));

        Assert.Equal(KeyTime.AddHours(1), (await store.GetApiKeyAsync("k1", Ct))!.RevokedAt);
        Assert.Null((await store.GetApiKeyAsync("k2", Ct))!.RevokedAt);
        Assert.Equal(["k2", "k1"], (await store.ListApiKeysAsync(Tenants.Default, Ct)).Select(k => k.Id));
    }

    [Fact]
    public async Task Revoking_an_unknown_api_key_returns_false_and_changes_nothing()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k1"), Ct);

        Assert.False(await store.RevokeApiKeyAsync("k-missing", KeyTime, Ct));

        Assert.Null((await store.GetApiKeyAsync("k1", Ct))!.RevokedAt);
    }

    [Fact]
    public async Task Api_keys_and_their_revocation_survive_a_reopen()
    {
        var store = await NewStoreAsync();
        await store.SaveApiKeyAsync(NewKey("k1", "acme", ApiKeyRole.Admin), Ct);
        await store.RevokeApiKeyAsync("k1", KeyTime.AddDays(1), Ct);

        var reopened = await ReopenTrackedAsync(store);

        var key = await reopened.GetApiKeyAsync("k1", Ct);
        Assert.NotNull(key);
        Assert.Equal((ApiKeyRole.Admin, "acme", (DateTimeOffset?)KeyTime.AddDays(1)), (key.Role, key.Tenant, key.RevokedAt));
    }

    [Fact]
    public async Task The_store_keeps_only_the_hash_of_an_api_key_secret()
    {
        var store = await NewStoreAsync();
        var key = NewKey("k1", secret: "never-stored-in-clear");

        await store.SaveApiKeyAsync(key, Ct);
        var read = await store.GetApiKeyAsync("k1", Ct);

        Assert.Equal(ApiKey.HashSecret("never-stored-in-clear"), read!.SecretHash);
        Assert.DoesNotContain("never-stored-in-clear", Canonical(read), StringComparison.Ordinal);
    }
}
