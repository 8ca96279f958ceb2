using CsCheck;
using Xunit;

namespace Lore.StoreContract;

// Property tests: whatever an episode holds, the store gives it back unchanged.
public abstract partial class LoreStoreContract
{
    /// <summary>
    /// The first iteration replays this fixed seed; the others explore new cases, and CsCheck shrinks any failure and
    /// prints its seed so that it can be replayed exactly.
    /// </summary>
    private const string PropertySeed = "0N0XIzNsQ0O2";

    private const int PropertyIterations = 150;

    [Fact]
    public async Task Any_imported_episode_reads_back_exactly()
    {
        var store = await NewStoreAsync();
        var n = 0;

        await EpisodeGenerators.Episode.SampleAsync(async generated =>
        {
            var episode = generated with { Id = $"{generated.Id}#{Interlocked.Increment(ref n)}" };
            await ImportAsync(store, episode);

            AssertSameEpisode(episode, await store.GetEpisodeAsync(episode.Id, Ct));
            var listed = await ReadAllAsync(store, new EpisodeQuery { Tenant = episode.Tenant, NewestFirst = true, Limit = 1 });
            AssertSameEpisode(episode, Assert.Single(listed));
        }, seed: PropertySeed, iter: PropertyIterations, threads: 1);
    }

    [Fact]
    public async Task Any_episode_captured_as_records_reads_back_exactly()
    {
        var store = await NewStoreAsync();
        var n = 0;

        await EpisodeGenerators.Episode.SampleAsync(async generated =>
        {
            var episode = generated with { Id = $"{generated.Id}#{Interlocked.Increment(ref n)}" };
            var records = CaptureRecordsOf(episode);
            var half = records.Count / 2;
            await store.AppendAsync(records[..half], Ct);
            await store.AppendAsync(records[half..], Ct);

            AssertSameEpisode(episode, await store.GetEpisodeAsync(episode.Id, Ct));
        }, seed: PropertySeed, iter: PropertyIterations, threads: 1);
    }
}
