using Lore.Learning;
using Microsoft.Extensions.AI;

namespace Lore;

/// <summary>What a full capture buffer does: the model call waits for room, or the record is dropped and counted.</summary>
public enum CaptureOverflowPolicy
{
    /// <summary>The caller waits for room (back-pressure; nothing is lost).</summary>
    Wait,

    /// <summary>The record is dropped and counted in <see cref="CaptureStatistics.Dropped"/> (the model call never waits).</summary>
    DropAndCount,
}

/// <summary>How capture buffers writes between the model call and the store.</summary>
public sealed class CaptureOptions
{
    /// <summary>Records the buffer holds before the overflow policy applies.</summary>
    public int Capacity { get; set; } = 10_000;

    public CaptureOverflowPolicy OverflowPolicy { get; set; } = CaptureOverflowPolicy.Wait;

    /// <summary>Most records written in one store transaction.</summary>
    public int MaxBatchSize { get; set; } = 512;
}

/// <summary>Counts of what capture did, so loss is never silent.</summary>
public sealed record CaptureStatistics(long Enqueued, long Written, long Dropped, long Failed);

/// <summary>Configures a <see cref="LoreRuntime"/>: the store, the tenant, capture, retrieval and learning.</summary>
public sealed class LoreOptions
{
    /// <summary>Where learned state and episodes live (for example <c>SqliteLoreStore.Open("lore.db")</c>).</summary>
    public ILoreStore? Store { get; set; }

    /// <summary>The tenant this runtime serves and records for.</summary>
    public string Tenant { get; set; } = Tenants.Default;

    public CaptureOptions Capture { get; } = new();

    /// <summary>Embeddings for the vector half of retrieval; the built-in hashed n-gram embedding when null.</summary>
    public IEmbeddingGenerator<string, Embedding<float>>? EmbeddingGenerator { get; set; }

    public LearningOptions Learning { get; } = new();

    /// <summary>Run learning in the background after this many new ended episodes (0 turns the background worker off).</summary>
    public int LearnEveryEpisodes { get; set; }

    public TimeProvider TimeProvider { get; set; } = TimeProvider.System;
}
