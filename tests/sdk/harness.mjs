// What the SDK tests share: free loopback ports, starting the gateway and mock_upstream from
// LP_BIN_DIR, and stopping them all afterwards.
import { spawn } from 'node:child_process';
import { createServer, connect } from 'node:net';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

export const BIN = process.env.LP_BIN_DIR ?? path.resolve(import.meta.dirname ?? '.', '../../build');
const procs = [];

export function freePort() {
  return new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => resolve(port)); });
  });
}

export async function waitPort(port) {
  const deadline = Date.now() + 10000;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = connect(port, '127.0.0.1', () => { c.end(); resolve(true); });
      c.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 30));
  }
  throw new Error(`port ${port} did not open`);
}

export function start(bin, args) {
  const p = spawn(path.join(BIN, bin), args, { stdio: ['ignore', 'ignore', 'inherit'] });
  procs.push(p);
  return p;
}

export function stopAll() {
  for (const p of procs) p.kill('SIGTERM');
}

export const workdir = () => mkdtempSync(path.join(tmpdir(), 'llm-proxy-sdk-'));

/// A mock_upstream on a free port.
export async function mock(name) {
  const port = await freePort();
  start('mock_upstream', ['--listen', `127.0.0.1:${port}`, '--name', name]);
  await waitPort(port);
  return port;
}

/// A gateway with `yaml` as its config, on a free port (taken after the mocks hold theirs).
export async function gateway(yaml, dir = workdir()) {
  const config = path.join(dir, `config-${Date.now()}-${Math.random()}.yaml`);
  writeFileSync(config, yaml);
  const port = await freePort();
  start('llm-proxy', ['--config', config, '--listen', `127.0.0.1:${port}`, '--workers', '1']);
  await waitPort(port);
  return port;
}
