// Checks BitNet Desktop's OpenAI-compatible server with the official `openai`
// npm client, the way people script against it.
//
//   BITNET_API_BASE   base URL (default http://127.0.0.1:8723/v1)
//   BITNET_API_KEY    key the server requires, if any
//   BITNET_MODEL_ID   model id the server reports (default bitnet-b1.58-2b4t)
//   BITNET_MAX_TOKENS answer length bound (default 16)
//   BITNET_SECOND_MODEL_ID another installed model the server offers (optional:
//                     then the model selection checks run)
//   BITNET_JSON_MODEL_ID a model for the structured-output checks, one whose
//                     answers usually complete within 400 tokens (run.sh: the
//                     synthetic demo preset). Unset, the checks that generate
//                     JSON are skipped: the fake model of `go test -tags
//                     npmclient` ignores response_format.
//   BITNET_BASE_MODEL_ID an installed base model (no chat template) for the
//                     /v1/completions checks (optional)
//
// Prints one line per check and a final "N passed, N failed" line; exits 1
// when a check fails. Skipped checks print a "skip -" line.
import OpenAI from 'openai';
import { LengthFinishReasonError } from 'openai/error';
import { zodResponseFormat } from 'openai/helpers/zod';
import { z } from 'zod';

const baseURL = process.env.BITNET_API_BASE || 'http://127.0.0.1:8723/v1';
const realKey = process.env.BITNET_API_KEY || '';
const model = process.env.BITNET_MODEL_ID || 'bitnet-b1.58-2b4t';
const maxTokens = Number(process.env.BITNET_MAX_TOKENS || 16);
const second = process.env.BITNET_SECOND_MODEL_ID || '';
const jsonModel = process.env.BITNET_JSON_MODEL_ID || '';
const baseModel = process.env.BITNET_BASE_MODEL_ID || '';

// The SDK insists on a key; a server without one ignores it.
const client = new OpenAI({ baseURL, apiKey: realKey || 'no-key', timeout: 120_000, maxRetries: 2 });

const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Name three colors.' },
];
const greedy = { model, messages, temperature: 0, seed: 1, max_tokens: maxTokens };

const checks = [];
const check = (name, fn) => checks.push({ name, fn });
const skips = [];
const skip = (name, why) => skips.push(`skip - ${name} (${why})`);

function assert(cond, msg) {
  if (!cond) throw new Error(msg);
}

function assertUsage(u, where) {
  assert(u && typeof u === 'object', `${where}: no usage`);
  for (const k of ['prompt_tokens', 'completion_tokens', 'total_tokens']) {
    assert(Number.isInteger(u[k]) && u[k] >= 0, `${where}: usage.${k} = ${u[k]}`);
  }
  assert(u.prompt_tokens > 0, `${where}: usage.prompt_tokens is 0`);
  assert(u.total_tokens === u.prompt_tokens + u.completion_tokens, `${where}: total_tokens != prompt + completion`);
  assert(u.completion_tokens <= maxTokens, `${where}: ${u.completion_tokens} completion tokens > max_tokens ${maxTokens}`);
}

// Reads a stream and checks the chunk sequence OpenAI clients rely on.
async function readStream(stream) {
  let text = '';
  let finish = null;
  let usage = null;
  let n = 0;
  for await (const chunk of stream) {
    assert(chunk.object === 'chat.completion.chunk', `chunk ${n}: object ${chunk.object}`);
    if (chunk.choices.length === 0) {
      assert(chunk.usage && !usage, `chunk ${n}: no choices without (or with a second) usage`);
      usage = chunk.usage;
    } else {
      assert(!usage, `chunk ${n} after the usage chunk`);
      const c = chunk.choices[0];
      assert(c.index === 0, `chunk ${n}: index ${c.index}`);
      assert((n === 0) === (c.delta.role === 'assistant'), `chunk ${n}: delta.role ${c.delta.role}`);
      assert(finish === null, `chunk ${n} after finish_reason`);
      if (typeof c.delta.content === 'string') text += c.delta.content;
      if (c.finish_reason) finish = c.finish_reason;
    }
    n++;
  }
  assert(finish === 'stop' || finish === 'length', `finish_reason ${finish}`);
  return { text, finish, usage };
}

let reference; // the non-streamed answer

check('models.list contains the model', async () => {
  const page = await client.models.list();
  const ids = page.data.map((m) => m.id);
  assert(ids.includes(model), `models ${JSON.stringify(ids)} lack ${model}`);
  for (const m of page.data) assert(m.object === 'model', `object ${m.object}`);
  const one = await client.models.retrieve(model);
  assert(one.id === model, `retrieve gave ${one.id}`);
});

check('non-streaming chat at temperature 0 has usage', async () => {
  const r = await client.chat.completions.create(greedy);
  assert(r.object === 'chat.completion', `object ${r.object}`);
  assert(typeof r.id === 'string' && r.id.length > 0, 'no id');
  assert(r.choices.length === 1, `${r.choices.length} choices`);
  const c = r.choices[0];
  assert(c.message.role === 'assistant', `role ${c.message.role}`);
  assert(typeof c.message.content === 'string', 'content is not a string');
  assert(c.finish_reason === 'stop' || c.finish_reason === 'length', `finish_reason ${c.finish_reason}`);
  assertUsage(r.usage, 'non-stream');
  assert(r.usage.completion_tokens > 0, 'no tokens generated');
  reference = { text: c.message.content, finish: c.finish_reason, usage: r.usage };
});

check('streamed deltas at temperature 0 equal the non-streamed text', async () => {
  assert(reference, 'needs the non-streaming answer');
  const s = await readStream(await client.chat.completions.create({ ...greedy, stream: true }));
  assert(s.text === reference.text, `stream ${JSON.stringify(s.text)} != non-stream ${JSON.stringify(reference.text)}`);
  assert(s.finish === reference.finish, `finish ${s.finish} != ${reference.finish}`);
  assert(s.usage === null, 'usage chunk without stream_options.include_usage');
});

check('stream_options.include_usage gives a usage chunk', async () => {
  assert(reference, 'needs the non-streaming answer');
  const s = await readStream(
    await client.chat.completions.create({ ...greedy, stream: true, stream_options: { include_usage: true } }),
  );
  assertUsage(s.usage, 'stream');
  assert(s.text === reference.text, 'text differs from the non-streamed answer');
  assert(
    s.usage.prompt_tokens === reference.usage.prompt_tokens &&
      s.usage.completion_tokens === reference.usage.completion_tokens,
    `stream usage ${JSON.stringify(s.usage)} != ${JSON.stringify(reference.usage)}`,
  );
});

check('unknown fields and max_completion_tokens are accepted', async () => {
  const r = await client.chat.completions.create({
    model,
    messages: [{ role: 'user', content: [{ type: 'text', text: 'Hi' }] }],
    temperature: 0,
    max_completion_tokens: 2,
    user: 'test',
    logprobs: false,
    presence_penalty: 0,
    frequency_penalty: 0,
    stop: ['\n\n\n'],
  });
  assert(r.usage.completion_tokens <= 2, `${r.usage.completion_tokens} tokens > max_completion_tokens 2`);
});

async function expectError(fn, status, check) {
  try {
    await fn();
  } catch (err) {
    assert(err instanceof OpenAI.APIError, `not an APIError: ${err}`);
    assert(err.status === status, `status ${err.status}, want ${status}: ${err.message}`);
    check?.(err);
    return;
  }
  throw new Error(`no error, want ${status}`);
}

check('an invalid role is a 400 BadRequestError', async () => {
  await expectError(
    () => client.chat.completions.create({ model, messages: [{ role: 'wizard', content: 'Hi' }] }),
    400,
    (err) => {
      assert(err instanceof OpenAI.BadRequestError, 'not a BadRequestError');
      assert(err.type === 'invalid_request_error', `type ${err.type}`);
      assert(err.param === 'messages[0].role', `param ${err.param}`);
    },
  );
});

check('a prompt over the context is 400 context_length_exceeded', async () => {
  const long = 'hello '.repeat(8000);
  await expectError(
    () => client.chat.completions.create({ model, messages: [{ role: 'user', content: long }], max_tokens: 1 }),
    400,
    (err) => assert(err.code === 'context_length_exceeded', `code ${err.code}`),
  );
});

if (second) {
  check('models.list lists every installed model', async () => {
    const ids = (await client.models.list()).data.map((m) => m.id);
    assert(ids.includes(model) && ids.includes(second), `models ${JSON.stringify(ids)} lack ${model} or ${second}`);
  });

  check('the request\'s model selects the model that answers', async () => {
    const r = await client.chat.completions.create({ ...greedy, model: second, max_tokens: 4 });
    assert(r.model === second, `answered by ${r.model}, not ${second}`);
    assert(r.usage.completion_tokens > 0, 'no tokens');
    assert(typeof r.timings?.load_ms === 'number', `no load_ms in the timings of a switch: ${JSON.stringify(r.timings)}`);
    const back = await client.chat.completions.create(greedy);
    assert(back.model === model, `switching back: answered by ${back.model}`);
    assert(back.choices[0].message.content === reference?.text, 'the first model answers differently after the switch');
  });

  check('an unknown model is a 404 NotFoundError listing the models', async () => {
    await expectError(
      () => client.chat.completions.create({ ...greedy, model: 'gpt-4o' }),
      404,
      (err) => {
        assert(err instanceof OpenAI.NotFoundError, 'not a NotFoundError');
        assert(err.code === 'model_not_found', `code ${err.code}`);
        assert(err.message.includes(model) && err.message.includes(second), `message ${err.message}`);
      },
    );
  });
}

// ---- logprobs (chat) ----

// Checks one choice's logprobs.content against its text: one entry per
// generated token, each with its bytes, a logprob <= 0 and `top`
// alternatives (most likely first; under a response_format only allowed
// tokens are listed, so there may be fewer: constrained); the tokens' bytes
// spell the text.
function checkChatLogprobs(lps, text, top, where, constrained = false) {
  assert(Array.isArray(lps) && lps.length > 0, `${where}: logprobs.content ${JSON.stringify(lps)}`);
  const bytes = [];
  let joined = '';
  let wholeChars = true;
  for (const [i, t] of lps.entries()) {
    const w = `${where}: token ${i}`;
    assert(typeof t.token === 'string', `${w}: token ${t.token}`);
    assert(typeof t.logprob === 'number' && t.logprob <= 0, `${w}: logprob ${t.logprob}`);
    assert(Array.isArray(t.bytes) && t.bytes.every((b) => Number.isInteger(b) && b >= 0 && b < 256), `${w}: bytes ${t.bytes}`);
    const nTop = t.top_logprobs?.length;
    assert(Array.isArray(t.top_logprobs) && (constrained ? nTop >= 1 && nTop <= top : nTop === top), `${w}: ${nTop} top_logprobs, asked ${top}`);
    for (const [k, alt] of t.top_logprobs.entries()) {
      assert(typeof alt.token === 'string' && Array.isArray(alt.bytes), `${w}: top_logprobs[${k}] ${JSON.stringify(alt)}`);
      assert(typeof alt.logprob === 'number' && alt.logprob <= 0, `${w}: top_logprobs[${k}].logprob ${alt.logprob}`);
      assert(k === 0 || alt.logprob <= t.top_logprobs[k - 1].logprob, `${w}: top_logprobs not sorted`);
    }
    bytes.push(...t.bytes);
    joined += t.token;
    // A token may end inside a UTF-8 character: then only its bytes are exact.
    wholeChars &&= Buffer.from(t.token, 'utf8').equals(Buffer.from(t.bytes));
  }
  assert(Buffer.from(bytes).equals(Buffer.from(text, 'utf8')),
    `${where}: the tokens' bytes spell ${JSON.stringify(Buffer.from(bytes).toString())}, the text is ${JSON.stringify(text)}`);
  if (wholeChars) assert(joined === text, `${where}: tokens join to ${JSON.stringify(joined)}, text ${JSON.stringify(text)}`);
}

let lpReference; // the non-streamed answer with logprobs

check('logprobs with top_logprobs (non-streaming)', async () => {
  const r = await client.chat.completions.create({ ...greedy, logprobs: true, top_logprobs: 3 });
  const c = r.choices[0];
  checkChatLogprobs(c.logprobs?.content, c.message.content, 3, 'non-stream');
  assert(c.logprobs.content.length === r.usage.completion_tokens,
    `${c.logprobs.content.length} logprobs for ${r.usage.completion_tokens} completion tokens`);
  // Greedy: each pick is the most likely token.
  for (const [i, t] of c.logprobs.content.entries()) {
    assert(t.logprob >= t.top_logprobs[0].logprob - 1e-6, `token ${i}: greedy pick ${t.logprob} below top ${t.top_logprobs[0].logprob}`);
  }
  if (reference) assert(c.message.content === reference.text, 'asking for logprobs changed the greedy answer');
  const plain = await client.chat.completions.create({ ...greedy, max_tokens: 2 });
  assert(plain.choices[0].logprobs === null, `logprobs ${JSON.stringify(plain.choices[0].logprobs)} without logprobs: true`);
  lpReference = { text: c.message.content, content: c.logprobs.content };
});

check('logprobs streamed equal the non-streamed ones', async () => {
  assert(lpReference, 'needs the non-streaming answer');
  const stream = await client.chat.completions.create({ ...greedy, logprobs: true, top_logprobs: 3, stream: true });
  const lps = [];
  let text = '';
  for await (const chunk of stream) {
    const c = chunk.choices[0];
    if (!c) continue;
    if (typeof c.delta.content === 'string') text += c.delta.content;
    if (c.logprobs) lps.push(...c.logprobs.content);
  }
  checkChatLogprobs(lps, text, 3, 'stream');
  assert(text === lpReference.text, `stream ${JSON.stringify(text)} != ${JSON.stringify(lpReference.text)}`);
  assert(lps.length === lpReference.content.length, `${lps.length} streamed logprobs, ${lpReference.content.length} not streamed`);
  for (const [i, t] of lps.entries()) {
    const ref = lpReference.content[i];
    assert(t.token === ref.token && Math.abs(t.logprob - ref.logprob) < 1e-3,
      `token ${i}: ${JSON.stringify([t.token, t.logprob])} != ${JSON.stringify([ref.token, ref.logprob])}`);
  }
});

// ---- /v1/completions ----

const prompt = 'Once upon a time';
const textGreedy = { model, prompt, temperature: 0, seed: 1, max_tokens: maxTokens };

// Reads a text completion stream: the text of each choice, finish reasons,
// the usage chunk and the logprobs.
async function readTextStream(stream) {
  const out = { texts: [], finish: [], usage: null, tokens: [], offsets: [] };
  let n = 0;
  for await (const chunk of stream) {
    assert(chunk.object === 'text_completion', `chunk ${n}: object ${chunk.object}`);
    if (chunk.choices.length === 0) {
      assert(chunk.usage && !out.usage, `chunk ${n}: no choices without (or with a second) usage`);
      out.usage = chunk.usage;
    }
    for (const c of chunk.choices) {
      assert(out.finish[c.index] === undefined, `chunk ${n}: choice ${c.index} after its finish_reason`);
      out.texts[c.index] = (out.texts[c.index] ?? '') + c.text;
      if (c.finish_reason) out.finish[c.index] = c.finish_reason;
      if (c.logprobs) {
        out.tokens.push(...c.logprobs.tokens);
        out.offsets.push(...c.logprobs.text_offset);
      }
    }
    n++;
  }
  return out;
}

let textReference;

check('completions.create (prompt string, non-streaming)', async () => {
  const r = await client.completions.create(textGreedy);
  assert(r.object === 'text_completion', `object ${r.object}`);
  assert(typeof r.id === 'string' && r.id.length > 0, 'no id');
  assert(r.choices.length === 1, `${r.choices.length} choices`);
  const c = r.choices[0];
  assert(c.index === 0 && typeof c.text === 'string', `choice ${JSON.stringify(c)}`);
  assert(c.finish_reason === 'stop' || c.finish_reason === 'length', `finish_reason ${c.finish_reason}`);
  assert(c.logprobs === null, `logprobs ${JSON.stringify(c.logprobs)} without logprobs`);
  assertUsage(r.usage, 'completions');
  assert(r.usage.completion_tokens > 0, 'no tokens generated');
  textReference = { text: c.text, finish: c.finish_reason, usage: r.usage };
});

check('completions streamed (with include_usage) equal the non-streamed text', async () => {
  assert(textReference, 'needs the non-streaming completion');
  const s = await readTextStream(
    await client.completions.create({ ...textGreedy, stream: true, stream_options: { include_usage: true } }),
  );
  assert(s.texts.length === 1 && s.texts[0] === textReference.text, `stream ${JSON.stringify(s.texts)} != ${JSON.stringify(textReference.text)}`);
  assert(s.finish[0] === textReference.finish, `finish ${s.finish[0]} != ${textReference.finish}`);
  assertUsage(s.usage, 'completions stream');
  assert(s.usage.completion_tokens === textReference.usage.completion_tokens, `usage ${JSON.stringify(s.usage)}`);
});

check('completions with a prompt array answer one choice per prompt', async () => {
  const r = await client.completions.create({ ...textGreedy, prompt: [prompt, 'The sky is'], max_tokens: 4 });
  assert(r.choices.length === 2, `${r.choices.length} choices`);
  assert(r.choices[0].index === 0 && r.choices[1].index === 1, `indices ${r.choices.map((c) => c.index)}`);
  const first = r.choices[0].text;
  if (textReference && !first.includes('\uFFFD')) {
    assert(textReference.text.startsWith(first), `the first prompt's 4 tokens ${JSON.stringify(first)} do not start its 16`);
  }
});

check('completions with integer logprobs (non-streaming and streamed)', async () => {
  const r = await client.completions.create({ ...textGreedy, logprobs: 2 });
  const lp = r.choices[0].logprobs;
  assert(lp && Array.isArray(lp.tokens), `logprobs ${JSON.stringify(lp)}`);
  const n = lp.tokens.length;
  assert(n === r.usage.completion_tokens, `${n} tokens for ${r.usage.completion_tokens} completion tokens`);
  assert(lp.token_logprobs.length === n && lp.top_logprobs.length === n && lp.text_offset.length === n, 'logprobs arrays of different lengths');
  assert(lp.token_logprobs.every((v) => typeof v === 'number' && v <= 0), `token_logprobs ${lp.token_logprobs}`);
  for (const top of lp.top_logprobs) {
    const k = Object.keys(top).length;
    assert(k >= 1 && k <= 2, `top_logprobs entry ${JSON.stringify(top)}`);
  }
  assert(lp.text_offset[0] === 0 && lp.text_offset.every((o, i) => i === 0 || o >= lp.text_offset[i - 1]), `text_offset ${lp.text_offset}`);
  const joined = lp.tokens.join('');
  if (!joined.includes('\uFFFD')) assert(joined === r.choices[0].text, `tokens ${JSON.stringify(joined)} != text ${JSON.stringify(r.choices[0].text)}`);
  const s = await readTextStream(await client.completions.create({ ...textGreedy, logprobs: 2, stream: true }));
  assert(s.texts[0] === r.choices[0].text, 'streamed text differs');
  assert(JSON.stringify(s.tokens) === JSON.stringify(lp.tokens), `streamed tokens ${JSON.stringify(s.tokens)} != ${JSON.stringify(lp.tokens)}`);
  assert(JSON.stringify(s.offsets) === JSON.stringify(lp.text_offset), `streamed text_offset ${s.offsets} != ${lp.text_offset}`);
});

check('completions refuse suffix and echo with 400', async () => {
  await expectError(() => client.completions.create({ ...textGreedy, suffix: ' the end.' }), 400, (err) => {
    assert(err instanceof OpenAI.BadRequestError, 'not a BadRequestError');
    assert(err.param === 'suffix', `param ${err.param}`);
    assert(/suffix/.test(err.message), `message ${err.message}`);
  });
  await expectError(() => client.completions.create({ ...textGreedy, echo: true }), 400, (err) => {
    assert(err.param === 'echo', `param ${err.param}`);
  });
});

// ---- structured outputs: requests refused before any generation ----

check('an unsupported schema keyword is a 400 naming it', async () => {
  const schemaParam = 'response_format.json_schema.schema';
  // z.string().url() becomes {"format": "uri"}, which cannot be enforced.
  await expectError(
    () => client.chat.completions.parse({
      ...greedy,
      response_format: zodResponseFormat(z.object({ homepage: z.string().url() }), 'site'),
    }),
    400,
    (err) => {
      assert(err instanceof OpenAI.BadRequestError, 'not a BadRequestError');
      assert(err.param === schemaParam, `param ${err.param}`);
      assert(err.message.includes('format "uri"') && err.message.includes('/properties/homepage'), `message ${err.message}`);
    },
  );
  const not = { type: 'object', properties: { a: { type: 'integer', not: { const: 3 } } }, required: ['a'] };
  await expectError(
    () => client.chat.completions.create({
      ...greedy,
      response_format: { type: 'json_schema', json_schema: { name: 'not', schema: not, strict: true } },
    }),
    400,
    (err) => {
      assert(err.param === schemaParam, `param ${err.param}`);
      assert(/\bnot\b/.test(err.message), `message ${err.message}`);
    },
  );
  // Ollama's format takes a schema too.
  await expectError(
    () => client.chat.completions.create({ ...greedy, format: { type: 'object', patternProperties: { '^x': { type: 'string' } } } }),
    400,
    (err) => {
      assert(err.param === 'format', `param ${err.param}`);
      assert(err.message.includes('patternProperties'), `message ${err.message}`);
    },
  );
});

check('malformed response_format and top_logprobs are 400s', async () => {
  await expectError(
    () => client.chat.completions.create({ ...greedy, response_format: { type: 'json_schema', json_schema: { name: 'x' } } }),
    400,
    (err) => assert(err.param === 'response_format.json_schema.schema', `param ${err.param}`),
  );
  await expectError(
    () => client.chat.completions.create({ ...greedy, response_format: { type: 'yaml' } }),
    400,
    (err) => assert(err.param === 'response_format.type', `param ${err.param}`),
  );
  await expectError(
    () => client.chat.completions.create({ ...greedy, logprobs: true, top_logprobs: 21 }),
    400,
    (err) => assert(err.param === 'top_logprobs', `param ${err.param}`),
  );
});

// ---- structured outputs: generation (a real model) ----

if (jsonModel) {
  const ask = (content) => [{ role: 'user', content }];

  check('json_object streamed: the deltas of a finished answer parse as an object', async () => {
    const seeds = [1, 2, 3, 4, 5, 6];
    const finished = [];
    for (const seed of seeds) {
      const s = await readStream(await client.chat.completions.create({
        model: jsonModel, messages: ask('Describe a cat as a JSON object.'), temperature: 1, seed, max_tokens: 300,
        response_format: { type: 'json_object' }, stream: true,
      }));
      if (s.finish !== 'stop') continue; // cut by max_tokens: partial JSON, as documented
      let v;
      try {
        v = JSON.parse(s.text);
      } catch (err) {
        throw new Error(`seed ${seed}: finish_reason stop but not JSON (${err.message}): ${JSON.stringify(s.text)}`);
      }
      assert(v !== null && typeof v === 'object' && !Array.isArray(v), `seed ${seed}: not an object: ${s.text}`);
      finished.push(seed);
    }
    console.log(`  # json_object: ${finished.length}/${seeds.length} answers finished within 300 tokens`);
    assert(finished.length * 2 >= seeds.length, `only ${finished.length} of ${seeds.length} answers finished`);
  });

  check('logprobs of a json_object answer (temperature 1) spell it', async () => {
    const r = await client.chat.completions.create({
      model: jsonModel, messages: ask('Describe a dog as a JSON object.'), temperature: 1, seed: 4, max_tokens: 60,
      response_format: { type: 'json_object' }, logprobs: true, top_logprobs: 5,
    });
    const c = r.choices[0];
    checkChatLogprobs(c.logprobs?.content, c.message.content, 5, 'json_object', true);
    // Each pick was allowed, so its probability under the masked distribution is not 0.
    assert(c.logprobs.content.every((t) => t.logprob > -9999), 'a picked token has logprob -9999');
  });

  // The shapes the checks ask for: strings are bounded so that a model with
  // random weights ends them (an unbounded string of such a model rarely ends).
  const zodSchemas = {
    person: z.object({
      name: z.string().max(24),
      age: z.number().int().min(0).max(120),
      address: z.object({ city: z.string().max(24), zip: z.string().regex(/^[0-9]{5}$/) }).strict(),
    }).strict(),
    task_list: z.object({
      tasks: z.array(z.object({
        title: z.string().max(20),
        priority: z.enum(['low', 'medium', 'high']),
        done: z.boolean(),
      }).strict()).min(1).max(3),
    }).strict(),
    profile: z.object({
      nickname: z.string().max(16).nullable(),
      score: z.number().nullable().optional(),
      tags: z.array(z.string().max(10)).max(3).nullable(),
      manager: z.object({ name: z.string().max(16) }).strict().nullable(),
    }).strict(),
    reading: z.object({
      ratio: z.number().min(0).max(1),
      count: z.number().int().gt(0).lt(100),
      celsius: z.number().gte(-40).lte(60),
      step: z.number().int().multipleOf(5).min(0).max(50),
    }).strict(),
  };

  check('chat.completions.parse with zodResponseFormat validates with zod (4 schemas, temperature 1)', async () => {
    const want = 2; // complete answers per schema, from distinct seeds
    const tries = 4; // seeds tried per schema at most
    let attempts = 0;
    let cut = 0;
    const lines = [];
    for (const [name, schema] of Object.entries(zodSchemas)) {
      let ok = 0;
      let seed = 0;
      const got = [];
      while (ok < want && seed < tries) {
        seed++;
        attempts++;
        let r;
        try {
          r = await client.chat.completions.parse({
            model: jsonModel, messages: ask(`Fill in the ${name} form.`), temperature: 1, seed, max_tokens: 400,
            response_format: zodResponseFormat(schema, name),
          });
        } catch (err) {
          if (err instanceof LengthFinishReasonError) {
            cut++;
            got.push(`seed ${seed}: cut by max_tokens`);
            continue;
          }
          // A ZodError (the value breaks the schema) or a SyntaxError (not
          // JSON) is what structured outputs must never give.
          throw new Error(`${name}, seed ${seed}: ${err.constructor.name}: ${err.message}`);
        }
        const c = r.choices[0];
        assert(c.finish_reason === 'stop', `${name}, seed ${seed}: finish_reason ${c.finish_reason}`);
        const parsed = c.message.parsed;
        assert(parsed && typeof parsed === 'object', `${name}, seed ${seed}: parsed ${JSON.stringify(parsed)}`);
        // .strict() objects: zod has also refused members the schema does not declare.
        assert(JSON.stringify(parsed) === JSON.stringify(schema.parse(JSON.parse(c.message.content))),
          `${name}, seed ${seed}: parsed differs from the content`);
        ok++;
        got.push(`seed ${seed}: ${r.usage.completion_tokens} tokens`);
      }
      lines.push(`  # ${name}: ${got.join(', ')}`);
      assert(ok === want, `${name}: ${ok} complete answers in ${seed} seeds (${got.join('; ')})`);
    }
    console.log(lines.join('\n'));
    console.log(`  # ${cut} of ${attempts} answers cut by max_tokens (LengthFinishReasonError)`);
    assert(cut * 4 <= attempts, `${cut} of ${attempts} answers cut by max_tokens`);
  });

  // The SDK's stream helper parses the partial content after every delta and
  // throws "<content> is empty" while that content is only whitespace, which
  // the grammar allows before the value: a known incompatibility (an answer
  // whose first delta is whitespace breaks the helper). Such failures are
  // counted and shown; any other failure fails the check, and at least one
  // seed must give a parsed answer.
  check('chat.completions.stream with zodResponseFormat gives a parsed final message', async () => {
    const seeds = [1, 2, 3, 4];
    let ok = 0;
    const cut = [];
    for (const seed of seeds) {
      const stream = client.chat.completions.stream({
        model: jsonModel, messages: ask('Fill in the reading form.'), temperature: 1, seed, max_tokens: 400,
        response_format: zodResponseFormat(zodSchemas.reading, 'reading'),
      });
      let deltas = '';
      stream.on('content', (d) => { deltas += d; });
      let final;
      try {
        final = await stream.finalChatCompletion();
      } catch (err) {
        // An answer cut by max_tokens cannot parse; anything else (such as
        // a first delta the SDK's partial parser rejects) is a failure.
        if (err instanceof LengthFinishReasonError) {
          cut.push(seed);
          continue;
        }
        throw new Error(`seed ${seed}: ${err.constructor.name}: ${err.message}`);
      }
      const m = final.choices[0].message;
      assert(final.choices[0].finish_reason === 'stop', `seed ${seed}: finish_reason ${final.choices[0].finish_reason}`);
      assert(deltas === m.content, `seed ${seed}: the streamed deltas differ from the final content`);
      const v = m.parsed;
      assert(v && v.ratio >= 0 && v.ratio <= 1 && v.count > 0 && v.count < 100 && v.step % 5 === 0, `seed ${seed}: parsed ${JSON.stringify(v)}`);
      ok++;
    }
    assert(ok >= 2, `${ok} of ${seeds.length} seeds gave a parsed answer (cut by max_tokens: ${cut.join(', ') || 'none'})`);
  });

  check('Ollama-style format (a schema) constrains the answer', async () => {
    const r = await client.chat.completions.create({
      model: jsonModel, messages: ask('Is the sky blue?'), temperature: 1, seed: 2, max_tokens: 200,
      format: { type: 'object', properties: { answer: { type: 'boolean' }, confidence: { type: 'integer', minimum: 1, maximum: 5 } },
        required: ['answer', 'confidence'], additionalProperties: false },
    });
    const c = r.choices[0];
    assert(c.finish_reason === 'stop', `finish_reason ${c.finish_reason}: ${JSON.stringify(c.message.content)}`);
    const v = JSON.parse(c.message.content);
    assert(typeof v.answer === 'boolean' && Number.isInteger(v.confidence) && v.confidence >= 1 && v.confidence <= 5,
      `answer ${c.message.content}`);
    assert(Object.keys(v).length === 2, `members ${Object.keys(v)}`);
  });

  check('a structured answer cut by max_tokens is "length" and parse throws LengthFinishReasonError', async () => {
    const req = { model: jsonModel, messages: ask('Fill in the person form.'), temperature: 1, seed: 1, max_tokens: 3,
      response_format: zodResponseFormat(zodSchemas.person, 'person') };
    const r = await client.chat.completions.create(req);
    assert(r.choices[0].finish_reason === 'length', `finish_reason ${r.choices[0].finish_reason}`);
    assert(r.usage.completion_tokens === 3, `${r.usage.completion_tokens} tokens`);
    let threw = null;
    try {
      await client.chat.completions.parse(req);
    } catch (err) {
      threw = err;
    }
    assert(threw instanceof LengthFinishReasonError, `parse gave ${threw}`);
  });
} else {
  skip('structured-output generation checks', 'set BITNET_JSON_MODEL_ID to a model that follows response_format');
}

// ---- a base model ----

if (baseModel) {
  check('completions with a base model (non-streaming and streamed)', async () => {
    const req = { model: baseModel, prompt: 'The quick brown fox', temperature: 0, max_tokens: 8 };
    const r = await client.completions.create(req);
    assert(r.model === baseModel, `answered by ${r.model}`);
    assert(r.usage.completion_tokens > 0 && typeof r.choices[0].text === 'string', `answer ${JSON.stringify(r.choices[0])}`);
    const s = await readTextStream(await client.completions.create({ ...req, stream: true }));
    assert(s.texts[0] === r.choices[0].text, `stream ${JSON.stringify(s.texts[0])} != ${JSON.stringify(r.choices[0].text)}`);
    assert(s.finish[0] === r.choices[0].finish_reason, `finish ${s.finish[0]} != ${r.choices[0].finish_reason}`);
  });

  check('a base model refuses chat with 400 not_a_chat_model', async () => {
    await expectError(() => client.chat.completions.create({ ...greedy, model: baseModel }), 400, (err) => {
      assert(err.code === 'not_a_chat_model', `code ${err.code}`);
    });
  });
} else {
  skip('base model completions', 'set BITNET_BASE_MODEL_ID');
}

if (realKey) {
  check('a wrong API key is a 401 AuthenticationError', async () => {
    const bad = new OpenAI({ baseURL, apiKey: realKey + '-wrong', maxRetries: 0 });
    await expectError(() => bad.models.list(), 401, (err) => {
      assert(err instanceof OpenAI.AuthenticationError, 'not an AuthenticationError');
    });
  });
}

let passed = 0;
let failed = 0;
for (const { name, fn } of checks) {
  const start = Date.now();
  try {
    await fn();
    passed++;
    console.log(`ok - ${name} (${Date.now() - start} ms)`);
  } catch (err) {
    failed++;
    console.log(`not ok - ${name}: ${err?.stack || err}`);
  }
}
for (const line of skips) console.log(line);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
