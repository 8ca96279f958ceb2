// Starts a real `lore serve` (or `lore mcp`) for the conformance suites: a fresh SQLite store in a temp directory,
// 127.0.0.1 on a free port, the simulated upstream; reads the first admin key it prints, waits for /healthz.
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** The command that runs the lore CLI: LORE_CLI (a built lore.dll or an executable), else `dotnet run`. */
export function loreCommand(args) {
  const cli = process.env.LORE_CLI;
  if (!cli) {
    throw new Error('set LORE_CLI to the built CLI (for example src/Lore.Cli/bin/Debug/net10.0/Lore.Cli.dll); .ci/run does this');
  }
  return cli.endsWith('.dll') ? { command: 'dotnet', args: [cli, ...args] } : { command: cli, args };
}

export async function freePort() {
  return await new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address();
      server.close(() => resolve(port));
    });
  });
}

/** Polls `probe` until it returns a value other than undefined, or fails after `timeoutMs` with `what`. */
export async function waitFor(what, probe, timeoutMs = 60_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Starts `lore serve --upstream simulated` and returns { baseUrl, adminKey, agentKey, store, api(), stop() }. */
export async function startLore(extraArgs = []) {
  const dir = mkdtempSync(join(tmpdir(), 'lore-conformance-'));
  const store = join(dir, 'lore.db');
  const port = await freePort();
  const baseUrl = `http://127.0.0.1:${port}`;
  const { command, args } = loreCommand(['serve', '--store', store, '--urls', baseUrl, '--upstream', 'simulated', '--tenant', 'acme', ...extraArgs]);
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DOTNET_NOLOGO: '1' } });
  let output = '';
  child.stdout.on('data', (d) => { output += d; });
  child.stderr.on('data', (d) => { output += d; });
  const exited = new Promise((resolve) => child.on('exit', resolve));

  const adminKey = await waitFor('the admin key lore serve prints', async () => {
    if (child.exitCode !== null) throw new Error(`lore serve exited with ${child.exitCode}:\n${output}`);
    return output.match(/^(lore_[A-Za-z0-9]+_[A-Za-z0-9_-]+)\s*$/m)?.[1];
  });
  await waitFor(`${baseUrl}/healthz`, async () => ((await fetch(`${baseUrl}/healthz`)).ok ? true : undefined));

  const api = async (method, path, body, key = adminKey) => {
    const response = await fetch(baseUrl + path, {
      method,
      headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await response.text();
    return { status: response.status, json: text ? JSON.parse(text) : null };
  };
  const created = await api('POST', '/api/keys', { name: 'conformance agent', role: 'agent' });
  if (created.status !== 201 && created.status !== 200) throw new Error(`could not create an agent key: ${JSON.stringify(created)}`);
  const agentKey = created.json.secret;

  return {
    baseUrl,
    adminKey,
    agentKey,
    store,
    api,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
