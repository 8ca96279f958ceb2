using System.Text.Json;
using Xunit;

namespace Lore.StoreContract;

/// <summary>
/// The behaviour every <see cref="ILoreStore"/> engine must have, as xunit tests. An engine's test project derives
/// from this class, says how to create an empty store and how to reopen one on the same data, and inherits every
/// test. Nothing here knows which engine it runs on: exceptions, orderings and isolation are the interface's
/// promises, not one engine's habits.
/// </summary>
/// <remarks>
/// Exceptions the contract fixes: an unknown episode id in <see cref="ILoreStore.AppendAsync"/> or
/// <see cref="ILoreStore.AddOutcomeAsync"/> throws <see cref="KeyNotFoundException"/>; an episode id stored twice
/// throws <see cref="InvalidOperationException"/>; a snapshot whose content does not match its id throws
/// <see cref="ArgumentException"/>; an unknown or foreign snapshot made active (or named by a rollout) throws
/// <see cref="KeyNotFoundException"/>; a rollout saved against a stale version throws <see cref="StoreConflictException"/>;
/// an inconsistent rollout or an invalid audit draft throws <see cref="ArgumentException"/>.
/// Each message names the offending id (or tenant and versions, or field).
/// </remarks>
public abstract partial class LoreStoreContract : IAsyncDisposable
{
    private readonly List<ILoreStore> _stores = [];

    /// <summary>A new, empty store.</summary>
    protected abstract Task<ILoreStore> CreateStoreAsync();

    /// <summary>Disposes <paramref name="store"/> and opens a new instance on the same data, as a restarted process would.</summary>
    protected abstract Task<ILoreStore> ReopenAsync(ILoreStore store);

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new empty store, disposed after the test.</summary>
    protected async Task<ILoreStore> NewStoreAsync()
    {
        var store = await CreateStoreAsync();
        _stores.Add(store);
        return store;
    }

    /// <summary>The same data through a fresh instance, disposed after the test.</summary>
    protected async Task<ILoreStore> ReopenTrackedAsync(ILoreStore store)
    {
        _stores.Remove(store);
        var reopened = await ReopenAsync(store);
        _stores.Add(reopened);
        return reopened;
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var store in _stores)
        {
            await store.DisposeAsync();
        }

        _stores.Clear();
        await DisposeEngineAsync();
        GC.SuppressFinalize(this);
    }

    /// <summary>Releases what the engine's fixture holds (temp files, databases) after the stores are disposed.</summary>
    protected virtual ValueTask DisposeEngineAsync() => ValueTask.CompletedTask;

    /// <summary>The record as LoreJson writes it, with the store-assigned sequence cleared: two episodes are the same when these agree.</summary>
    protected static string Canonical(Episode episode) => JsonSerializer.Serialize(episode with { Sequence = 0 }, LoreJson.Options);

    protected static string Canonical<T>(T value) => JsonSerializer.Serialize(value, LoreJson.Options);

    protected static void AssertSameEpisode(Episode expected, Episode? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(Canonical(expected), Canonical(actual));
        Assert.True(actual.Sequence > 0, $"Episode '{actual.Id}' was read back without its store sequence.");
    }

    protected static async Task<List<Episode>> ReadAllAsync(ILoreStore store, EpisodeQuery query)
    {
        var episodes = new List<Episode>();
        await foreach (var episode in store.ReadEpisodesAsync(query, Ct))
        {
            episodes.Add(episode);
        }

        return episodes;
    }

    protected static async Task ImportAsync(ILoreStore store, params Episode[] episodes)
    {
        await using var import = await store.BeginImportAsync(Ct);
        foreach (var episode in episodes)
        {
            await import.AddAsync(episode, Ct);
        }

        Assert.Equal(episodes.Length, await import.CommitAsync(Ct));
    }

    /// <summary>The capture records that build <paramref name="episode"/>: a header, each step, each outcome, and the end when it has ended.</summary>
    protected static List<CaptureRecord> CaptureRecordsOf(Episode episode)
    {
        var ended = episode.EndedAt is not null;
        var records = new List<CaptureRecord>
        {
            new EpisodeStarted(episode with { Steps = [], Outcomes = [], EndedAt = null, InjectedLessonIds = ended ? [] : episode.InjectedLessonIds }),
        };
        records.AddRange(episode.Steps.Select(s => new StepRecorded(episode.Id, s)));
        records.AddRange(episode.Outcomes.Select(o => new OutcomeRecorded(episode.Id, o)));
        if (ended)
        {
            records.Add(new EpisodeEnded(episode.Id, episode.EndedAt!.Value, episode.InjectedLessonIds));
        }

        return records;
    }

    protected static readonly DateTimeOffset T0 = new(2026, 3, 1, 9, 0, 0, TimeSpan.FromHours(2));
}
