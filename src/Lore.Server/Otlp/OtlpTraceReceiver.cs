using System.Globalization;
using Lore.Server.Hosting;
using Lore.Server.Security;

namespace Lore.Server.Otlp;

/// <summary>What an export achieved, for the OTLP response's partial success.</summary>
internal sealed record OtlpExportResult(int Episodes, int Steps, long RejectedSpans, string? Message);

/// <summary>
/// Writes the episodes of an export to the store of the caller's tenant, all in one append (an export is recorded
/// whole or not at all). Spans of a trace already recorded extend its episode (later batches of a long trace); a trace
/// id another tenant recorded stays that tenant's (episode ids are unique per tenant). Exporters retry a failed export with the same spans, so spans seen
/// recently (in this process) are not recorded twice.
/// </summary>
internal sealed class OtlpTraceReceiver(TenantRuntimes runtimes, LoreServerOptions options)
{
    private const int RecentSpanCapacity = 200_000;

    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly HashSet<string> _recentSpans = new(StringComparer.Ordinal);
    private readonly Queue<string> _recentOrder = new();

    /// <summary>The largest body accepted after gzip decoding: eight times the request limit.</summary>
    public long MaxDecodedBytes => options.MaxRequestBytes * 8;

    /// <summary>Records the export for the caller's tenant; each new episode's evidence source comes from the caller's key.</summary>
    public async Task<OtlpExportResult> AcceptAsync(Caller caller, IReadOnlyList<OtlpSpan> spans, CancellationToken cancellationToken)
    {
        var store = runtimes.Store;
        var tenant = caller.Tenant;

        // One writer at a time: two exports of the same trace must not both start its episode.
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var fresh = spans.Where(s => !_recentSpans.Contains(Key(s))).ToList();
            var mapped = GenAiTraceMapper.Map(fresh, tenant);
            var rejected = (long)mapped.RejectedSpans;
            var problems = new List<string>(mapped.Problems);
            var records = new List<CaptureRecord>();
            var accepted = new List<OtlpSpan>();
            var steps = 0;
            foreach (var trace in mapped.Episodes)
            {
                // Episode ids are unique per tenant: another tenant's trace with the same id is no concern of this one.
                var existing = await store.GetEpisodeAsync(tenant, trace.EpisodeId, cancellationToken).ConfigureAwait(false);
                var first = existing?.Steps.Count ?? 0;
                if (existing is null)
                {
                    // The unit is what the spans name (user.id, session.id...); the key decides whether it counts as a source.
                    records.Add(new EpisodeStarted(trace.Header with { Source = caller.SourceFor(trace.Header.UnitKey) }));
                }

                foreach (var step in trace.Steps)
                {
                    records.Add(new StepRecorded(trace.EpisodeId, step with { Index = first + step.Index }) { Tenant = tenant });
                }

                if (trace.Outcome is { } outcome)
                {
                    records.Add(new OutcomeRecorded(trace.EpisodeId, outcome) { Tenant = tenant });
                }

                if (trace.EndedAt is { } ended && existing?.EndedAt is null)
                {
                    records.Add(new EpisodeEnded(trace.EpisodeId, ended, []) { Tenant = tenant });
                }

                steps += trace.Steps.Count;
                accepted.AddRange(trace.Spans);
            }

            if (records.Count > 0)
            {
                await store.AppendAsync(records, cancellationToken).ConfigureAwait(false);
            }

            foreach (var span in accepted)
            {
                Remember(Key(span));
            }

            if (mapped.IgnoredSpans > 0)
            {
                problems.Add(string.Create(CultureInfo.InvariantCulture, $"{mapped.IgnoredSpans} span(s) in traces with no GenAI or OpenInference spans were ignored"));
            }

            var message = problems.Count == 0 ? null : string.Join("; ", problems.Take(10));
            return new OtlpExportResult(mapped.Episodes.Count, steps, rejected, message);
        }
        finally
        {
            _writing.Release();
        }
    }

    private void Remember(string key)
    {
        if (!_recentSpans.Add(key))
        {
            return;
        }

        _recentOrder.Enqueue(key);
        if (_recentOrder.Count > RecentSpanCapacity)
        {
            _recentSpans.Remove(_recentOrder.Dequeue());
        }
    }

    private static string Key(OtlpSpan span) => span.TraceId + ":" + span.SpanId;
}
