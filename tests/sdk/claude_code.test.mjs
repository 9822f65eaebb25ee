// Claude Code (the CLI, @anthropic-ai/claude-code from npm) through llm-proxy to a chat-only
// upstream: a prompt, and a tool round trip (the mock asks for Bash, Claude Code runs it, the
// result comes back). Offline: no login, telemetry, updates or other hosts; bounded by timeouts.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { mock, gateway, stopAll, workdir } from './harness.mjs';

const CLAUDE = path.resolve(import.meta.dirname, 'node_modules/.bin/claude');
let env;
let home;

before(async () => {
  const chat = await mock('chat-only');
  const port = await gateway(`
providers:
  - { name: vllm, base_url: "http://127.0.0.1:${chat}/v1", models: ["*"] }
auth:
  keys: [ { key: sk-claude-code-1234, name: claude-code } ]
logging: { access_log: "off" }
`);
  home = workdir();
  mkdirSync(path.join(home, 'project'));
  env = {
    PATH: process.env.PATH,
    HOME: home,
    ANTHROPIC_BASE_URL: `http://127.0.0.1:${port}`,
    ANTHROPIC_API_KEY: 'sk-claude-code-1234',
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
  };
});

after(stopAll);

function claude(prompt, ...flags) {
  const r = spawnSync(CLAUDE, ['-p', prompt, '--output-format', 'json', '--model', 'claude-sonnet-4-5', ...flags], {
    env, cwd: path.join(home, 'project'), encoding: 'utf8', timeout: 90000,
  });
  assert.equal(r.status, 0, `claude exited ${r.status} ${r.signal ?? ''}: ${r.stderr}\n${r.stdout}`);
  return JSON.parse(r.stdout);
}

test('claude -p completes a prompt through the gateway', () => {
  const out = claude('say hello');
  assert.equal(out.is_error, false);
  assert.equal(out.result, 'Hello tok1 tok2 tok3 tok4');
  assert.ok(out.usage.output_tokens > 0);
});

test('claude -p runs a tool the model asked for and sends its result back', () => {
  const out = claude('run it [[tool:Bash {"command":"echo llmproxy-$((6*7))","description":"print"}]]',
    '--allowedTools', 'Bash', '--max-turns', '4');
  assert.equal(out.is_error, false);
  // 42 only if Claude Code really ran the command and returned its output in a tool_result.
  assert.match(out.result, /^Tool result: llmproxy-42/);
  assert.equal(out.num_turns, 2);
});
