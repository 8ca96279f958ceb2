// The official `openai` package against lore serve's OpenAI-compatible proxy (simulated upstream): buffered, streamed,
// tools, custom tools, and Lore's own errors in OpenAI's error shape.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { startLore, waitFor } from '../harness.mjs';

let lore;
let client;
before(async () => {
  lore = await startLore();
  client = new OpenAI({ apiKey: lore.agentKey, baseURL: `${lore.baseUrl}/v1`, maxRetries: 0 });
});
after(async () => { await lore?.stop(); });

const ticket = 'Customer C-1042 asks for a refund of $40.00 for order #1142: it arrived damaged.';
const episode = async (id, ready) => waitFor(`episode ${id}`, async () => {
  const r = await lore.api('GET', `/api/episodes/${id}`);
  return r.status === 200 && ready(r.json) ? r.json : undefined;
});

test('a buffered completion is relayed and recorded as a model step of its episode', async () => {
  const { data, response } = await client.chat.completions
    .create({ model: 'lore-simulated-agent', messages: [{ role: 'user', content: ticket }] }, { headers: { 'X-Lore-Episode': 'node-buffered-1', 'X-Lore-End': 'true' } })
    .withResponse();
  assert.equal(data.object, 'chat.completion');
  assert.equal(data.choices[0].message.role, 'assistant');
  assert.equal(response.headers.get('x-lore-episode'), 'node-buffered-1');
  assert.equal(response.headers.get('x-lore-recorded'), 'queued');
  const stored = await episode('node-buffered-1', (e) => e.endedAt && e.steps.length >= 1);
  assert.equal(stored.steps.filter((s) => s.kind === 'modelCall').length, 1);
});

test('a streamed completion arrives chunk by chunk and records the same answer', async () => {
  const stream = await client.chat.completions.create(
    { model: 'lore-simulated-agent', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: ticket }] },
    { headers: { 'X-Lore-Episode': 'node-streamed-1', 'X-Lore-End': 'true' } },
  );
  let chunks = 0;
  let text = '';
  const calls = new Map();
  for await (const chunk of stream) {
    chunks++;
    const delta = chunk.choices[0]?.delta ?? {};
    text += delta.content ?? '';
    for (const call of delta.tool_calls ?? []) {
      const c = calls.get(call.index) ?? { name: '', args: '' };
      c.name += call.function?.name ?? '';
      c.args += call.function?.arguments ?? '';
      calls.set(call.index, c);
    }
  }
  assert.ok(chunks > 1, `expected several chunks, got ${chunks}`);
  assert.ok(text.length > 0 || calls.size > 0);
  const stored = await episode('node-streamed-1', (e) => e.endedAt && e.steps.length >= 1);
  const model = stored.steps.find((s) => s.kind === 'modelCall');
  assert.equal(model.error ?? null, null);
  assert.equal(model.response[0].toolCalls.length, calls.size);
});

test('a tool loop (function tools, results sent back) is one episode with its tool steps', async () => {
  const headers = { 'X-Lore-Episode': 'node-tools-1' };
  const tools = ['lookup_order', 'issue_refund', 'reply_to_customer', 'escalate'].map((name) => ({
    type: 'function', function: { name, parameters: { type: 'object', properties: {}, additionalProperties: true } },
  }));
  const messages = [{ role: 'user', content: ticket }];
  let toolCalls = 0;
  for (let turn = 0; turn < 6; turn++) {
    const completion = await client.chat.completions.create({ model: 'lore-simulated-agent', messages, tools }, { headers });
    const message = completion.choices[0].message;
    messages.push(message);
    if (!message.tool_calls?.length) break;
    for (const call of message.tool_calls) {
      toolCalls++;
      messages.push({ role: 'tool', tool_call_id: call.id, content: JSON.stringify({ ok: true, order_id: '1142', status: 'delivered', total: 40 }) });
    }
  }
  assert.ok(toolCalls > 0, 'the simulated agent asked for no tool');
  await client.chat.completions.create({ model: 'lore-simulated-agent', messages, tools }, { headers: { ...headers, 'X-Lore-End': 'true' } });
  const stored = await episode('node-tools-1', (e) => e.endedAt);
  assert.equal(stored.steps.filter((s) => s.kind === 'toolCall').length, toolCalls);
});

test('custom tools (type "custom") in tools and in history are accepted and recorded', async () => {
  const completion = await client.chat.completions.create(
    {
      model: 'lore-simulated-agent',
      tools: [{ type: 'custom', custom: { name: 'run_sql', description: 'runs a SQL query' } }],
      messages: [
        { role: 'user', content: ticket },
        { role: 'assistant', content: null, tool_calls: [{ id: 'call_sql_1', type: 'custom', custom: { name: 'run_sql', input: "SELECT status FROM orders WHERE id = 1142" } }] },
        { role: 'tool', tool_call_id: 'call_sql_1', content: 'in transit' },
      ],
    },
    { headers: { 'X-Lore-Episode': 'node-custom-1', 'X-Lore-End': 'true' } },
  );
  assert.equal(completion.object, 'chat.completion');
  const stored = await episode('node-custom-1', (e) => e.endedAt);
  const tool = stored.steps.find((s) => s.kind === 'toolCall');
  assert.equal(tool.toolName, 'run_sql');
  assert.equal(tool.toolResult, 'in transit');
  assert.match(tool.toolArguments, /SELECT status FROM orders/);
});

test('Lore\'s own errors reach the SDK in OpenAI\'s error shape, with their message', async () => {
  const stranger = new OpenAI({ apiKey: 'lore_knope_wrongsecret', baseURL: `${lore.baseUrl}/v1`, maxRetries: 0 });
  await assert.rejects(stranger.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }), (e) => {
    assert.ok(e instanceof OpenAI.AuthenticationError, `expected AuthenticationError, got ${e?.constructor?.name}`);
    assert.equal(e.status, 401);
    assert.equal(e.type, 'authentication_error');
    assert.match(e.message, /API key was refused/);
    return true;
  });

  await assert.rejects(
    client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }] }, { headers: { 'X-Lore-Episode': '../../x' } }),
    (e) => {
      assert.ok(e instanceof OpenAI.BadRequestError);
      assert.equal(e.param, 'X-Lore-Episode');
      assert.equal(e.type, 'invalid_request_error');
      assert.match(e.message, /not an episode id/);
      return true;
    },
  );

  await assert.rejects(client.chat.completions.create({ model: 'm', messages: [] }), (e) => {
    assert.ok(e instanceof OpenAI.BadRequestError);
    assert.equal(e.param, 'messages');
    return true;
  });

  // An episode id that has ended cannot be continued: 409 with the header named.
  await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: ticket }] }, { headers: { 'X-Lore-Episode': 'node-ended-1', 'X-Lore-End': 'true', 'X-Lore-Durable': 'true' } });
  await assert.rejects(
    client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: ticket }] }, { headers: { 'X-Lore-Episode': 'node-ended-1' } }),
    (e) => {
      assert.ok(e instanceof OpenAI.ConflictError, `expected ConflictError, got ${e?.constructor?.name}: ${e?.message}`);
      assert.equal(e.param, 'X-Lore-Episode');
      return true;
    },
  );
});

test('a durable call (X-Lore-Durable) is in the store when its answer arrives', async () => {
  const { response } = await client.chat.completions
    .create({ model: 'm', messages: [{ role: 'user', content: ticket }] }, { headers: { 'X-Lore-Episode': 'node-durable-1', 'X-Lore-Durable': 'true' } })
    .withResponse();
  assert.equal(response.headers.get('x-lore-recorded'), 'stored');
  const stored = await lore.api('GET', '/api/episodes/node-durable-1'); // read once, no waiting
  assert.equal(stored.status, 200);
  assert.equal(stored.json.steps.filter((s) => s.kind === 'modelCall').length, 1);
});
