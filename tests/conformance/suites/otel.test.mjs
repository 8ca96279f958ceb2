// The OpenTelemetry JS SDK with both OTLP/HTTP exporters (protobuf and JSON) and both processors (batch and simple)
// against lore serve's /v1/traces: an agent run whose spans arrive over several exports becomes one episode with
// exactly its steps, in order, with the root span's task, unit, labels and outcome.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { context, trace, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, BatchSpanProcessor, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startLore, waitFor } from '../harness.mjs';

let lore;
before(async () => { lore = await startLore(); });
after(async () => { await lore?.stop(); });

const pause = (ms) => new Promise((r) => setTimeout(r, ms));
const user = { role: 'user', parts: [{ type: 'text', content: 'Refund order 1142, it arrived damaged.' }] };
const call = (id, name) => ({ role: 'assistant', parts: [{ type: 'tool_call', id, name, arguments: { order_id: '1142' } }] });
const result = (id, response) => ({ role: 'tool', parts: [{ type: 'tool_call_response', id, response }] });

/** One agent run: a plain root span (Lore's attributes and the outcome only) and five GenAI steps, spread over time. */
async function runAgent(provider, label, spacingMs) {
  const tracer = provider.getTracer('lore-conformance-agent');
  const root = tracer.startSpan('handle ticket');
  root.setAttributes({ 'lore.task': `refund a damaged order (${label})`, 'lore.unit': 'customer-7', 'lore.label.slice': 'refunds', 'lore.label.exporter': label });
  const parent = trace.setSpan(context.active(), root);
  const chat = async (input, output) => {
    const span = tracer.startSpan('chat gpt-4o', {
      attributes: {
        'gen_ai.operation.name': 'chat',
        'gen_ai.request.model': 'gpt-4o',
        'gen_ai.usage.input_tokens': 100,
        'gen_ai.usage.output_tokens': 10,
        'gen_ai.input.messages': JSON.stringify(input),
        'gen_ai.output.messages': JSON.stringify(output),
      },
    }, parent);
    await pause(spacingMs);
    span.end();
  };
  const tool = async (name, response, failed = false) => {
    // Without gen_ai.tool.call.id, as many instrumentations send it: the step must still be recorded once.
    const span = tracer.startSpan(`execute_tool ${name}`, {
      attributes: { 'gen_ai.operation.name': 'execute_tool', 'gen_ai.tool.name': name, 'gen_ai.tool.call.arguments': '{"order_id":"1142"}', 'gen_ai.tool.call.result': response },
    }, parent);
    if (failed) span.setStatus({ code: SpanStatusCode.ERROR, message: response });
    await pause(spacingMs);
    span.end();
  };

  await chat([user], [call('c1', 'issue_refund')]);
  await tool('issue_refund', 'Error: look the order up first', true);
  await chat([user, call('c1', 'issue_refund'), result('c1', 'Error: look the order up first')], [call('c2', 'lookup_order')]);
  await tool('lookup_order', '{"status":"delivered","damaged":true}');
  await chat([user, call('c1', 'issue_refund'), result('c1', 'Error: look the order up first'), call('c2', 'lookup_order'), result('c2', '{"status":"delivered","damaged":true}')],
    [{ role: 'assistant', parts: [{ type: 'text', content: 'Refunded.' }] }]);
  root.setAttribute('lore.outcome.score', 1);
  await pause(spacingMs);
  root.end();
  return root.spanContext().traceId;
}

const cases = [
  { label: 'proto-batch', processor: (e) => new BatchSpanProcessor(e, { scheduledDelayMillis: 100, maxExportBatchSize: 2 }) },
  { label: 'json-batch', processor: (e) => new BatchSpanProcessor(e, { scheduledDelayMillis: 100 }) },
  { label: 'proto-simple', processor: (e) => new SimpleSpanProcessor(e) },
  { label: 'json-simple', processor: (e) => new SimpleSpanProcessor(e) },
];

for (const c of cases) {
  test(`${c.label}: a run split across exports is one episode with exactly its steps, task, unit, labels and outcome`, async () => {
    const options = { url: `${lore.baseUrl}/v1/traces`, headers: { Authorization: `Bearer ${lore.agentKey}` } };
    const exporter = c.label.startsWith('proto') ? new ProtoExporter(options) : new JsonExporter(options);
    let exports = 0;
    const inner = exporter.export.bind(exporter);
    exporter.export = (spans, done) => { exports++; inner(spans, done); };
    const provider = new BasicTracerProvider({
      resource: resourceFromAttributes({ 'service.name': 'refund-bot' }),
      spanProcessors: [c.processor(exporter)],
    });

    const traceId = await runAgent(provider, c.label, 150);
    await provider.forceFlush();
    await provider.shutdown();
    assert.ok(exports >= 3, `the run should have been split across exports, it took ${exports}`);

    const episode = await waitFor(`episode otlp-${traceId}`, async () => {
      const r = await lore.api('GET', `/api/episodes/otlp-${traceId}`);
      return r.status === 200 && r.json.endedAt ? r.json : undefined;
    });
    assert.deepEqual(
      episode.steps.map((s) => (s.kind === 'modelCall' ? 'model' : `tool:${s.toolName}:${s.toolFailed ? 'failed' : 'ok'}`)),
      ['model', 'tool:issue_refund:failed', 'model', 'tool:lookup_order:ok', 'model'],
    );
    assert.deepEqual(episode.steps.map((s) => s.index), [0, 1, 2, 3, 4]);
    assert.equal(episode.task, `refund a damaged order (${c.label})`);
    assert.equal(episode.unitKey, 'customer-7');
    assert.equal(episode.labels.slice, 'refunds');
    assert.equal(episode.labels.service, 'refund-bot');
    assert.equal(episode.outcomes.length, 1);
    assert.equal(episode.outcomes[0].score, 1);
  });
}
