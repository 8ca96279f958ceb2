using Lore.Capture;

namespace Lore.Hosting;

/// <summary>
/// Turns model calls observed after the fact (OpenTelemetry GenAI spans, gateway logs) into an episode's steps by the
/// rule in-process capture uses: agents re-send the whole conversation on every call, so only messages not seen yet
/// become steps, and each tool call is recorded once, from wherever its result shows up. One instance per episode;
/// not thread-safe.
/// </summary>
public sealed class ChatTranscript
{
    private readonly EpisodeTranscript _transcript = new();

    /// <summary>The steps one model call adds, in order (indexes continue the episode's); the call's own step carries its timing, model, usage and error.</summary>
    public IReadOnlyList<Step> Record(ModelCallObservation call, DateTimeOffset startedAt, TimeSpan latency)
    {
        ArgumentNullException.ThrowIfNull(call);
        return _transcript.Record(call.Request, call.Response, new ModelCallFacts(startedAt, latency, call.Model, call.Usage, [], [])
        {
            Error = call.Error,
            OfferedTools = call.OfferedTools,
        });
    }
}
