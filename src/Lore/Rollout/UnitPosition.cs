using System.Buffers;
using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Lore.Rollout;

/// <summary>
/// Where a unit sits on the line [0, 1) that canary shares are measured along: the first 53 bits of the SHA-256 of
/// "tenant", a zero byte and the unit key, in UTF-8. It depends on nothing but those two strings, so every process and
/// every release puts a unit at the same place; a canary at share s takes the units below s, so growing the share only
/// adds units and a unit never changes arm while the share grows.
/// </summary>
internal static class UnitPosition
{
    private const int StackLimit = 512;

    /// <summary>The unit's position in [0, 1).</summary>
    public static double Of(string tenant, string unitKey)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(unitKey);
        var length = Encoding.UTF8.GetByteCount(tenant) + 1 + Encoding.UTF8.GetByteCount(unitKey);
        byte[]? rented = null;
        var buffer = length <= StackLimit ? stackalloc byte[StackLimit] : (rented = ArrayPool<byte>.Shared.Rent(length));
        try
        {
            var written = Encoding.UTF8.GetBytes(tenant, buffer);
            buffer[written++] = 0;
            written += Encoding.UTF8.GetBytes(unitKey, buffer[written..]);
            Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
            SHA256.HashData(buffer[..written], hash);
            return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53));
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>
    /// The name the shared rollout tally knows a unit by: "u:" and the hex of the first 16 bytes of the SHA-256 of
    /// "tenant", a zero byte and the unit key. Counting needs only the unit's identity, so the store never holds the
    /// key itself (which may name a person) outside the episode it belongs to.
    /// </summary>
    public static string TallyName(string tenant, string unitKey)
    {
        ArgumentNullException.ThrowIfNull(tenant);
        ArgumentNullException.ThrowIfNull(unitKey);
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(tenant + "\0" + unitKey));
        return "u:" + Convert.ToHexStringLower(hash.AsSpan(0, 16));
    }

    /// <summary>True when a canary at <paramref name="share"/> serves the candidate to the unit.</summary>
    public static bool InCanary(string tenant, string unitKey, double share) => share > 0 && Of(tenant, unitKey) < share;
}
