using System.Globalization;
using Lore.Server.Hosting;
using Lore.Server.Security;
using Microsoft.Extensions.Logging;

namespace Lore.Server.Otlp;

/// <summary>What an export achieved, for the OTLP response's partial success.</summary>
internal sealed record OtlpExportResult(int Episodes, int Steps, long RejectedSpans, string? Message);

/// <summary>
/// Assembles traces from exports and writes each as one episode of the caller's tenant. Exporters split a trace
/// across exports (the simple processor sends each span as it ends; the batch processor every few seconds), and a
/// chat span's message history repeats steps earlier spans recorded, so a trace is not written export by export: its
/// spans are held (by trace, deduplicated by span id, so a retried export counts once) until the trace is settled,
/// then mapped whole (steps from spans, in start order; task, unit, labels and outcome from the root span whichever
/// export brought it) and written in one append. A trace settles once its root span has arrived and no span of it has
/// arrived for <see cref="LoreServerOptions.OtlpSettleDelay"/>, or, root or not, once it has been quiet for
/// <see cref="LoreServerOptions.OtlpTraceQuietPeriod"/>; spans that arrive after that extend the stored episode.
/// A trace recorded under another tenant is refused.
/// </summary>
/// <remarks>
/// Acknowledgement: a 200 from <c>/v1/traces</c> means the spans were parsed, checked and accepted into the trace's
/// assembly in memory; they reach the store when the trace settles (at the latest when the server stops cleanly). A
/// crash before that loses them, as it would lose spans still in the exporter's own queue.
/// </remarks>
internal sealed partial class OtlpTraceReceiver : IAsyncDisposable
{
    private const int RecentSpanCapacity = 200_000;

    private readonly TenantRuntimes _runtimes;
    private readonly LoreServerOptions _options;
    private readonly ILogger<OtlpTraceReceiver> _logger;
    private readonly SemaphoreSlim _writing = new(1, 1);
    private readonly Dictionary<string, PendingTrace> _pending = new(StringComparer.Ordinal);
    private readonly Dictionary<string, SettledTrace> _settled = new(StringComparer.Ordinal);
    private readonly Queue<string> _settledOrder = new();
    private readonly ITimer? _sweeper;
    private int _pendingSpans;
    private int _disposed;

    public OtlpTraceReceiver(TenantRuntimes runtimes, LoreServerOptions options, ILogger<OtlpTraceReceiver> logger)
    {
        _runtimes = runtimes;
        _options = options;
        _logger = logger;
        var every = TimeSpan.FromMilliseconds(Math.Clamp(Math.Min(options.OtlpSettleDelay.TotalMilliseconds, options.OtlpTraceQuietPeriod.TotalMilliseconds) / 2, 100, 1_000));
        _sweeper = options.OtlpSettleDelay > TimeSpan.Zero || options.OtlpTraceQuietPeriod > TimeSpan.Zero
            ? options.TimeProvider.CreateTimer(_ => _ = SweepAsync(), null, every, every)
            : null;
    }

    /// <summary>The largest body accepted after gzip decoding: eight times the request limit.</summary>
    public long MaxDecodedBytes => _options.MaxRequestBytes * 8;

    /// <summary>Traces being assembled now (not yet written).</summary>
    public int PendingTraces
    {
        get
        {
            lock (_pending)
            {
                return _pending.Count;
            }
        }
    }

    public async Task<OtlpExportResult> AcceptAsync(Caller caller, IReadOnlyList<OtlpSpan> spans, CancellationToken cancellationToken)
    {
        var tenant = caller.Tenant;
        // One writer at a time: two exports of the same trace must not both start its episode.
        await _writing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var problems = new List<string>();
            long rejected = 0;
            var accepted = 0;
            var due = new List<PendingTrace>();
            var now = _options.TimeProvider.GetTimestamp();
            foreach (var trace in spans.GroupBy(s => s.TraceId, StringComparer.Ordinal))
            {
                var traceSpans = trace.ToList();
                if (trace.Key.Length == 0 || traceSpans.Any(s => s.SpanId.Length == 0))
                {
                    rejected += traceSpans.Count;
                    problems.Add(trace.Key.Length == 0 ? "spans without a trace id were rejected" : $"trace {trace.Key}: spans without a span id were rejected");
                    continue;
                }

                // An outcome that cannot be read is refused now, while the exporter can still hear about it.
                if (GenAiTraceMapper.OutcomeProblem(traceSpans) is { } outcomeProblem)
                {
                    rejected += traceSpans.Count;
                    problems.Add($"trace {trace.Key}: {outcomeProblem}");
                    continue;
                }

                PendingTrace pending;
                lock (_pending)
                {
                    // Traces are held per tenant: episode ids are unique per tenant, so two tenants' traces with one id are two.
                    if (!_pending.TryGetValue(Key(tenant, trace.Key), out pending!))
                    {
                        _pending[Key(tenant, trace.Key)] = pending = new PendingTrace(trace.Key, caller, now);
                    }
                }

                foreach (var span in traceSpans)
                {
                    if (IsSettledSpan(Key(tenant, trace.Key), span.SpanId) || !pending.Spans.TryAdd(span.SpanId, span))
                    {
                        continue; // a retried export, or a span already written
                    }

                    accepted++;
                    _pendingSpans++;
                    pending.LastSeen = now;
                    pending.RootArrived |= GenAiTraceMapper.IsRoot(span);
                }

                if (pending.RootArrived && _options.OtlpSettleDelay <= TimeSpan.Zero)
                {
                    due.Add(pending);
                }
            }

            // Bounded memory: past the cap the oldest traces are written as they stand.
            if (_pendingSpans > _options.OtlpMaxPendingSpans)
            {
                lock (_pending)
                {
                    foreach (var oldest in _pending.Values.OrderBy(p => p.LastSeen).TakeWhile(_ => _pendingSpans - due.Sum(d => d.Spans.Count) > _options.OtlpMaxPendingSpans / 2))
                    {
                        if (!due.Contains(oldest))
                        {
                            due.Add(oldest);
                        }
                    }
                }
            }

            var written = await SettleAsync(due, cancellationToken).ConfigureAwait(false);
            problems.AddRange(written.Problems);
            rejected += written.Rejected;
            var message = problems.Count == 0 ? null : string.Join("; ", problems.Take(10));
            return new OtlpExportResult(written.Episodes, written.Steps, rejected, message);
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes every trace that is due: root arrived and quiet for the settle delay, or quiet for the quiet period.</summary>
    public async Task<int> SweepAsync(bool all = false)
    {
        if (Volatile.Read(ref _disposed) != 0 && !all)
        {
            return 0;
        }

        try
        {
            await _writing.WaitAsync().ConfigureAwait(false);
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }

        try
        {
            List<PendingTrace> due;
            lock (_pending)
            {
                due = [.. _pending.Values.Where(p => all || IsDue(p))];
            }

            return (await SettleAsync(due, CancellationToken.None).ConfigureAwait(false)).Episodes;
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogSettleFailed(_logger, e);
            return 0;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>Writes every trace still being assembled (the server is stopping).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        if (_sweeper is not null)
        {
            await _sweeper.DisposeAsync().ConfigureAwait(false);
        }

        await SweepAsync(all: true).ConfigureAwait(false);
    }

    private bool IsDue(PendingTrace trace)
    {
        var quiet = _options.TimeProvider.GetElapsedTime(trace.LastSeen);
        return (trace.RootArrived && quiet >= _options.OtlpSettleDelay) || quiet >= _options.OtlpTraceQuietPeriod;
    }


    private bool IsSettledSpan(string traceId, string spanId)
    {
        lock (_pending)
        {
            return _settled.TryGetValue(traceId, out var settled) && settled.Spans.ContainsKey(spanId);
        }
    }

    /// <summary>Maps each trace from all its spans (those already written included) and appends what is new, in one write.</summary>
    private async Task<(int Episodes, int Steps, long Rejected, List<string> Problems)> SettleAsync(List<PendingTrace> traces, CancellationToken cancellationToken)
    {
        var problems = new List<string>();
        if (traces.Count == 0)
        {
            return (0, 0, 0, problems);
        }

        var store = _runtimes.Store;
        var records = new List<CaptureRecord>();
        var episodes = 0;
        var steps = 0;
        long rejected = 0;
        var ignored = 0;
        var done = new List<(PendingTrace Trace, SettledTrace Settled)>();
        foreach (var trace in traces)
        {
            SettledTrace? before;
            lock (_pending)
            {
                _settled.TryGetValue(Key(trace.Tenant, trace.TraceId), out before);
            }

            var allSpans = before is null ? trace.Spans.Values.ToList() : [.. before.Spans.Values, .. trace.Spans.Values];
            var mapped = GenAiTraceMapper.Map(allSpans, trace.Tenant);
            if (mapped.Episodes.Count == 0)
            {
                // No GenAI or OpenInference span (yet): nothing to learn from; a later span may still make it an episode.
                if (mapped.RejectedSpans > 0)
                {
                    rejected += trace.Spans.Count;
                    problems.AddRange(mapped.Problems);
                }

                ignored += mapped.IgnoredSpans;
                done.Add((trace, before ?? new SettledTrace(trace.Tenant, [], [], null, false)));
                continue;
            }

            var episode = mapped.Episodes[0];
            var existing = before is { Stored: true } ? null : await store.GetEpisodeAsync(trace.Tenant, episode.EpisodeId, cancellationToken).ConfigureAwait(false);

            var stored = before?.Steps ?? existing?.Steps ?? [];
            var fresh = NewSteps(episode.Steps, stored);
            var first = before is { Stored: true } ? before.StepCount : existing?.Steps.Count ?? 0;
            if (before is not { Stored: true } && existing is null)
            {
                // The unit is what the spans name (user.id, session.id...); the key decides whether it counts as a source.
                records.Add(new EpisodeStarted(episode.Header with { Source = trace.Caller.SourceFor(episode.Header.UnitKey) }));
            }

            for (var i = 0; i < fresh.Count; i++)
            {
                records.Add(new StepRecorded(episode.EpisodeId, fresh[i] with { Index = first + i }) { Tenant = trace.Tenant });
            }

            var hadOutcome = before?.Outcome ?? (existing?.Outcomes.Count > 0 ? existing.Outcomes[^1] : null);
            if (episode.Outcome is { } outcome && !Equals(outcome, hadOutcome))
            {
                records.Add(new OutcomeRecorded(episode.EpisodeId, outcome) { Tenant = trace.Tenant });
            }

            var ended = before?.Ended ?? existing?.EndedAt is not null;
            if (episode.EndedAt is { } endedAt && !ended)
            {
                records.Add(new EpisodeEnded(episode.EpisodeId, endedAt, []) { Tenant = trace.Tenant });
                ended = true;
            }

            episodes++;
            steps += fresh.Count;
            var spans = new Dictionary<string, OtlpSpan>(StringComparer.Ordinal);
            foreach (var span in allSpans)
            {
                spans[span.SpanId] = span;
            }

            done.Add((trace, new SettledTrace(trace.Tenant, spans, episode.Steps, episode.Outcome ?? hadOutcome, ended) { StepCount = first + fresh.Count, Stored = true }));
        }
        if (records.Count > 0)
        {
            await store.AppendAsync(records, cancellationToken).ConfigureAwait(false);
        }

        if (ignored > 0)
        {
            problems.Add(string.Create(CultureInfo.InvariantCulture, $"{ignored} span(s) in traces with no GenAI or OpenInference spans were ignored"));
        }

        lock (_pending)
        {
            foreach (var (trace, settled) in done)
            {
                _pending.Remove(Key(trace.Tenant, trace.TraceId));
                _pendingSpans -= trace.Spans.Count;
                if (!_settled.ContainsKey(Key(trace.Tenant, trace.TraceId)))
                {
                    _settledOrder.Enqueue(Key(trace.Tenant, trace.TraceId));
                }

                _settled[Key(trace.Tenant, trace.TraceId)] = settled;
            }

            // Settled traces are kept (for late spans and retried exports) up to a bounded number of spans.
            var kept = _settled.Values.Sum(s => s.Spans.Count);
            while (kept > RecentSpanCapacity && _settledOrder.TryDequeue(out var oldest))
            {
                if (_settled.Remove(oldest, out var evicted))
                {
                    kept -= evicted.Spans.Count;
                }
            }
        }

        return (episodes, steps, rejected, problems);
    }

    /// <summary>The steps of <paramref name="mapped"/> not among <paramref name="stored"/> (matched by kind, time, tool call and model), in order.</summary>
    private static List<Step> NewSteps(IReadOnlyList<Step> mapped, IReadOnlyList<Step> stored)
    {
        if (stored.Count == 0)
        {
            return [.. mapped];
        }

        var seen = new Dictionary<(StepKind, DateTimeOffset, string?, string?, string?), int>();
        foreach (var step in stored)
        {
            var key = (step.Kind, step.At, step.ToolName, step.ToolCallId, step.Model);
            seen[key] = seen.GetValueOrDefault(key) + 1;
        }

        var fresh = new List<Step>();
        foreach (var step in mapped)
        {
            var key = (step.Kind, step.At, step.ToolName, step.ToolCallId, step.Model);
            if (seen.TryGetValue(key, out var count) && count > 0)
            {
                seen[key] = count - 1;
            }
            else
            {
                fresh.Add(step);
            }
        }

        return fresh;
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "OTLP traces could not be written to the store; they stay pending and are retried.")]
    private static partial void LogSettleFailed(ILogger logger, Exception exception);

    /// <summary>The key of a trace in memory: its tenant and id.</summary>
    private static string Key(string tenant, string traceId) => tenant + "\u001f" + traceId;

    private sealed class PendingTrace(string traceId, Caller caller, long firstSeen)
    {
        public string TraceId { get; } = traceId;

        public string Tenant { get; } = caller.Tenant;

        /// <summary>The key that sent the trace: it decides whether the trace's unit counts as a source of its own.</summary>
        public Caller Caller { get; } = caller;

        public Dictionary<string, OtlpSpan> Spans { get; } = new(StringComparer.Ordinal);

        public long LastSeen { get; set; } = firstSeen;

        public bool RootArrived { get; set; }
    }

    private sealed record SettledTrace(string Tenant, Dictionary<string, OtlpSpan> Spans, IReadOnlyList<Step> Steps, Outcome? Outcome, bool Ended)
    {
        public int StepCount { get; init; }

        public bool Stored { get; init; }
    }
}
