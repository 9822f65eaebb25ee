// The official `openai` SDK (6.x) talking to a real llm-proxy in front of mock_upstream.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import OpenAI from 'openai';
import { freePort, waitPort, start, stopAll } from './harness.mjs';

let client;
let authedPort;

before(async () => {
  const mockPort = await freePort();
  start('mock_upstream', ['--listen', `127.0.0.1:${mockPort}`, '--name', 'sdk-mock']);
  await waitPort(mockPort);
  const gwPort = await freePort();  // only after the mock holds its port, or both could get the same
  const dir = mkdtempSync(path.join(tmpdir(), 'llm-proxy-sdk-'));
  const config = path.join(dir, 'config.yaml');
  writeFileSync(config, `
providers:
  - name: mock
    base_url: http://127.0.0.1:${mockPort}/v1
    models: ["gpt-4o-mini", "text-embedding-3-small", "gpt-3.5-turbo-instruct"]
`);
  start('llm-proxy', ['--config', config, '--listen', `127.0.0.1:${gwPort}`, '--workers', '1']);
  await waitPort(gwPort);
  client = new OpenAI({ baseURL: `http://127.0.0.1:${gwPort}/v1`, apiKey: 'sk-test', maxRetries: 0, timeout: 10000 });

  // A second gateway with API keys on.
  const authConfig = path.join(dir, 'auth.yaml');
  writeFileSync(authConfig, `
providers:
  - { name: mock, base_url: "http://127.0.0.1:${mockPort}/v1", models: ["gpt-4o-mini", "claude-3"] }
auth:
  keys:
    - { key: sk-sdk-good-123456, name: good, allowed_models: ["gpt-*"] }
    - { key: sk-sdk-disabled-1234, name: off, status: disabled }
    - { key: sk-sdk-limited-1234, name: limited, rate_limit: { requests_per_minute: 1 } }
    - { key: sk-sdk-quota-12345, name: quota, total_quota: 1, quota_reset_period: daily }
logging: { access_log: "off" }
`);
  authedPort = await freePort();
  start('llm-proxy', ['--config', authConfig, '--listen', `127.0.0.1:${authedPort}`, '--workers', '1']);
  await waitPort(authedPort);
});

function authed(apiKey) {
  return new OpenAI({ baseURL: `http://127.0.0.1:${authedPort}/v1`, apiKey, maxRetries: 0, timeout: 10000 });
}

test('a good key works; the SDK sends it as a Bearer token', async () => {
  const r = await authed('sk-sdk-good-123456').chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, 'Hello from sdk-mock');
});

test('a wrong key raises AuthenticationError', async () => {
  await assert.rejects(
    authed('sk-sdk-wrong-000000').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.AuthenticationError && e.code === 'invalid_api_key');
});

test('a disabled key and a forbidden model raise PermissionDeniedError', async () => {
  await assert.rejects(
    authed('sk-sdk-disabled-1234').chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.PermissionDeniedError && e.code === 'api_key_disabled');
  await assert.rejects(
    authed('sk-sdk-good-123456').chat.completions.create({ model: 'claude-3', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.PermissionDeniedError && e.code === 'model_not_allowed');
});

after(stopAll);

test('chat completion', async () => {
  const r = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, 'Hello from sdk-mock');
  assert.equal(r.model, 'gpt-4o-mini');
  assert.ok(r.usage.total_tokens > 0);
});

test('chat stream', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true,
  });
  let text = '';
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    text += chunk.choices[0]?.delta?.content ?? '';
  }
  assert.equal(text, 'Hello tok1 tok2 tok3 tok4');
  assert.equal(chunks, 6);
});

test('chat stream with usage', async () => {
  const stream = await client.chat.completions.create({
    model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }], stream: true,
    stream_options: { include_usage: true },
  });
  let usage = null;
  for await (const chunk of stream) if (chunk.usage) usage = chunk.usage;
  assert.equal(usage.completion_tokens, 5);
});

test('completions', async () => {
  const r = await client.completions.create({ model: 'gpt-3.5-turbo-instruct', prompt: 'Say hi' });
  assert.equal(r.choices[0].text, 'Hello from sdk-mock');
});

test('embeddings', async () => {
  const r = await client.embeddings.create({ model: 'text-embedding-3-small', input: ['a', 'b', 'c'] });
  assert.equal(r.data.length, 3);
  assert.equal(r.data[0].embedding.length, 8);
});

test('models', async () => {
  const ids = [];
  for await (const m of client.models.list()) ids.push(m.id);
  assert.deepEqual(ids, ['gpt-3.5-turbo-instruct', 'gpt-4o-mini', 'text-embedding-3-small']);
});

test('unknown model raises NotFoundError with the request id', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.NotFoundError && e.code === 'model_not_found' && e.requestID?.startsWith('req_'),
  );
});

test('missing messages raises BadRequestError', async () => {
  await assert.rejects(client.chat.completions.create({ model: 'gpt-4o-mini' }),
    (e) => e instanceof OpenAI.BadRequestError && e.param === 'messages');
});

test('upstream 429 raises RateLimitError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-mock-fault': '429' } }),
    (e) => e instanceof OpenAI.RateLimitError && e.headers.get('retry-after') === '1',
  );
});

test('upstream 500 raises InternalServerError', async () => {
  await assert.rejects(
    client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] },
      { headers: { 'x-mock-fault': '500' } }),
    (e) => e instanceof OpenAI.InternalServerError,
  );
});

test('upstream reset mid-stream raises an APIError, not a clean end', async () => {
  const stream = await client.chat.completions.create(
    { model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }], stream: true },
    { headers: { 'x-mock-fault': 'reset_mid_stream', 'x-mock-reset-after': '2' } });
  let text = '';
  await assert.rejects(async () => {
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
  }, (e) => e instanceof OpenAI.APIError && /mid-stream/.test(e.message));
  assert.equal(text, 'Hello tok1');
});

test('a key over its rate limit raises RateLimitError with the OpenAI headers', async () => {
  const c = authed('sk-sdk-limited-1234');
  await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
  await assert.rejects(c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.RateLimitError && e.code === 'rate_limit_exceeded' &&
      e.headers.get('x-ratelimit-limit-requests') === '1' && Number(e.headers.get('retry-after')) >= 1);
});

test('a key over its token quota raises RateLimitError with code insufficient_quota', async () => {
  const c = authed('sk-sdk-quota-12345');
  await c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] });
  await assert.rejects(c.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof OpenAI.RateLimitError && e.code === 'insufficient_quota' && e.type === 'insufficient_quota');
});

// The Responses API over a chat-only upstream: the gateway translates both ways.
const shellTool = { type: 'function', name: 'shell', parameters: { type: 'object', properties: { cmd: { type: 'string' } } } };

test('responses.create (whole) over a chat-only server, with a function tool round trip', async () => {
  const first = await client.responses.create({
    model: 'gpt-4o-mini', instructions: 'be brief', input: 'list [[tool:shell {"cmd":"ls"}]]', tools: [shellTool], store: false,
  });
  assert.equal(first.object, 'response');
  assert.equal(first.status, 'completed');
  const call = first.output.find((i) => i.type === 'function_call');
  assert.ok(call, JSON.stringify(first.output));
  assert.deepEqual(JSON.parse(call.arguments), { cmd: 'ls' });
  const second = await client.responses.create({
    model: 'gpt-4o-mini', tools: [shellTool], store: false,
    input: [{ role: 'user', content: 'list [[tool:shell {"cmd":"ls"}]]' }, call,
            { type: 'function_call_output', call_id: call.call_id, output: 'a.txt b.txt' }],
  });
  assert.equal(second.output_text, 'Tool result: a.txt b.txt');  // the SDK's own convenience field
  assert.ok(second.usage.input_tokens > 0);
});

test('responses.create (stream) gives the SDK its events and a final response', async () => {
  const stream = client.responses.stream({ model: 'gpt-4o-mini', input: 'hi', tools: [shellTool] });
  let text = '';
  const types = [];
  for await (const event of stream) {
    types.push(event.type);
    if (event.type === 'response.output_text.delta') text += event.delta;
  }
  const final = await stream.finalResponse();
  assert.equal(text, 'Hello tok1 tok2 tok3 tok4');
  assert.equal(types[0], 'response.created');
  assert.equal(types.at(-1), 'response.completed');
  assert.equal(final.output_text, text);
  assert.equal(final.usage.output_tokens, 5);
});

test('a streamed function call arrives as function_call items with its arguments', async () => {
  const stream = await client.responses.create(
    { model: 'gpt-4o-mini', input: 'go [[tool:shell {"cmd":"pwd"}]]', tools: [shellTool], stream: true });
  let args = '';
  let done;
  for await (const event of stream) {
    if (event.type === 'response.function_call_arguments.delta') args += event.delta;
    if (event.type === 'response.output_item.done' && event.item.type === 'function_call') done = event.item;
  }
  assert.deepEqual(JSON.parse(args), { cmd: 'pwd' });
  assert.equal(done.arguments, args);
  assert.equal(done.name, 'shell');
});
