// The official MCP TypeScript SDK against Lore's MCP server, over Streamable HTTP (lore serve, /mcp) and stdio
// (lore mcp): tools, resources, and argument errors that name the argument.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { loreCommand, startLore } from '../harness.mjs';

let lore;
let stdioDir;
const clients = {};
before(async () => {
  lore = await startLore();
  const http = new Client({ name: 'lore-conformance', version: '1.0.0' });
  await http.connect(new StreamableHTTPClientTransport(new URL(`${lore.baseUrl}/mcp`), {
    requestInit: { headers: { Authorization: `Bearer ${lore.agentKey}` } },
  }));
  clients.http = http;

  stdioDir = mkdtempSync(join(tmpdir(), 'lore-mcp-stdio-'));
  const { command, args } = loreCommand(['mcp', '--store', join(stdioDir, 'lore.db'), '--tenant', 'acme']);
  const stdio = new Client({ name: 'lore-conformance', version: '1.0.0' });
  await stdio.connect(new StdioClientTransport({ command, args, stderr: 'ignore' }));
  clients.stdio = stdio;
});
after(async () => {
  await clients.http?.close();
  await clients.stdio?.close();
  await lore?.stop();
  if (stdioDir) rmSync(stdioDir, { recursive: true, force: true });
});

const text = (result) => result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');

for (const transport of ['http', 'stdio']) {
  test(`${transport}: lists the tools and resources`, async () => {
    const tools = (await clients[transport].listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(tools, ['get_guidelines', 'list_lessons', 'record_outcome', 'record_trajectory']);
    const resources = await clients[transport].listResources();
    assert.ok(resources.resources.some((r) => r.uri === 'lore://snapshots'));
    const templates = await clients[transport].listResourceTemplates();
    assert.ok(templates.resourceTemplates.some((t) => t.uriTemplate === 'lore://lessons/{id}'));
    const snapshots = await clients[transport].readResource({ uri: 'lore://snapshots' });
    assert.equal(snapshots.contents[0].mimeType, 'application/json');
  });

  test(`${transport}: get_guidelines, record_trajectory and record_outcome record one judged episode`, async () => {
    const client = clients[transport];
    const guidelines = await client.callTool({ name: 'get_guidelines', arguments: { task: 'refund order 1142', unit: 'customer-7', tools: ['lookup_order'] } });
    assert.equal(guidelines.isError ?? false, false, text(guidelines));
    const episodeId = guidelines.structuredContent.episode_id;
    assert.match(episodeId, /^[A-Za-z0-9]/);
    const recorded = await client.callTool({
      name: 'record_trajectory',
      arguments: {
        task: 'refund order 1142',
        unit: 'customer-7',
        episode_id: episodeId,
        messages: [
          { role: 'user', content: 'refund order 1142' },
          { role: 'assistant', tool_calls: [{ id: 'c1', type: 'function', function: { name: 'lookup_order', arguments: '{"order_id":"1142"}' } }] },
          { role: 'tool', tool_call_id: 'c1', content: 'delivered' },
          { role: 'assistant', content: 'Refunded.' },
        ],
      },
    });
    assert.equal(recorded.isError ?? false, false, text(recorded));
    const judged = await client.callTool({ name: 'record_outcome', arguments: { episode_id: episodeId, success: true } });
    assert.equal(judged.isError ?? false, false, text(judged));
  });

  test(`${transport}: argument errors are tool errors naming the argument`, async () => {
    const client = clients[transport];
    const missing = await client.callTool({ name: 'get_guidelines', arguments: {} });
    assert.equal(missing.isError, true);
    assert.match(text(missing), /'task' is required/);

    const wrongType = await client.callTool({ name: 'get_guidelines', arguments: { task: 'refund', tools: 'lookup_order' } });
    assert.equal(wrongType.isError, true);
    assert.match(text(wrongType), /'tools' must be an array/);

    const unknown = await client.callTool({ name: 'get_guidelines', arguments: { task: 'refund', colour: 'blue' } });
    assert.equal(unknown.isError, true);
    assert.match(text(unknown), /'colour' is not one this tool takes/);

    const badId = await client.callTool({ name: 'record_outcome', arguments: { episode_id: '../../x', success: true } });
    assert.equal(badId.isError, true);
    assert.match(text(badId), /not an episode id/);
  });
}
