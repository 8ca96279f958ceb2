using Microsoft.Extensions.Logging;

namespace Lore.Learning;

/// <summary>
/// One pass of learning: read a window of ended episodes, run the extractors, consolidate the candidates with the
/// lessons already served, and write a new snapshot (never mutating the old one). The run's report is stored so
/// every snapshot can answer "why".
/// </summary>
public sealed class LearningPipeline
{
    public LearningPipeline(ILoreStore store, LearningOptions? options = null, TimeProvider? timeProvider = null, ILogger? logger = null)
    {
        throw new NotImplementedException();
    }

    /// <summary>Runs one pass for a tenant; <paramref name="actor"/> is recorded as the snapshot's creator.</summary>
    public Task<LearningRun> RunAsync(string tenant, string actor, IProgress<string>? progress = null, CancellationToken cancellationToken = default)
        => throw new NotImplementedException();
}
