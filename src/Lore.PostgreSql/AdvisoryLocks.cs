using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Lore.PostgreSql;

/// <summary>
/// Keys of the PostgreSQL advisory locks Lore takes: one per purpose and schema (and tenant, for the learning lock),
/// derived by hashing, so that two Lore schemas in one database never wait on each other's locks.
/// </summary>
internal static class AdvisoryLocks
{
    public static long Key(string schema, string purpose, string? subject = null)
    {
        var text = $"lore|{schema}|{purpose}|{subject}";
        Span<byte> hash = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), hash);
        return BinaryPrimitives.ReadInt64LittleEndian(hash);
    }
}
