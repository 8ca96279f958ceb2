using System.Security.Cryptography;
using System.Text;

namespace Lore.Learning.Consolidation;

/// <summary>Stable lesson ids: the same pattern, found again by any run, gets the same id, so its lineage accumulates.</summary>
internal static class LessonIds
{
    /// <summary>"les-" and the first 16 hex digits of SHA-256 over the tenant and the candidate key.</summary>
    public static string For(string tenant, string candidateKey)
    {
        var bytes = Encoding.UTF8.GetBytes($"{tenant}\n{candidateKey}");
        return "les-" + Convert.ToHexStringLower(SHA256.HashData(bytes))[..16];
    }
}
