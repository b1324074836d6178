// The OpenAI API of `kiln serve` through the official openai client: chat and completions,
// streamed and not, include_usage, n, stop, logprobs, seeds, embeddings, models, Kiln's utility
// endpoints, and every class of client error.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, model, rawPost, rawGet, collectChat, metric } from './common.mjs';

const hello = [{ role: 'user', content: 'Hello! Tell me a story about a kiln.' }];

test('models: list and retrieve', async () => {
  const list = await client.models.list();
  assert.ok(list.data.some((m) => m.id === model && m.object === 'model' && m.owned_by === 'kiln'));
  const one = await client.models.retrieve(model);
  assert.equal(one.id, model);
  assert.equal(typeof one.created, 'number');
});

test('chat: a whole completion with usage', async () => {
  const r = await client.chat.completions.create({ model, messages: hello, max_tokens: 8, temperature: 0, ignore_eos: true });
  assert.equal(r.object, 'chat.completion');
  assert.match(r.id, /^chatcmpl-/);
  assert.equal(r.model, model);
  assert.match(r.system_fingerprint, /^fp_/);
  assert.equal(r.choices.length, 1);
  assert.equal(r.choices[0].index, 0);
  assert.equal(r.choices[0].message.role, 'assistant');
  assert.equal(typeof r.choices[0].message.content, 'string');
  assert.ok(r.choices[0].message.content.length > 0);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.choices[0].logprobs, null);
  assert.ok(r.usage.prompt_tokens > 10);
  assert.equal(r.usage.completion_tokens, 8);
  assert.equal(r.usage.total_tokens, r.usage.prompt_tokens + 8);
  assert.equal(typeof r.usage.prompt_tokens_details.cached_tokens, 'number');
});

test('chat: streamed chunks as OpenAI sends them, text equal to the whole response', async () => {
  const request = { model, messages: hello, max_tokens: 12, temperature: 0, ignore_eos: true };
  const whole = await client.chat.completions.create(request);
  const stream = await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } });
  const { chunks, text, finish, usage } = await collectChat(stream);
  assert.deepEqual(chunks[0].choices[0].delta, { role: 'assistant', content: '', refusal: null });
  assert.equal(chunks[0].object, 'chat.completion.chunk');
  assert.ok(chunks.every((c) => c.id === chunks[0].id && c.id.startsWith('chatcmpl-')));
  const last = chunks[chunks.length - 1];
  assert.deepEqual(last.choices, []);
  assert.equal(last.usage.completion_tokens, 12);
  const finishing = chunks[chunks.length - 2];
  assert.deepEqual(finishing.choices[0].delta, {});
  assert.equal(finishing.choices[0].finish_reason, 'length');
  assert.ok(chunks.slice(0, -1).every((c) => c.usage === null));
  assert.equal(text[0], whole.choices[0].message.content);
  assert.equal(finish[0], 'length');
  assert.equal(usage.prompt_tokens, whole.usage.prompt_tokens);
});

test('chat: without include_usage no chunk carries usage', async () => {
  const stream = await client.chat.completions.create({ model, messages: hello, max_tokens: 3, stream: true });
  const { chunks } = await collectChat(stream);
  assert.ok(chunks.every((c) => !('usage' in c) || c.usage == null));
  assert.ok(chunks.every((c) => c.choices.length === 1));
});

test('chat: n=2 gives two choices, streamed and not', async () => {
  const r = await client.chat.completions.create({ model, messages: hello, max_tokens: 5, n: 2, seed: 7, ignore_eos: true });
  assert.deepEqual(r.choices.map((c) => c.index), [0, 1]);
  assert.equal(r.usage.completion_tokens, 10);
  const stream = await client.chat.completions.create({ model, messages: hello, max_tokens: 5, n: 2, seed: 7, ignore_eos: true, stream: true });
  const { chunks, text, finish } = await collectChat(stream);
  const roles = chunks.filter((c) => c.choices[0]?.delta?.role === 'assistant').map((c) => c.choices[0].index);
  assert.deepEqual(roles.sort(), [0, 1]);
  assert.deepEqual(finish, { 0: 'length', 1: 'length' });
  // Same seed, same choices: streaming changes nothing about what is sampled.
  assert.equal(text[0], r.choices[0].message.content);
  assert.equal(text[1], r.choices[1].message.content);
});

test('chat: stop strings end the text before them', async () => {
  const request = { model, messages: hello, max_tokens: 24, temperature: 0, ignore_eos: true };
  const full = (await client.chat.completions.create(request)).choices[0].message.content;
  // A two-character stop string whose first occurrence is past the start.
  let at = -1;
  for (let i = 1; i + 2 <= full.length; ++i) {
    const s = full.slice(i, i + 2);
    if (full.indexOf(s) === i && !s.includes('\uFFFD')) { at = i; break; }
  }
  assert.ok(at > 0, `no usable stop string in ${JSON.stringify(full)}`);
  const stop = full.slice(at, at + 2);
  const r = await client.chat.completions.create({ ...request, stop: [stop, 'never-appears'] });
  assert.equal(r.choices[0].message.content, full.slice(0, at));
  assert.equal(r.choices[0].finish_reason, 'stop');
  const streamed = await collectChat(await client.chat.completions.create({ ...request, stop, stream: true }));
  assert.equal(streamed.text[0], full.slice(0, at));
  assert.equal(streamed.finish[0], 'stop');
});

test('chat: logprobs with top_logprobs', async () => {
  const r = await client.chat.completions.create({ model, messages: hello, max_tokens: 6, temperature: 0, ignore_eos: true, logprobs: true, top_logprobs: 3 });
  const content = r.choices[0].logprobs.content;
  assert.equal(content.length, 6);
  for (const entry of content) {
    assert.equal(typeof entry.token, 'string');
    assert.ok(entry.logprob <= 0);
    assert.ok(Array.isArray(entry.bytes));
    assert.equal(entry.top_logprobs.length, 3);
    // Greedy with no penalties picks the most likely token.
    assert.equal(entry.top_logprobs[0].token, entry.token);
    assert.ok(Math.abs(entry.top_logprobs[0].logprob - entry.logprob) < 1e-6);
    assert.ok(entry.top_logprobs[0].logprob >= entry.top_logprobs[1].logprob);
  }
  const bytes = Buffer.from(content.flatMap((e) => e.bytes)).toString('utf8');
  if (!bytes.includes('\uFFFD')) assert.equal(bytes, r.choices[0].message.content);
  const streamed = await collectChat(await client.chat.completions.create({ model, messages: hello, max_tokens: 6, temperature: 0, ignore_eos: true, logprobs: true, top_logprobs: 3, stream: true }));
  const streamedEntries = streamed.chunks.flatMap((c) => c.choices[0]?.logprobs?.content ?? []);
  assert.deepEqual(streamedEntries, content);
});

test('chat: the same seed gives the same text, another seed another', async () => {
  const request = { model, messages: hello, max_tokens: 16, temperature: 1, ignore_eos: true };
  const a = await client.chat.completions.create({ ...request, seed: 1234 });
  const b = await client.chat.completions.create({ ...request, seed: 1234 });
  const c = await client.chat.completions.create({ ...request, seed: 4321 });
  assert.equal(a.choices[0].message.content, b.choices[0].message.content);
  assert.notEqual(a.choices[0].message.content, c.choices[0].message.content);
});

test('chat: repeated prompts report cached prompt tokens', async () => {
  const messages = [{ role: 'user', content: 'A long shared prefix. '.repeat(20) }];
  await client.chat.completions.create({ model, messages, max_tokens: 1 });
  const r = await client.chat.completions.create({ model, messages, max_tokens: 1 });
  assert.ok(r.usage.prompt_tokens_details.cached_tokens > 0, JSON.stringify(r.usage));
});

test('completions: string, strings, token ids; streamed equals whole', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, temperature: 0, ignore_eos: true });
  assert.equal(r.object, 'text_completion');
  assert.match(r.id, /^cmpl-/);
  assert.equal(r.choices[0].finish_reason, 'length');
  assert.equal(r.usage.completion_tokens, 6);
  const many = await client.completions.create({ model, prompt: ['Once upon a time', 'The kiln'], n: 2, max_tokens: 4, temperature: 0, ignore_eos: true });
  assert.deepEqual(many.choices.map((c) => c.index), [0, 1, 2, 3]);
  const four = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 4, temperature: 0, ignore_eos: true });
  assert.equal(many.choices[0].text, four.choices[0].text);
  assert.equal(many.choices[1].text, four.choices[0].text);
  assert.equal(many.usage.completion_tokens, 16);
  const { body: tokenized } = await rawPost('/tokenize', JSON.stringify({ model, prompt: 'Once upon a time' }));
  const ids = await client.completions.create({ model, prompt: tokenized.tokens, max_tokens: 6, temperature: 0, ignore_eos: true });
  assert.equal(ids.choices[0].text, r.choices[0].text);
  assert.equal(ids.usage.prompt_tokens, r.usage.prompt_tokens);

  const stream = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 6, temperature: 0, ignore_eos: true, stream: true, stream_options: { include_usage: true } });
  let text = '';
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    assert.equal(chunk.object, 'text_completion');
    for (const c of chunk.choices) { text += c.text; if (c.finish_reason) finish = c.finish_reason; }
    if (chunk.usage) usage = chunk.usage;
  }
  assert.equal(text, r.choices[0].text);
  assert.equal(finish, 'length');
  assert.equal(usage.completion_tokens, 6);
});

test('completions: logprobs', async () => {
  const r = await client.completions.create({ model, prompt: 'Once upon a time', max_tokens: 5, temperature: 0, ignore_eos: true, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert.equal(lp.tokens.length, 5);
  assert.equal(lp.token_logprobs.length, 5);
  assert.equal(lp.top_logprobs.length, 5);
  assert.equal(lp.text_offset[0], 0);
  for (let i = 1; i < 5; ++i) assert.ok(lp.text_offset[i] >= lp.text_offset[i - 1]);
  for (let i = 0; i < 5; ++i) {
    assert.ok(Object.keys(lp.top_logprobs[i]).length >= 1);
    assert.ok(lp.tokens[i] in lp.top_logprobs[i]);
  }
});

test('embeddings: float and base64 agree and are normalized', async () => {
  const asFloat = await client.embeddings.create({ model, input: ['hello world', 'a kiln'], encoding_format: 'float' });
  assert.equal(asFloat.object, 'list');
  assert.equal(asFloat.data.length, 2);
  assert.deepEqual(asFloat.data.map((d) => d.index), [0, 1]);
  const v = asFloat.data[0].embedding;
  assert.ok(v.length > 0);
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  assert.ok(Math.abs(norm - 1) < 1e-3, `norm ${norm}`);
  assert.ok(asFloat.usage.prompt_tokens > 0);
  // The client asks for base64 by default and decodes it.
  const asBase64 = await client.embeddings.create({ model, input: ['hello world', 'a kiln'] });
  for (let i = 0; i < v.length; ++i) assert.ok(Math.abs(asBase64.data[0].embedding[i] - v[i]) < 1e-6);
  const raw = await rawPost('/v1/embeddings', JSON.stringify({ model, input: 'hello world', encoding_format: 'base64' }));
  assert.equal(typeof raw.body.data[0].embedding, 'string');
});

test('utility endpoints: health, ready, tokenize, detokenize, apply-template, metrics', async () => {
  assert.equal((await rawGet('/health')).status, 200);
  assert.equal((await rawGet('/ready')).status, 200);
  const tok = await rawPost('/tokenize', JSON.stringify({ prompt: 'Hello kiln', add_special_tokens: false }));
  assert.equal(tok.status, 200);
  assert.equal(tok.body.count, tok.body.tokens.length);
  const detok = await rawPost('/detokenize', JSON.stringify({ tokens: tok.body.tokens }));
  assert.equal(detok.body.prompt, 'Hello kiln');
  const applied = await rawPost('/apply-template', JSON.stringify({ messages: [{ role: 'user', content: 'Hi' }] }));
  assert.equal(applied.status, 200);
  assert.ok(applied.body.prompt.includes('Hi'), applied.body.prompt);
  const m = await rawGet('/metrics');
  assert.match(m.headers.get('content-type'), /^text\/plain/);
  assert.ok(await metric('kiln_requests_total', { model, endpoint: 'chat_completions' }) > 0);
  assert.ok(await metric('kiln_kv_cache_blocks_total', { model }) > 0);
  assert.ok(await metric('kiln_generation_tokens_total', { model }) > 0);
  assert.match(m.body, /kiln_time_to_first_token_seconds_bucket/);
  assert.match(m.body, /kiln_request_duration_seconds_bucket/);
});

// Every client error class, with OpenAI's error body.
async function expectError(promise, status, check = () => {}) {
  await assert.rejects(promise, (e) => {
    assert.equal(e.status, status, `${e.status} ${e.message}`);
    check(e);
    return true;
  });
}

test('errors: unknown model is a 404 model_not_found', async () => {
  await expectError(client.chat.completions.create({ model: 'no-such-model', messages: hello }), 404, (e) => {
    assert.equal(e.code, 'model_not_found');
    assert.equal(e.param, 'model');
    assert.equal(e.type, 'invalid_request_error');
  });
  await expectError(client.models.retrieve('no-such-model'), 404);
});

test('errors: wrong field types name the field', async () => {
  await expectError(client.chat.completions.create({ model, messages: hello, temperature: 'hot' }), 400, (e) => {
    assert.equal(e.param, 'temperature');
    assert.equal(e.code, 'invalid_type');
  });
  await expectError(client.completions.create({ model, prompt: { text: 'x' } }), 400, (e) => assert.equal(e.param, 'prompt'));
});

test('errors: empty messages, unknown role, out-of-range values', async () => {
  await expectError(client.chat.completions.create({ model, messages: [] }), 400, (e) => {
    assert.equal(e.param, 'messages');
    assert.equal(e.code, 'empty_array');
  });
  await expectError(client.chat.completions.create({ model, messages: [{ role: 'wizard', content: 'x' }] }), 400, (e) => {
    assert.equal(e.param, 'messages[0].role');
  });
  await expectError(client.chat.completions.create({ model, messages: hello, max_tokens: 0 }), 400, (e) => assert.equal(e.param, 'max_tokens'));
  await expectError(client.chat.completions.create({ model, messages: hello, max_tokens: 1000000 }), 400, (e) => {
    assert.equal(e.param, 'max_tokens');
    assert.equal(e.code, 'context_length_exceeded');
  });
  await expectError(client.chat.completions.create({ model, messages: hello, temperature: 3 }), 400, (e) => assert.equal(e.param, 'temperature'));
  await expectError(client.chat.completions.create({ model, messages: hello, top_logprobs: 30, logprobs: true }), 400, (e) => assert.equal(e.param, 'top_logprobs'));
});

test('errors: a prompt longer than the context', async () => {
  const long = 'the kiln is hot '.repeat(3000);
  await expectError(client.chat.completions.create({ model, messages: [{ role: 'user', content: long }] }), 400, (e) => {
    assert.equal(e.code, 'context_length_exceeded');
    assert.equal(e.param, 'messages');
  });
  await expectError(client.completions.create({ model, prompt: long }), 400, (e) => assert.equal(e.code, 'context_length_exceeded'));
});

test('errors: unsupported features are refused by name', async () => {
  await expectError(client.chat.completions.create({ model, messages: hello, tools: [{ type: 'function', function: { name: 'f', parameters: {} } }] }), 400, (e) => {
    assert.equal(e.param, 'tools');
    assert.equal(e.code, 'unsupported_parameter');
  });
  await expectError(client.chat.completions.create({ model, messages: hello, response_format: { type: 'json_schema', json_schema: { name: 'x', schema: {} } } }), 400, (e) => assert.equal(e.param, 'response_format'));
  await expectError(client.embeddings.create({ model, input: 'x', dimensions: 8 }), 400, (e) => assert.equal(e.param, 'dimensions'));
});

test('errors: malformed JSON, invalid UTF-8, stream_options without stream', async () => {
  let r = await rawPost('/v1/chat/completions', '{"model": "x", "messages": [');
  assert.equal(r.status, 400);
  assert.equal(r.body.error.type, 'invalid_request_error');
  assert.ok('param' in r.body.error && 'code' in r.body.error);
  r = await rawPost('/v1/chat/completions', Buffer.concat([Buffer.from(`{"model": "${model}", "messages": [{"role": "user", "content": "`), Buffer.from([0xff, 0xfe]), Buffer.from('"}]}')]));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.code, 'invalid_encoding');
  r = await rawPost('/v1/chat/completions', JSON.stringify({ model, messages: hello, stream_options: { include_usage: true } }));
  assert.equal(r.status, 400);
  assert.equal(r.body.error.param, 'stream_options');
});

test('errors: too-large body, unknown route, wrong method', async () => {
  const big = JSON.stringify({ model, messages: [{ role: 'user', content: 'x'.repeat(9 * 1024 * 1024) }] });
  let status;
  try {
    status = (await rawPost('/v1/chat/completions', big)).status;
  } catch (e) {
    status = `connection error: ${e.cause?.code ?? e.message}`;
  }
  assert.equal(status, 413);
  let r = await rawGet('/v1/no-such-route');
  assert.equal(r.status, 404);
  assert.ok(r.body.error);
  r = await rawGet('/v1/chat/completions');
  assert.equal(r.status, 405);
  assert.ok(r.body.error);
});
