// Many clients at once: 200 concurrent streams all complete with the right text, and 100 streams
// cancelled mid-way free their KV-cache blocks (read from /metrics).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { client, model, collectChat, metric, sleep } from './common.mjs';

test('200 concurrent streaming clients all complete', async () => {
  const prompt = (i) => [{ role: 'user', content: `Client number ${i % 10} says hello.` }];
  const request = (i) => ({ model, messages: prompt(i), max_tokens: 8, temperature: 0, ignore_eos: true });
  // What each of the ten distinct prompts must produce (greedy), computed one at a time.
  const expected = [];
  for (let i = 0; i < 10; ++i) expected.push((await client.chat.completions.create(request(i))).choices[0].message.content);

  const started = Date.now();
  const results = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const stream = await client.chat.completions.create({ ...request(i), stream: true, stream_options: { include_usage: true } });
    return collectChat(stream);
  }));
  const seconds = (Date.now() - started) / 1000;
  results.forEach((r, i) => {
    assert.equal(r.finish[0], 'length', `client ${i}`);
    assert.equal(r.usage.completion_tokens, 8, `client ${i}`);
    assert.equal(r.text[0], expected[i % 10], `client ${i}`);
    assert.equal(r.chunks[r.chunks.length - 1].choices.length, 0);
  });
  console.log(`200 streams x 8 tokens in ${seconds.toFixed(2)} s`);
});

test('cancelling 100 streams mid-stream frees their KV blocks', async () => {
  assert.equal(await metric('kiln_kv_cache_blocks_used', { model }), 0, 'blocks held before the test');
  let peak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      peak = Math.max(peak, (await metric('kiln_kv_cache_blocks_used', { model })) ?? 0);
      await sleep(20);
    }
  })();
  const received = await Promise.all(Array.from({ length: 100 }, async (_, i) => {
    const controller = new AbortController();
    const stream = await client.chat.completions.create(
      { model, messages: [{ role: 'user', content: `Stream ${i}: tell me everything.` }], max_tokens: 400, temperature: 1, seed: i, ignore_eos: true, stream: true },
      { signal: controller.signal });
    let contentChunks = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) ++contentChunks;
        if (contentChunks === 3) controller.abort();
      }
    } catch (e) {
      if (!controller.signal.aborted) throw e;
    }
    return contentChunks;
  }));
  sampling = false;
  await sampler;
  assert.ok(received.every((n) => n >= 3), `every stream got 3 content chunks: ${received}`);
  assert.ok(peak > 0, 'blocks were held while the streams ran');
  // Cancellation takes effect within a step; allow a little time for the server to notice.
  let used = -1, running = -1, waiting = -1;
  for (let tries = 0; tries < 100; ++tries) {
    used = await metric('kiln_kv_cache_blocks_used', { model });
    running = await metric('kiln_engine_running_requests', { model });
    waiting = await metric('kiln_engine_waiting_requests', { model });
    if (used === 0 && running === 0 && waiting === 0) break;
    await sleep(100);
  }
  assert.equal(used, 0, 'KV blocks still held after cancelling');
  assert.equal(running, 0);
  assert.equal(waiting, 0);
  const generated = await metric('kiln_generation_tokens_total', { model });
  // Far fewer than 100 x 400 tokens were generated: the cancelled streams really stopped.
  assert.ok(generated < 100 * 400, `generated ${generated}`);
});
