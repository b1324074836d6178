// Benchmarks a running `kiln serve` over HTTP with Node's fetch (no dependencies):
//   node bench/serve_bench.mjs http://127.0.0.1:8080 MODEL [seconds]
// 1. GET /v1/models requests/s with 32 concurrent keep-alive clients.
// 2. Streaming chat completions at 1, 16 and 64 concurrent clients (max_tokens 32, ignore_eos):
//    generated tokens/s over all clients, and time to first token (first content chunk), p50/p95.
const [base, model, secondsArg] = process.argv.slice(2);
if (!base || !model) {
  console.error('usage: node bench/serve_bench.mjs BASE_URL MODEL [seconds]');
  process.exit(2);
}
const seconds = Number(secondsArg ?? 5);

function percentile(values, p) {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function modelsPerSecond(clients) {
  const end = performance.now() + seconds * 1000;
  let count = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    while (performance.now() < end) {
      const r = await fetch(`${base}/v1/models`);
      await r.arrayBuffer();
      if (r.status !== 200) throw new Error(`status ${r.status}`);
      ++count;
    }
  }));
  return count / seconds;
}

async function oneStream(i) {
  const started = performance.now();
  const r = await fetch(`${base}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: `Benchmark client ${i}: write a story.` }],
      max_tokens: 32, ignore_eos: true, temperature: 0.8, seed: i, stream: true, stream_options: { include_usage: true } }),
  });
  const decoder = new TextDecoder();
  let buffer = '';
  let ttft = null;
  let tokens = 0;
  for await (const part of r.body) {
    buffer += decoder.decode(part, { stream: true });
    let at;
    while ((at = buffer.indexOf('\n\n')) >= 0) {
      const line = buffer.slice(0, at);
      buffer = buffer.slice(at + 2);
      if (!line.startsWith('data: ') || line === 'data: [DONE]') continue;
      const chunk = JSON.parse(line.slice(6));
      if (ttft === null && chunk.choices[0]?.delta?.content) ttft = performance.now() - started;
      if (chunk.usage) tokens = chunk.usage.completion_tokens;
    }
  }
  return { ttft: ttft ?? performance.now() - started, tokens };
}

async function streaming(clients) {
  const end = performance.now() + seconds * 1000;
  const started = performance.now();
  const ttfts = [];
  let tokens = 0;
  let requests = 0;
  await Promise.all(Array.from({ length: clients }, async (_, c) => {
    let i = c;
    while (performance.now() < end) {
      const r = await oneStream(i);
      i += clients;
      ttfts.push(r.ttft);
      tokens += r.tokens;
      ++requests;
    }
  }));
  const elapsed = (performance.now() - started) / 1000;
  return { clients, requests, tokensPerSecond: tokens / elapsed, ttftP50: percentile(ttfts, 50), ttftP95: percentile(ttfts, 95) };
}

console.log(`GET /v1/models: ${(await modelsPerSecond(32)).toFixed(0)} requests/s (32 clients, ${seconds} s)`);
for (const clients of [1, 16, 64]) {
  const s = await streaming(clients);
  console.log(`streaming, ${clients} clients: ${s.tokensPerSecond.toFixed(1)} tokens/s, ${s.requests} requests, ` +
    `TTFT p50 ${s.ttftP50.toFixed(1)} ms, p95 ${s.ttftP95.toFixed(1)} ms`);
}
