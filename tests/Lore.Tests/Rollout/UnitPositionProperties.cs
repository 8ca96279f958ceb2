using CsCheck;
using Lore.Rollout;
using Lore.Testing;
using Xunit;

namespace Lore.Tests.Rollout;

public sealed class UnitPositionProperties
{
    private static readonly Gen<string> UnitKey = Gen.OneOf(Gen.String[0, 80], Gen.Int[0, 1_000_000].Select(i => $"user-{i}"));

    [Fact]
    public void A_units_position_is_pinned_to_sha256_so_every_process_and_release_agrees()
    {
        // Computed independently (Python hashlib): sha256(tenant + "\0" + unit), first 53 bits / 2^53.
        Assert.Equal(0.6445921564067759, UnitPosition.Of("default", "user-1"));
        Assert.Equal(0.5757523617658857, UnitPosition.Of("default", "user-2"));
        Assert.Equal(0.7606942186936978, UnitPosition.Of("acme", "user-1"));
        Assert.Equal(0.7328188389676461, UnitPosition.Of("default", ""));
    }

    [Fact]
    public void Positions_lie_in_the_unit_interval_and_are_the_same_on_every_call()
    {
        SeededCheck.ForAll(Gen.Select(Gen.String[1, 20], UnitKey), pair =>
        {
            var (tenant, unit) = pair;
            var position = UnitPosition.Of(tenant, unit);
            Assert.InRange(position, 0.0, Math.BitDecrement(1.0));
            Assert.Equal(position, UnitPosition.Of(new string(tenant.AsSpan()), new string(unit.AsSpan())));
        });
    }

    [Fact]
    public void Long_unit_keys_hash_like_short_ones_without_overflowing_the_stack_buffer()
    {
        var key = new string('ü', 5_000);
        var position = UnitPosition.Of("default", key);
        Assert.InRange(position, 0.0, Math.BitDecrement(1.0));
        Assert.Equal(position, UnitPosition.Of("default", new string('ü', 5_000)));
        Assert.NotEqual(position, UnitPosition.Of("default", new string('ü', 4_999)));
    }

    [Fact]
    public void A_unit_in_the_canary_stays_in_it_whenever_the_share_grows()
    {
        SeededCheck.ForAll(Gen.Select(UnitKey, Gen.Double[0, 1], Gen.Double[0, 1]), sample =>
        {
            var (unit, a, b) = sample;
            var (smaller, larger) = a <= b ? (a, b) : (b, a);
            if (UnitPosition.InCanary("default", unit, smaller))
            {
                Assert.True(UnitPosition.InCanary("default", unit, larger));
            }
        }, iterations: 2_000);
    }

    [Theory]
    [InlineData(0.01)]
    [InlineData(0.1)]
    [InlineData(0.3)]
    [InlineData(0.5)]
    [InlineData(0.9)]
    public void The_canary_takes_the_configured_share_of_ten_thousand_units(double share)
    {
        const int units = 10_000;
        var inCanary = Enumerable.Range(0, units).Count(i => UnitPosition.InCanary("default", $"user-{i}", share));

        // A fair assignment is binomial(n, share): allow 4.5 standard deviations (a false failure about 1 in 150,000).
        var sd = Math.Sqrt(units * share * (1 - share));
        Assert.InRange(inCanary, units * share - 4.5 * sd, units * share + 4.5 * sd);
    }

    [Fact]
    public void Tenants_are_assigned_independently()
    {
        const int units = 10_000;
        var both = Enumerable.Range(0, units).Count(i => UnitPosition.InCanary("alpha", $"user-{i}", 0.5) && UnitPosition.InCanary("beta", $"user-{i}", 0.5));

        // Independent halves overlap on a quarter of the units.
        var sd = Math.Sqrt(units * 0.25 * 0.75);
        Assert.InRange(both, units * 0.25 - 4.5 * sd, units * 0.25 + 4.5 * sd);
    }

    [Fact]
    public void Share_zero_serves_the_candidate_to_nobody_and_share_one_to_everybody()
    {
        SeededCheck.ForAll(UnitKey, unit =>
        {
            Assert.False(UnitPosition.InCanary("default", unit, 0));
            Assert.True(UnitPosition.InCanary("default", unit, 1));
        });
    }
}
