using System.Security.Cryptography;
using System.Text;

namespace Lore.Learning.Bundles;

/// <summary>
/// A key the operator supplies to sign snapshot bundles and to verify them on import: a shared HMAC-SHA256 secret, or
/// an ECDSA P-256 key pair (sign with the private key, verify with the public one, so production needs no secret).
/// </summary>
public sealed class BundleKey : IDisposable
{
    /// <summary>The algorithm name of a shared-secret key, as written in a signed bundle.</summary>
    public const string Hmac = "HMAC-SHA256";
    /// <summary>The algorithm name of an ECDSA P-256 key, as written in a signed bundle.</summary>
    public const string Ecdsa = "ECDSA-P256-SHA256";

    private readonly byte[]? _secret;
    private readonly ECDsa? _ecdsa;
    private readonly bool _canSign;

    private BundleKey(string algorithm, string keyId, byte[]? secret, ECDsa? ecdsa, bool canSign)
    {
        Algorithm = algorithm;
        KeyId = keyId;
        _secret = secret;
        _ecdsa = ecdsa;
        _canSign = canSign;
    }

    /// <summary><see cref="Hmac"/> or <see cref="Ecdsa"/>.</summary>
    public string Algorithm { get; }

    /// <summary>A short public name of the key (a hash of the public key, or of the secret), written into signatures.</summary>
    public string KeyId { get; }

    /// <summary>A shared secret; at least 32 bytes, so that a guessable word cannot sign bundles.</summary>
    public static BundleKey FromSecret(ReadOnlySpan<byte> secret)
    {
        if (secret.Length < 32)
        {
            throw new ArgumentException($"An HMAC bundle key must be at least 32 bytes; this one has {secret.Length}. Generate one with: openssl rand -base64 48", nameof(secret));
        }

        var id = Convert.ToHexStringLower(SHA256.HashData([.. "lore-bundle-key\n"u8, .. secret]))[..16];
        return new BundleKey(Hmac, "hmac-" + id, secret.ToArray(), null, canSign: true);
    }

    /// <summary>
    /// Reads a key from text: a PEM EC key (private: signs and verifies; public: verifies only), or otherwise a shared
    /// HMAC secret (the trimmed text's UTF-8 bytes).
    /// </summary>
    public static BundleKey Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.Contains("-----BEGIN", StringComparison.Ordinal))
        {
            return FromSecret(Encoding.UTF8.GetBytes(text.Trim()));
        }

        var ecdsa = ECDsa.Create();
        try
        {
            ecdsa.ImportFromPem(text);
        }
        catch (Exception e) when (e is ArgumentException or CryptographicException)
        {
            ecdsa.Dispose();
            throw new FormatException($"The bundle key is PEM but not an EC key Lore can read ({e.Message}). Use an ECDSA P-256 key (openssl ecparam -name prime256v1 -genkey -noout -out bundle.pem) or an HMAC secret.", e);
        }

        if (ecdsa.KeySize != 256)
        {
            ecdsa.Dispose();
            throw new FormatException($"The bundle key is an EC key of {ecdsa.KeySize} bits; Lore signs bundles with P-256.");
        }

        var canSign = text.Contains("PRIVATE KEY", StringComparison.Ordinal);
        var id = Convert.ToHexStringLower(SHA256.HashData(ecdsa.ExportSubjectPublicKeyInfo()))[..16];
        return new BundleKey(Ecdsa, "ecdsa-" + id, null, ecdsa, canSign);
    }

    /// <summary>Reads a key from a file (see <see cref="Parse"/>), naming the file when it cannot be read.</summary>
    public static BundleKey Load(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        if (!File.Exists(path))
        {
            throw new FileNotFoundException($"No bundle key file '{path}'.", path);
        }

        try
        {
            return Parse(File.ReadAllText(path));
        }
        catch (Exception e) when (e is ArgumentException or FormatException)
        {
            throw new FormatException($"Bundle key file '{path}': {e.Message}", e);
        }
    }

    internal string Sign(ReadOnlySpan<byte> payload)
    {
        if (!_canSign)
        {
            throw new InvalidOperationException($"Key {KeyId} is a public key: it verifies bundles but cannot sign them. Sign with the private key.");
        }

        return Convert.ToBase64String(_secret is not null ? HMACSHA256.HashData(_secret, payload) : _ecdsa!.SignData(payload, HashAlgorithmName.SHA256));
    }

    internal bool Verify(ReadOnlySpan<byte> payload, string signature)
    {
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(signature);
        }
        catch (FormatException)
        {
            return false;
        }

        return _secret is not null
            ? CryptographicOperations.FixedTimeEquals(HMACSHA256.HashData(_secret, payload), bytes)
            : _ecdsa!.VerifyData(payload, bytes, HashAlgorithmName.SHA256);
    }

    /// <summary>Clears the secret and releases the ECDSA key, so key material does not outlive its use.</summary>
    public void Dispose()
    {
        _ecdsa?.Dispose();
        if (_secret is not null)
        {
            CryptographicOperations.ZeroMemory(_secret);
        }
    }
}
