using CsCheck;

namespace Lore.Testing;

/// <summary>
/// Runs a CsCheck generator from a fixed seed, so a property test sees the same inputs on every run (CsCheck's own
/// <c>Sample</c> seeds only its first iteration). A failure names the sample and the seed that reproduces it.
/// </summary>
public static class SeededCheck
{
    public static void ForAll<T>(Gen<T> gen, Action<T> assert, ulong seed = 20260101, int iterations = 200)
    {
        var pcg = new PCG(1, seed);
        for (var i = 0; i < iterations; i++)
        {
            var state = pcg.ToString();
            var sample = gen.Generate(pcg, null, out _);
            try
            {
                assert(sample);
            }
            catch (Exception e)
            {
                throw new InvalidOperationException($"The property failed on sample {i} (CsCheck seed \"{state}\"): {Check.Print(sample)}", e);
            }
        }
    }
}
