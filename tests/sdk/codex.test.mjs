// Codex CLI (@openai/codex from npm, `codex exec`) through llm-proxy to a chat-only upstream: a
// prompt, a shell tool round trip and an apply_patch edit (Codex's `custom` grammar tool), over
// HTTP and over WebSocket (supports_websockets = true: served, with no fallback to HTTP).
// Offline: a temporary HOME and CODEX_HOME, no login; every run bounded by a timeout.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { mock, gateway, stopAll, workdir } from './harness.mjs';

const CODEX = path.resolve(import.meta.dirname, 'node_modules/.bin/codex');
let port;
let home;
let accessLog;

// Codex offers apply_patch only to models whose metadata says so: a one-model catalog does.
const catalog = {
  models: [{
    slug: 'qwen3-coder', display_name: 'Qwen3 Coder (mock)', description: null, supported_reasoning_levels: [],
    shell_type: 'shell_command', visibility: 'list', supported_in_api: true, priority: 1, availability_nux: null,
    upgrade: null, base_instructions: 'You are a coding agent.', model_messages: null,
    supports_reasoning_summaries: false, default_reasoning_summary: 'auto', support_verbosity: false,
    default_verbosity: null, apply_patch_tool_type: 'freeform', truncation_policy: { mode: 'bytes', limit: 10000 },
    supports_parallel_tool_calls: false, supports_image_detail_original: false, context_window: 32000,
    auto_compact_token_limit: null, effective_context_window_percent: 95, experimental_supported_tools: [],
    input_modalities: ['text'], supports_search_tool: false,
  }],
};

before(async () => {
  const chat = await mock('chat-only');
  home = workdir();
  accessLog = path.join(home, 'access.log');
  port = await gateway(`
providers:
  - { name: vllm, base_url: "http://127.0.0.1:${chat}/v1", models: ["*"] }
auth:
  keys: [ { key: sk-codex-user-1234, name: codex } ]
logging: { access_log: "${accessLog}" }
`);
  writeFileSync(path.join(home, 'catalog.json'), JSON.stringify(catalog));
});

after(stopAll);

// A fresh CODEX_HOME whose provider points at the gateway, and a fresh project folder.
function setup(websockets) {
  const codexHome = workdir();
  writeFileSync(path.join(codexHome, 'config.toml'), `
model = "qwen3-coder"
model_provider = "llmproxy"
model_catalog_json = "${path.join(home, 'catalog.json')}"
[model_providers.llmproxy]
name = "llm-proxy"
base_url = "http://127.0.0.1:${port}/v1"
env_key = "LLMPROXY_API_KEY"
wire_api = "responses"
supports_websockets = ${websockets}
request_max_retries = 0
stream_max_retries = 0
`);
  const project = path.join(codexHome, 'project');
  mkdirSync(project);
  return { codexHome, project };
}

function codex({ codexHome, project }, prompt) {
  const r = spawnSync(CODEX, ['exec', '--skip-git-repo-check', '--sandbox', 'workspace-write', '-C', project, prompt], {
    env: { PATH: process.env.PATH, HOME: codexHome, CODEX_HOME: codexHome, LLMPROXY_API_KEY: 'sk-codex-user-1234' },
    encoding: 'utf8', timeout: 60000, input: '',
  });
  assert.equal(r.status, 0, `codex exited ${r.status} ${r.signal ?? ''}: ${r.stderr}\n${r.stdout}`);
  return r;
}

function logged() {
  return readFileSync(accessLog, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

test('codex exec completes a prompt over HTTP', () => {
  const r = codex(setup(false), 'say hello');
  assert.equal(r.stdout.trim(), 'Hello tok1 tok2 tok3 tok4');
});

test('codex exec edits a file with apply_patch (a custom tool) and gets the result back', () => {
  const s = setup(false);
  const patch = '*** Begin Patch\\n*** Add File: hello.txt\\n+patched through llm-proxy\\n*** End Patch\\n';
  const r = codex(s, `[[tool:apply_patch {"input":"${patch}"}]]`);
  assert.equal(readFileSync(path.join(s.project, 'hello.txt'), 'utf8'), 'patched through llm-proxy\n');
  assert.match(r.stdout, /Tool result: .*Success\. Updated the following files:\s+A hello\.txt/s);
});

test('codex exec over WebSocket: a shell round trip, served with no fallback to HTTP', () => {
  const before = logged().length;
  const r = codex(setup(true), '[[tool:exec_command {"cmd":"echo ws-$((6*7))"}]]');
  assert.match(r.stdout, /Tool result: .*ws-42/s);
  assert.doesNotMatch(r.stderr, /Falling back|Reconnecting/);
  const lines = logged().slice(before);
  const upgrades = lines.filter((l) => l.method === 'GET' && l.path === '/v1/responses');
  assert.ok(upgrades.length >= 1 && upgrades.every((l) => l.status === 101), JSON.stringify(upgrades));
  // Both turns went through the pipeline as requests of their own, metered.
  const turns = lines.filter((l) => l.method === 'POST' && l.path === '/v1/responses');
  assert.equal(turns.length, 2, JSON.stringify(lines));
  assert.ok(turns.every((l) => l.status === 200 && l.completion_tokens > 0));
});
