// Checks BitNet Desktop's OpenAI-compatible server with the official `openai`
// npm client, the way people script against it.
//
//   BITNET_API_BASE   base URL (default http://127.0.0.1:8723/v1)
//   BITNET_API_KEY    key the server requires, if any
//   BITNET_MODEL_ID   model id the server reports (default bitnet-b1.58-2b4t)
//   BITNET_MAX_TOKENS answer length bound (default 16)
//   BITNET_SECOND_MODEL_ID another installed model the server offers (optional:
//                     then the model selection checks run)
//
// Prints one line per check and a final "N passed, N failed" line; exits 1
// when a check fails.
import OpenAI from 'openai';

const baseURL = process.env.BITNET_API_BASE || 'http://127.0.0.1:8723/v1';
const realKey = process.env.BITNET_API_KEY || '';
const model = process.env.BITNET_MODEL_ID || 'bitnet-b1.58-2b4t';
const maxTokens = Number(process.env.BITNET_MAX_TOKENS || 16);
const second = process.env.BITNET_SECOND_MODEL_ID || '';

// The SDK insists on a key; a server without one ignores it.
const client = new OpenAI({ baseURL, apiKey: realKey || 'no-key', timeout: 120_000, maxRetries: 2 });

const messages = [
  { role: 'system', content: 'You are a helpful assistant.' },
  { role: 'user', content: 'Name three colors.' },
];
const greedy = { model, messages, temperature: 0, seed: 1, max_tokens: maxTokens };

const checks = [];
const check = (name, fn) => checks.push({ name, fn });

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
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
