// The official `@anthropic-ai/sdk` against /v1/messages served by an OpenAI-compatible mock
// (translated both ways), and the `openai` SDK against an Anthropic-format mock.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { mock, gateway, stopAll } from './harness.mjs';

let anthropic;
let openai;
let wrongKey;

before(async () => {
  const chat = await mock('chat-mock');
  const claude = await mock('claude-mock');
  const port = await gateway(`
providers:
  - { name: chat, base_url: "http://127.0.0.1:${chat}/v1", models: ["claude-local"] }
  - { name: claude, type: anthropic, base_url: "http://127.0.0.1:${claude}", api_key: sk-ant-up, models: ["claude-sonnet-*"] }
auth:
  keys: [ { key: sk-sdk-anthropic-1234, name: sdk } ]
logging: { access_log: "off" }
`);
  const baseURL = `http://127.0.0.1:${port}`;
  anthropic = new Anthropic({ baseURL, apiKey: 'sk-sdk-anthropic-1234', maxRetries: 0, timeout: 10000 });
  wrongKey = new Anthropic({ baseURL, apiKey: 'sk-sdk-wrong-000000', maxRetries: 0, timeout: 10000 });
  openai = new OpenAI({ baseURL: `${baseURL}/v1`, apiKey: 'sk-sdk-anthropic-1234', maxRetries: 0, timeout: 10000 });
});

after(stopAll);

const tools = [{ name: 'get_weather', description: 'weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } }];

test('messages.create over a chat-completions upstream', async () => {
  const m = await anthropic.messages.create({ model: 'claude-local', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(m.type, 'message');
  assert.equal(m.content[0].text, 'Hello from chat-mock');
  assert.equal(m.stop_reason, 'end_turn');
  assert.ok(m.usage.input_tokens > 0);
});

test('messages.stream: the SDK assembles text and a tool call from the translated events', async () => {
  const stream = anthropic.messages.stream({
    model: 'claude-local', max_tokens: 100, tools,
    messages: [{ role: 'user', content: 'weather? [[tool:get_weather {"city":"Paris"}]]' }],
  });
  let text = '';
  stream.on('text', (t) => { text += t; });
  const m = await stream.finalMessage();
  assert.equal(text, 'Hello');
  const call = m.content.find((b) => b.type === 'tool_use');
  assert.deepEqual(call.input, { city: 'Paris' });
  assert.match(call.id, /^[a-zA-Z0-9_-]+$/);
  assert.equal(m.stop_reason, 'tool_use');
  assert.equal(m.usage.output_tokens, 5);

  // The tool's result goes back with the id the SDK was given.
  const next = await anthropic.messages.create({
    model: 'claude-local', max_tokens: 100, tools,
    messages: [
      { role: 'user', content: 'weather? [[tool:get_weather {"city":"Paris"}]]' },
      { role: 'assistant', content: m.content },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: 'sunny' }] },
    ],
  });
  assert.equal(next.content[0].text, 'Tool result: sunny');
});

test('a refused key raises the SDK\'s AuthenticationError', async () => {
  await assert.rejects(
    wrongKey.messages.create({ model: 'claude-local', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.AuthenticationError && e.status === 401 && e.error?.error?.type === 'authentication_error');
  await assert.rejects(
    anthropic.messages.create({ model: 'nope', max_tokens: 10, messages: [{ role: 'user', content: 'x' }] }),
    (e) => e instanceof Anthropic.NotFoundError);
});

test('messages pass through natively to an Anthropic upstream, stream included', async () => {
  const m = await anthropic.messages.create({ model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(m.id, 'msg_mock');
  const s = anthropic.messages.stream({ model: 'claude-sonnet-4', max_tokens: 100, messages: [{ role: 'user', content: 'hi' }] });
  const final = await s.finalMessage();
  assert.equal(final.content[0].text, 'Hello tok1 tok2 tok3 tok4');
});

test('the openai SDK on an Anthropic model: completion, stream with usage, tools', async () => {
  const r = await openai.chat.completions.create({ model: 'claude-sonnet-4', messages: [{ role: 'user', content: 'hi' }] });
  assert.equal(r.choices[0].message.content, 'Hello tok1 tok2 tok3');
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + r.usage.completion_tokens);
  const stream = await openai.chat.completions.create({
    model: 'claude-sonnet-4', stream: true, stream_options: { include_usage: true },
    tools: [{ type: 'function', function: { name: 'get', parameters: { type: 'object' } } }],
    messages: [{ role: 'user', content: 'x [[tool:get {"a":1}]]' }],
  });
  let args = '';
  let finish;
  let usage;
  for await (const chunk of stream) {
    if (chunk.usage) usage = chunk.usage;
    const c = chunk.choices[0];
    if (!c) continue;
    for (const t of c.delta.tool_calls ?? []) args += t.function?.arguments ?? '';
    if (c.finish_reason) finish = c.finish_reason;
  }
  assert.deepEqual(JSON.parse(args), { a: 1 });
  assert.equal(finish, 'tool_calls');
  assert.equal(usage.completion_tokens, 5);
});
