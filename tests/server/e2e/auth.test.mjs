// The official openai client against a `kiln serve` whose database holds an API key
// (KILN_API_KEY) for a tenant limited to 4 requests a minute: wrong keys are AuthenticationError,
// the fifth request a RateLimitError with Retry-After, and streamed usage arrives as usual.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import OpenAI from 'openai';
import { base, model, collectChat } from './common.mjs';

const key = process.env.KILN_API_KEY;
if (!key) throw new Error('set KILN_API_KEY (tests/server/e2e/e2e_test.cpp does)');
const authed = new OpenAI({ baseURL: `${base}/v1`, apiKey: key, maxRetries: 0, timeout: 120_000 });
const messages = [{ role: 'user', content: 'Say hello.' }];

test('keys: a wrong key is refused with 401, the right one lists models', async () => {
  const wrong = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'kiln-wrong', maxRetries: 0 });
  await assert.rejects(wrong.chat.completions.create({ model, messages, max_tokens: 2 }),
    (e) => e instanceof OpenAI.AuthenticationError && e.status === 401);
  await assert.rejects(wrong.models.list(), (e) => e instanceof OpenAI.AuthenticationError);
  const models = await authed.models.list();
  assert.ok(models.data.some((m) => m.id === model));
});

test('keys: four requests a minute, then 429 with Retry-After', async () => {
  for (let i = 0; i < 4; ++i) {
    const stream = await authed.chat.completions.create({
      model, messages, max_tokens: 3, stream: true, stream_options: { include_usage: true },
    });
    const { usage } = await collectChat(stream);
    assert.ok(usage && usage.completion_tokens > 0, `request ${i} has usage`);
  }
  await assert.rejects(authed.chat.completions.create({ model, messages, max_tokens: 2 }), (e) => {
    assert.ok(e instanceof OpenAI.RateLimitError, `got ${e}`);
    assert.equal(e.status, 429);
    assert.equal(e.code, 'requests_per_minute');
    const retryAfter = Number(e.headers?.get ? e.headers.get('retry-after') : e.headers?.['retry-after']);
    assert.ok(retryAfter >= 1 && retryAfter <= 60, `Retry-After ${retryAfter}`);
    return true;
  });
});
