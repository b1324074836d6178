// Shared setup for the end-to-end tests: the official openai client pointed at the `kiln serve`
// the GoogleTest harness started (KILN_BASE_URL, KILN_MODEL), plus raw HTTP helpers.
import OpenAI from 'openai';

export const base = process.env.KILN_BASE_URL;
export const model = process.env.KILN_MODEL;
if (!base || !model) throw new Error('set KILN_BASE_URL and KILN_MODEL (tests/server/e2e/e2e_test.cpp does)');

export const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'kiln-e2e', maxRetries: 0, timeout: 120_000 });

// POSTs a raw body (string or Buffer) and returns {status, body (parsed JSON or text)}.
export async function rawPost(path, body, headers = { 'content-type': 'application/json' }) {
  const response = await fetch(`${base}${path}`, { method: 'POST', body, headers });
  const text = await response.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, body: parsed, headers: response.headers };
}

export async function rawGet(path) {
  const response = await fetch(`${base}${path}`);
  const text = await response.text();
  let parsed = text;
  try { parsed = JSON.parse(text); } catch { /* not JSON */ }
  return { status: response.status, body: parsed, headers: response.headers };
}

// Reads one stream of chat chunks; returns {chunks, text per choice, finish per choice, usage}.
export async function collectChat(stream) {
  const chunks = [];
  const text = {};
  const finish = {};
  let usage = null;
  for await (const chunk of stream) {
    chunks.push(chunk);
    for (const choice of chunk.choices) {
      text[choice.index] = (text[choice.index] ?? '') + (choice.delta?.content ?? '');
      if (choice.finish_reason) finish[choice.index] = choice.finish_reason;
    }
    if (chunk.usage) usage = chunk.usage;
  }
  return { chunks, text, finish, usage };
}

// Prometheus text -> value of one sample, e.g. metric('kiln_kv_cache_blocks_used', {model}).
export async function metric(name, labels = {}) {
  const { body } = await rawGet('/metrics');
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of body.split('\n')) {
    if (!line.startsWith(name)) continue;
    const [series, value] = line.split(/ (?=[^ ]+$)/);
    const labelText = series.slice(name.length);
    if (labelText !== '' && !labelText.startsWith('{')) continue;  // a longer metric name
    if (want.every((w) => labelText.includes(w))) return Number(value);
  }
  return undefined;
}

export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
