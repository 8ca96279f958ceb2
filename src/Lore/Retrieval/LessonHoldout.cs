using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;

namespace Lore.Retrieval;

/// <summary>
/// The per-lesson holdout: which units a lesson is withheld from. Retrieval decides where a lesson goes, so comparing
/// episodes with and without it mixes its effect with the kind of task it goes to; withholding it from a random share
/// of the units where it is eligible makes the comparison an experiment. The draw is the first 53 bits of the SHA-256
/// of "holdout", the tenant, the lesson id and the unit key (zero-separated): deterministic on every host and release,
/// independent between lessons and of the canary's draw, and fixed per unit so a unit's episodes share one arm.
/// </summary>
internal static class LessonHoldout
{
    /// <summary>True when <paramref name="lessonId"/> is withheld from <paramref name="unitKey"/> at <paramref name="share"/>.</summary>
    public static bool Withholds(string tenant, string lessonId, string unitKey, double share)
    {
        if (share <= 0)
        {
            return false;
        }

        var bytes = Encoding.UTF8.GetBytes($"holdout\0{tenant}\0{lessonId}\0{unitKey}");
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(bytes, hash);
        return (BinaryPrimitives.ReadUInt64BigEndian(hash) >> 11) * (1.0 / (1UL << 53)) < share;
    }
}
