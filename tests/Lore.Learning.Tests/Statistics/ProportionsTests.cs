using CsCheck;
using Lore.Learning.Statistics;

namespace Lore.Learning.Tests.Statistics;

public sealed class ProportionsTests
{
    // Reference values computed independently with the textbook formulas (python, exact integer arithmetic for Fisher).
    [Theory]
    [InlineData(4, 6, 1.645, 0.3469913715515573, 0.8827345940871814)]
    [InlineData(2, 6, 1.645, 0.11726540591281864, 0.6530086284484428)]
    [InlineData(8, 10, Proportions.Z95, 0.49016247153664183, 0.9433178485456247)]
    [InlineData(35, 40, Proportions.Z95, 0.738878801611489, 0.945404997490546)]
    [InlineData(0, 10, Proportions.Z95, 0.0, 0.2775327998628892)]
    [InlineData(10, 10, Proportions.Z95, 0.7224672001371107, 1.0)]
    public void Wilson_interval_matches_the_reference_values(int successes, int trials, double z, double low, double high)
    {
        var interval = Proportions.Wilson(successes, trials, z);

        Assert.Equal(low, interval.Low, 12);
        Assert.Equal(high, interval.High, 12);
    }

    [Fact]
    public void Wilson_interval_of_no_trials_is_everything_and_z_zero_is_the_point_estimate()
    {
        Assert.Equal(new Interval(0, 1), Proportions.Wilson(0, 0));
        Assert.Equal(new Interval(0.75, 0.75), Proportions.Wilson(3, 4, 0));
    }

    private static readonly Gen<(int Successes, int Trials, double Z)> Counts =
        Gen.Select(Gen.Int[1, 5000], Gen.Double[0, 1], Gen.Double[0, 4])
            .Select((n, share, z) => ((int)Math.Round(share * n), n, z));

    [Fact]
    public void Wilson_interval_lies_in_the_unit_interval_and_contains_the_observed_rate()
    {
        SeededCheck.ForAll(Counts, t =>
        {
            var (k, n, z) = t;
            var interval = Proportions.Wilson(k, n, z);
            var p = (double)k / n;
            Assert.InRange(interval.Low, 0, 1);
            Assert.InRange(interval.High, 0, 1);
            Assert.True(interval.Low <= p && p <= interval.High, $"{interval} does not contain {p}");
        }, iterations: 1000);
    }

    [Fact]
    public void Wilson_interval_is_symmetric_between_successes_and_failures()
    {
        SeededCheck.ForAll(Counts, t =>
        {
            var (k, n, z) = t;
            var successes = Proportions.Wilson(k, n, z);
            var failures = Proportions.Wilson(n - k, n, z);
            Assert.Equal(successes.Low, 1 - failures.High, 9);
            Assert.Equal(successes.High, 1 - failures.Low, 9);
        }, iterations: 1000);
    }

    [Fact]
    public void Wilson_interval_narrows_with_more_trials_at_the_same_rate_and_widens_with_z()
    {
        SeededCheck.ForAll(Counts, t =>
        {
            var (k, n, z) = t;
            var once = Proportions.Wilson(k, n, z);
            var tenfold = Proportions.Wilson(10L * k, 10L * n, z);
            var wider = Proportions.Wilson(k, n, z + 0.5);
            Assert.True(tenfold.High - tenfold.Low <= once.High - once.Low + 1e-12);
            Assert.True(wider.Low <= once.Low + 1e-12 && wider.High >= once.High - 1e-12);
        }, iterations: 1000);
    }

    [Theory]
    [InlineData(10, 0, 25, 5, 0.21657183499288762)]
    [InlineData(3, 1, 1, 3, 0.24285714285714285)]
    [InlineData(12, 3, 5, 20, 0.0002878002409645756)]
    public void One_sided_Fisher_test_matches_exact_hypergeometric_tails(int a, int b, int c, int d, double expected)
    {
        var p = Proportions.FisherGreater(a, b, c, d, new LogFactorials(a + b + c + d));

        Assert.Equal(expected, p, 10);
    }

    [Fact]
    public void Fisher_p_value_never_grows_when_one_more_episode_with_the_pattern_fails_instead_of_succeeding()
    {
        var tables = Gen.Select(Gen.Int[0, 30], Gen.Int[1, 30], Gen.Int[0, 30], Gen.Int[0, 30]);
        SeededCheck.ForAll(tables, t =>
        {
            var (a, b, c, d) = t;
            var table = new LogFactorials(a + b + c + d + 2);
            var p = Proportions.FisherGreater(a, b, c, d, table);
            var worse = Proportions.FisherGreater(a + 1, b - 1, c, d, table);
            Assert.InRange(p, 0, 1);
            Assert.True(worse <= p + 1e-12, $"{worse} > {p}");
        }, iterations: 500);
    }

    [Fact]
    public void Benjamini_Hochberg_adjusts_as_the_step_up_procedure_does()
    {
        // Worked example: p = 0.01, 0.04, 0.03, 0.005 over m = 4 -> q = 0.02, 0.04, 0.04, 0.02.
        var q = Proportions.BenjaminiHochberg([0.01, 0.04, 0.03, 0.005]);

        Assert.Equal([0.02, 0.04, 0.04, 0.02], q.Select(x => Math.Round(x, 10)));
    }

    [Fact]
    public void Benjamini_Hochberg_values_are_at_least_the_p_values_and_keep_their_order()
    {
        SeededCheck.ForAll(Gen.Double[0, 1].Array[1, 50], p =>
        {
            var q = Proportions.BenjaminiHochberg(p);
            for (var i = 0; i < p.Length; i++)
            {
                Assert.True(q[i] >= p[i] - 1e-15 && q[i] <= 1);
                for (var j = 0; j < p.Length; j++)
                {
                    Assert.True(p[i] > p[j] || q[i] <= q[j] + 1e-15);
                }
            }
        });
    }

    [Theory]
    [InlineData(0.0, 0.5)]
    [InlineData(1.6448536269514722, 0.95)]
    [InlineData(-1.959963984540054, 0.025)]
    [InlineData(3.0, 0.9986501019683699)]
    public void Normal_cdf_is_accurate_to_seven_digits(double z, double expected)
        => Assert.Equal(expected, Proportions.NormalCdf(z), 6);
}
