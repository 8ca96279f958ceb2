namespace Lore.Simulation;

/// <summary>
/// Seeds derived from seeds and texts. <see cref="string.GetHashCode()"/> changes per process, so everything the
/// simulation derives from text goes through this fixed FNV-1a hash to keep runs reproducible across processes.
/// </summary>
internal static class StableHash
{
    public static int Of(string text)
    {
        unchecked
        {
            var hash = 2166136261u;
            foreach (var c in text)
            {
                hash = (hash ^ c) * 16777619u;
            }

            return (int)hash;
        }
    }

    /// <summary>Combines values into one seed (a splitmix-style finaliser, so nearby inputs give unrelated seeds).</summary>
    public static int Mix(int a, int b, int c = 0)
    {
        unchecked
        {
            var x = ((ulong)(uint)a << 32) ^ (uint)b ^ ((ulong)(uint)c * 0x9E3779B97F4A7C15UL);
            x ^= x >> 30;
            x *= 0xBF58476D1CE4E5B9UL;
            x ^= x >> 27;
            x *= 0x94D049BB133111EBUL;
            x ^= x >> 31;
            return (int)(x ^ (x >> 32));
        }
    }
}
