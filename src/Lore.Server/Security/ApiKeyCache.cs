using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Lore.Server.Security;

/// <summary>
/// Keeps recently read key records for <see cref="LoreServerOptions.KeyCacheDuration"/> so that a busy agent's every
/// request does not read the store: the price is that a key revoked on another server (or by the CLI) keeps working
/// on this one for at most that long. Revocations made through this server take effect at once.
/// </summary>
internal sealed class ApiKeyCache(LoreServerOptions options)
{
    private readonly ConcurrentDictionary<string, (ApiKey Key, DateTimeOffset ReadAt)> _keys = new(StringComparer.Ordinal);

    // Keyed by the record instance: a key read again (or revoked and read again) is a new record and is verified anew.
    private readonly ConditionalWeakTable<ApiKey, VerifiedSecret> _verified = new();

    /// <summary>The key record, from the cache while fresh, else from the store (unknown ids are not cached).</summary>
    public async ValueTask<ApiKey?> GetAsync(ILoreStore store, string keyId, CancellationToken cancellationToken)
    {
        var time = options.TimeProvider;
        var duration = options.KeyCacheDuration;
        if (duration > TimeSpan.Zero && _keys.TryGetValue(keyId, out var cached) && time.GetUtcNow() - cached.ReadAt < duration)
        {
            return cached.Key;
        }

        var key = await store.GetApiKeyAsync(keyId, cancellationToken).ConfigureAwait(false);
        if (key is null)
        {
            _keys.TryRemove(keyId, out _);
        }
        else if (duration > TimeSpan.Zero)
        {
            _keys[keyId] = (key, time.GetUtcNow());
        }

        return key;
    }

    /// <summary>Forgets a key (after it is revoked here), so the next request reads the store.</summary>
    public void Forget(string keyId) => _keys.TryRemove(keyId, out _);

    /// <summary>
    /// The caller remembered for this key record when <paramref name="secret"/> is the secret that was verified against
    /// it (compared in constant time), else null: the secret must then be checked against the hash.
    /// </summary>
    public Caller? Verified(ApiKey key, string secret)
        => _verified.TryGetValue(key, out var verified) && verified.Matches(secret) ? verified.Result : null;

    /// <summary>Remembers the caller <paramref name="secret"/> was verified as against this key record; returns it.</summary>
    public Caller Remember(ApiKey key, string secret, Caller caller)
    {
        _verified.AddOrUpdate(key, new VerifiedSecret(secret, caller));
        return caller;
    }

    private sealed class VerifiedSecret(string secret, Caller caller)
    {
        public Caller Result { get; } = caller;

        public bool Matches(string presented)
            => CryptographicOperations.FixedTimeEquals(MemoryMarshal.AsBytes(secret.AsSpan()), MemoryMarshal.AsBytes(presented.AsSpan()));
    }
}
