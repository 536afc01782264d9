#!/usr/bin/env node
// End-to-end test of BitNet Desktop: the real Go backend (the Wails dev build, which serves the
// app and its IPC over a websocket) driven through Debian's Chromium with playwright-core.
// Started by run.sh, which builds the binaries, makes a synthetic model, serves it over HTTP and
// starts Xvfb. This script starts (and, for the restart check, restarts) the app itself.
//
// Environment (all set by run.sh):
//   E2E_OUT        folder for the app logs
//   E2E_SHOTS      folder for the screenshots (default E2E_OUT/screenshots)
//   E2E_ROOT       the repository (the app runs there)
//   E2E_ASSETS     the built front end for -assetdir (default E2E_ROOT/frontend/dist)
//   E2E_APP        the dev binary (go build -tags dev,webkit2_41)
//   E2E_DATA_DIR   BITNET_DATA_DIR for the app
//   E2E_MODEL_URL  BITNET_DOWNLOAD_URL: the synthetic model on the local server
//   E2E_LOG_URL    the model server's request log (JSON)
//   E2E_PIDFILE    where the app's PIDs are appended (run.sh kills them on exit)
//   DISPLAY        the Xvfb display
//
// Each check prints "ok NAME" or "FAIL NAME: why"; the last line is "N passed, N failed".
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, readdirSync, rmSync, statSync, closeSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium } from "playwright-core";

const env = (k) => {
  const v = process.env[k];
  if (!v) {
    console.error(`e2e.mjs: ${k} is not set (run tests/e2e/run.sh)`);
    process.exit(2);
  }
  return v;
};
const OUT = env("E2E_OUT");
const ROOT = env("E2E_ROOT");
const APP = env("E2E_APP");
const DATA = env("E2E_DATA_DIR");
const MODEL_URL = env("E2E_MODEL_URL");
const LOG_URL = env("E2E_LOG_URL");
const PIDFILE = process.env.E2E_PIDFILE ?? "";
const ASSETS = process.env.E2E_ASSETS ?? join(ROOT, "frontend/dist");
const SHOTS = process.env.E2E_SHOTS ?? join(OUT, "screenshots");
mkdirSync(SHOTS, { recursive: true });

const en = JSON.parse(readFileSync(join(ROOT, "frontend/src/i18n/en.json"), "utf8"));
const es = JSON.parse(readFileSync(join(ROOT, "frontend/src/i18n/es.json"), "utf8"));

const T0 = Date.now();
const since = () => `${((Date.now() - T0) / 1000).toFixed(1)}s`;

// ---------------------------------------------------------------- checks

let passed = 0;
let failed = 0;

class Failure extends Error {}
function expect(cond, msg) {
  if (!cond) throw new Failure(msg);
}

const slug = (s) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 60);

async function check(name, fn) {
  const t = Date.now();
  try {
    const note = await fn();
    passed++;
    console.log(`ok   ${name}${note ? `: ${note}` : ""} (${Date.now() - t} ms)`);
    return true;
  } catch (e) {
    failed++;
    const why = String(e?.message ?? e).split("\n").filter(Boolean).slice(0, 3).join(" | ");
    console.log(`FAIL ${name}: ${why} (${Date.now() - t} ms)`);
    if (page && !page.isClosed()) {
      await shot(`e2e-fail-${slug(name)}`).catch(() => {});
      // What Go says now, and the last states the page received.
      const diag = await Promise.race([
        page
          .evaluate(async () => {
            const s = await window.go.main.App.GetState();
            return { goState: { status: s.status, stage: s.loadStage, dl: s.download?.state, gen: s.generatingConversationId }, lastEvents: (window.__states ?? []).slice(-4) };
          })
          .catch((err) => ({ error: String(err) })),
        sleep(5000).then(() => ({ error: "GetState timed out" })),
      ]);
      console.log(`     diagnostics: ${JSON.stringify(diag)}`);
    }
    return false;
  }
}

function notRun(name, why) {
  failed++;
  console.log(`FAIL ${name}: not run (${why})`);
}

/** Runs checks in order; once one fails, the rest of the step are counted as failed, not run. */
async function step(title, checks, { requires = true } = {}) {
  console.log(`== ${title} [${since()}]`);
  if (!requires) {
    for (const [name] of checks) notRun(name, "an earlier step failed");
    return false;
  }
  let ok = true;
  for (const [name, fn] of checks) {
    if (!ok) notRun(name, "an earlier check of this step failed");
    else ok = await check(name, fn);
  }
  return ok;
}

// ---------------------------------------------------------------- the app process

let app = null; // { proc, exited: Promise<{code, signal}>, log }
let starts = 0;
let port = 0;
let base = "";

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function startApp() {
  starts++;
  if (!port) {
    port = await freePort();
    base = `http://127.0.0.1:${port}/`;
  }
  const logPath = join(OUT, `app-${starts}.log`);
  const fd = openSync(logPath, "w");
  const proc = spawn(APP, ["-devserver", `127.0.0.1:${port}`, "-assetdir", ASSETS], {
    cwd: ROOT,
    env: {
      ...process.env,
      BITNET_DATA_DIR: DATA,
      BITNET_DOWNLOAD_URL: MODEL_URL,
      // The default answer length (step 3 raises it in the settings, step 4 lowers it).
      BITNET_MAX_TOKENS: process.env.E2E_MAX_TOKENS ?? "400",
      DBUS_SESSION_BUS_ADDRESS: "unix:path=/nonexistent",
    },
    stdio: ["ignore", fd, fd],
  });
  closeSync(fd);
  if (PIDFILE && proc.pid) appendFileSync(PIDFILE, `${proc.pid}\n`);
  const exited = new Promise((resolve) => proc.on("exit", (code, signal) => resolve({ code, signal })));
  app = { proc, exited, logPath, done: false };
  exited.then(() => (app && app.proc === proc ? (app.done = true) : null));
  // Wait for the dev server (event-driven would need a log watcher; a quick poll is simpler).
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (app.done) throw new Failure(`the app exited at start; see ${logPath}:\n${tail(logPath)}`);
    try {
      const r = await fetch(base, { signal: AbortSignal.timeout(2000) });
      if (r.ok) break;
    } catch {}
    if (Date.now() > deadline) throw new Failure(`the dev server did not answer on ${base} within 60 s`);
    await sleep(200);
  }
}

async function stopApp(timeoutMs = 20_000) {
  if (!app) return null;
  const a = app;
  if (!a.done) a.proc.kill("SIGTERM");
  const r = await Promise.race([a.exited, sleep(timeoutMs).then(() => null)]);
  if (r === null) {
    a.proc.kill("SIGKILL");
    await a.exited;
  }
  app = null;
  return r;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
function tail(path, n = 15) {
  try {
    return readFileSync(path, "utf8").trimEnd().split("\n").slice(-n).join("\n");
  } catch {
    return "";
  }
}
async function serverLog() {
  const r = await fetch(LOG_URL);
  return (await r.json()).log;
}

// ---------------------------------------------------------------- the browser

const profile = mkdtempSync(join(tmpdir(), "bitnet-e2e-chromium-"));
let ctx = null;
let page = null;
const pageErrors = [];

async function openPage() {
  page = await ctx.newPage();
  page.setDefaultTimeout(30_000);
  page.on("pageerror", (e) => {
    pageErrors.push(String(e));
    console.log(`  page error: ${e}`);
  });
  page.on("console", (m) => {
    if (m.type() === "error") console.log(`  console error: ${m.text()}`);
  });
  await page.goto(base, { waitUntil: "domcontentloaded" });
  await page.waitForSelector('[data-testid="app"]');
  await page.waitForFunction(() => !!(window.runtime?.EventsOn && window.go?.main?.App));
  // Record the backend's events, to check what the UI shows against what Go sent.
  await page.evaluate(() => {
    const w = window;
    w.__states = [];
    w.__deltas = [];
    w.__done = [];
    w.__errors = [];
    w.runtime.EventsOn("state", (s) =>
      w.__states.push({ seq: s.seq ?? 0, status: s.status, dl: s.download?.state ?? null, bytes: s.download?.bytesDone ?? 0, stage: s.loadStage ?? null }),
    );
    w.runtime.EventsOn("chat:delta", (d) => w.__deltas.push(d));
    w.runtime.EventsOn("chat:done", (d) => w.__done.push(d));
    w.runtime.EventsOn("chat:error", (d) => w.__errors.push(d));
  });
}

async function shot(name) {
  await page.screenshot({ path: join(SHOTS, `${name}.png`), animations: "disabled" });
}

/** Calls a bound Go method from the page (window.go.main.App.NAME). */
const call = (name, ...args) => page.evaluate(([n, a]) => window.go.main.App[n](...a), [name, args]);

const tid = (id) => `[data-testid="${id}"]`;
const assistant = () => page.locator('[data-testid="message"][data-role="assistant"]');
const statusIs = (s) => page.locator(`${tid("status-panel")}[data-status="${s}"]`);

/** The last assistant message in the DOM: id, status and text. */
const lastAssistant = () =>
  page.evaluate(() => {
    const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
    const m = ms[ms.length - 1];
    if (!m) return null;
    return {
      id: m.getAttribute("data-message-id"),
      status: m.getAttribute("data-status"),
      text: m.querySelector('[data-testid="message-content"]')?.textContent ?? "",
      count: ms.length,
    };
  });

/** The ids of the assistant messages shown now. */
const assistantIds = () =>
  page.evaluate(() => [...document.querySelectorAll('[data-testid="message"][data-role="assistant"]')].map((m) => m.getAttribute("data-message-id")));

/** Waits until the last assistant message is a new one (not in `known`) and has streamed some text. */
async function waitStreaming(known, timeout = 60_000) {
  await page.waitForFunction(
    (known) => {
      const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const m = ms[ms.length - 1];
      if (!m || known.includes(m.getAttribute("data-message-id"))) return false;
      const text = m.querySelector('[data-testid="message-content"]')?.textContent ?? "";
      return m.getAttribute("data-status") !== "streaming" || text.length > 0;
    },
    known,
    { timeout },
  );
}

/** Waits until the last assistant message is a new one (not in `known`) and has finished. */
async function waitFinished(known, timeout = 120_000) {
  await page.waitForFunction(
    (known) => {
      const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const m = ms[ms.length - 1];
      if (!m || known.includes(m.getAttribute("data-message-id"))) return false;
      const s = m.getAttribute("data-status");
      return s === "done" || s === "cancelled" || s === "error";
    },
    known,
    { timeout },
  );
  return lastAssistant();
}

/**
 * Records the last assistant message (id, status, text length) at every DOM change, in the page,
 * until stopRecorder(): each React commit that changes the text is one observation.
 */
const startRecorder = () =>
  page.evaluate(() => {
    const w = window;
    w.__samples = [];
    const sample = () => {
      const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const m = ms[ms.length - 1];
      if (!m) return;
      w.__samples.push({
        id: m.getAttribute("data-message-id"),
        status: m.getAttribute("data-status"),
        len: (m.querySelector('[data-testid="message-content"]')?.textContent ?? "").length,
      });
    };
    w.__recorder = new MutationObserver(sample);
    w.__recorder.observe(document.body, { subtree: true, childList: true, characterData: true, attributes: true });
  });
const stopRecorder = () =>
  page.evaluate(() => {
    window.__recorder.disconnect();
    return window.__samples;
  });

async function setMaxTokens(n) {
  await page.click(tid("settings-button"));
  await page.waitForSelector(tid("settings-dialog"));
  await page.fill(tid("settings-maxTokens"), String(n));
  await page.click(tid("settings-save"));
  await page.waitForSelector(tid("settings-dialog"), { state: "detached" });
  const s = await call("GetSettings");
  expect(s.maxTokens === n, `GetSettings().maxTokens = ${s.maxTokens}, want ${n}`);
}

async function setLanguage(lang) {
  await page.click(tid("settings-button"));
  await page.waitForSelector(tid("settings-dialog"));
  await page.selectOption(tid("language-select"), lang);
  await page.click(tid("settings-save"));
  await page.waitForSelector(tid("settings-dialog"), { state: "detached" });
  const s = await call("GetSettings");
  expect(s.language === lang, `GetSettings().language = ${JSON.stringify(s.language)}, want ${JSON.stringify(lang)}`);
}

async function send(text) {
  const composer = page.locator(tid("composer"));
  await composer.click();
  await composer.fill(text);
  await composer.press("Enter");
}

// ---------------------------------------------------------------- the run

const watchdog = setTimeout(async () => {
  console.log(`FAIL the whole run: still running after ${process.env.E2E_TIMEOUT_S ?? 420} s; giving up`);
  failed++;
  await finish(1);
}, Number(process.env.E2E_TIMEOUT_S ?? 420) * 1000);

let finishing = false;
async function finish(code) {
  if (finishing) return;
  finishing = true;
  clearTimeout(watchdog);
  try {
    await ctx?.close();
  } catch {}
  await stopApp(10_000).catch(() => {});
  rmSync(profile, { recursive: true, force: true });
  console.log(`e2e time ${since()}`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(code ?? (failed > 0 ? 1 : 0));
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => void finish(1));

const partPath = join(DATA, "models", "model.gguf.part");
const modelPath = join(DATA, "models", "model.gguf");
let modelSize = 0;
let convId = "";
let firstAnswer = null; // { id, content }
let stoppedAnswer = null;

try {
  modelSize = (await (await fetch(LOG_URL)).json()).size;
  ctx = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    headless: true,
    viewport: { width: 1280, height: 800 },
    deviceScaleFactor: 1,
    locale: "en-US",
    colorScheme: "light",
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
  for (const p of ctx.pages()) await p.close();

  // 1. Onboarding, download, conversion, load.
  const setup = await step("1. onboarding, download, convert, load", [
    [
      "the app starts and its front end connects",
      async () => {
        await startApp();
        await openPage();
        return `dev server ${base}`;
      },
    ],
    [
      "onboarding is shown while no model is installed",
      async () => {
        await page.waitForSelector(tid("onboarding"));
        await page.waitForSelector(tid("download-button"));
        await page.waitForSelector(`${tid("status-panel")}[data-status="not_installed"]`);
        const st = await call("GetState");
        expect(st.status === "not_installed" && !st.modelPresent, `state ${st.status}, modelPresent ${st.modelPresent}`);
        const title = await page.textContent("h1.onboarding__title");
        expect(title === en.onboarding.title, `title ${JSON.stringify(title)}`);
        await shot("01-onboarding");
      },
    ],
    [
      "clicking Download shows the download progress",
      async () => {
        await page.click(tid("download-button"));
        await page.waitForSelector(`${tid("download-progress")}[data-state="running"]`);
        await page.waitForFunction(() => window.__states.some((s) => s.dl === "running" && s.bytes > 0));
        // Let the bar and the byte count show something.
        await page.waitForFunction(() => {
          const v = Number(document.querySelector('[data-testid="download-progress"] [role="progressbar"]')?.getAttribute("aria-valuenow") ?? 0);
          return v > 0 || document.querySelector('[data-testid="download-progress"]') === null;
        });
        const bytes = await page.textContent(tid("download-bytes")).catch(() => "");
        await shot("02-downloading");
        return bytes;
      },
    ],
    [
      "Pause keeps the partial file; Resume continues",
      async () => {
        await page.click(tid("download-pause"));
        await page.waitForSelector(`${tid("download-progress")}[data-state="paused"]`);
        expect(existsSync(partPath), `no partial file ${partPath}`);
        const part = statSync(partPath).size;
        expect(part > 0 && part < modelSize, `partial file has ${part} of ${modelSize} bytes`);
        await shot("03-download-paused");
        await page.click(tid("download-resume"));
        return `paused at ${part} of ${modelSize} bytes`;
      },
    ],
    [
      "the download completes, the model converts and loads, status becomes ready",
      async () => {
        // The conversion of a small model takes a second or two: try to catch it on screen.
        const progress = page.locator(tid("load-progress"));
        const ready = statusIs("ready");
        await Promise.race([progress.waitFor({ timeout: 120_000 }), ready.waitFor({ timeout: 120_000 })]);
        if (await progress.isVisible()) await shot("04-converting").catch(() => {});
        await ready.waitFor({ timeout: 120_000 });
        // In snapshot order (AppState.seq): the dev server may deliver events out of order.
        const seen = await page.evaluate(() => [...window.__states].sort((a, b) => a.seq - b.seq).map((s) => s.status));
        const order = seen.filter((s, i) => s !== seen[i - 1]);
        expect(order.includes("downloading"), `statuses seen: ${order.join(" > ")}`);
        expect(order.includes("converting") || order.includes("loading"), `no converting/loading status: ${order.join(" > ")}`);
        expect(order.at(-1) === "ready", `last status: ${order.at(-1)}`);
        const st = await call("GetState");
        expect(st.status === "ready" && st.modelPresent && st.model, `state ${st.status}`);
        await page.waitForSelector(tid("empty-state"));
        const text = await page.textContent(tid("status-text"));
        expect(text === en.status.states.ready, `status text ${JSON.stringify(text)}`);
        const ph = await page.getAttribute(tid("composer"), "placeholder");
        expect(ph === en.chat.placeholder, `composer placeholder ${JSON.stringify(ph)}`);
        await shot("05-ready");
        // The status details name the kernel that multiplies the ternary weights.
        await page.click(tid("status-toggle"));
        await page.waitForSelector(tid("status-details"));
        const kernel = (await page.textContent(tid("status-kernel")))?.trim();
        expect(["AVX-512 VNNI", "AVX-VNNI", "AVX2"].includes(kernel), `kernel ${JSON.stringify(kernel)} (model.kernel ${st.model.kernel})`);
        await shot("05-status-details");
        await page.click(tid("status-toggle"));
        return `${order.join(" > ")}; model ${st.model.name || "?"}, ${st.model.weightType}, ctx ${st.model.contextSize}, kernel ${kernel}`;
      },
    ],
    [
      "the model file is in the data dir and the paused download resumed with a Range request",
      async () => {
        expect(existsSync(modelPath) && statSync(modelPath).size === modelSize, `${modelPath} missing or not ${modelSize} bytes`);
        expect(!existsSync(partPath), "the .part file is still there");
        const cache = readdirSync(join(DATA, "cache"), { recursive: true });
        expect(cache.some((f) => String(f).endsWith(".gguf")), `no converted model in ${join(DATA, "cache")}: ${cache.join(", ")}`);
        const st = await call("GetState");
        expect(st.model.path === modelPath, `model.path ${st.model.path}`);
        const gets = (await serverLog()).filter((e) => e.path === "/model.gguf" && e.method === "GET");
        const resumed = gets.find((e) => /^bytes=[1-9]\d*-$/.test(e.range ?? "") && e.status === 206);
        expect(resumed, `no 206 answer to a Range request: ${JSON.stringify(gets)}`);
        return `${gets.length} requests; resumed with ${resumed.range}`;
      },
    ],
  ]);

  // 2. A new chat, streamed.
  const chatted = await step(
    "2. new chat, streaming",
    [
      [
        "New chat: Enter sends the message and the conversation appears in the sidebar",
        async () => {
          await page.click(tid("new-chat"));
          await startRecorder();
          await send("Hello! Tell me something about ternary weights.");
          await page.waitForSelector('[data-testid="message"][data-role="user"]');
          const u = await page.textContent('[data-testid="message"][data-role="user"] [data-testid="message-content"]');
          expect(u.includes("ternary weights"), `user message ${JSON.stringify(u)}`);
          await page.waitForSelector(tid("conversation-item"));
          convId = await page.getAttribute(tid("conversation-item"), "data-id");
          expect(convId, "no conversation id");
        },
      ],
      [
        "assistant tokens stream: the text grows over several observations",
        async () => {
          await waitStreaming([]);
          const m = await lastAssistant();
          if (m.status === "streaming") await shot("06-chat-streaming");
          const done = await waitFinished([]);
          const samples = (await stopRecorder()).filter((s) => s.id === done.id);
          const streaming = samples.filter((s) => s.status === "streaming" && s.len > 0).map((s) => s.len);
          const distinct = [...new Set(streaming)];
          expect(distinct.length >= 2, `only ${distinct.length} distinct text lengths seen while streaming (${samples.length} DOM changes; final ${done.status}, ${done.text.length} chars)`);
          expect(distinct.at(-1) > distinct[0], `the text did not grow: ${distinct.slice(0, 10).join(", ")}`);
          const deltas = await page.evaluate((id) => window.__deltas.filter((d) => d.messageId === id).length, done.id);
          return `${distinct.length} distinct lengths (${distinct[0]} .. ${distinct.at(-1)} chars), ${deltas} chat:delta events`;
        },
      ],
      [
        "the final message is done and shows its metrics (tokens, tok/s)",
        async () => {
          const m = await lastAssistant();
          expect(m.status === "done", `status ${m.status}`);
          expect(m.text.trim().length > 0, "empty answer");
          const metrics = await page.textContent(`[data-message-id="${m.id}"] ${tid("message-metrics")}`);
          expect(/\d+ tokens?/.test(metrics) && /tok\/s/.test(metrics), `metrics ${JSON.stringify(metrics)}`);
          const done = await page.evaluate((id) => window.__done.find((d) => d.messageId === id), m.id);
          expect(done && done.stats.completionTokens > 0 && done.stats.decodeTps > 0, `chat:done ${JSON.stringify(done?.stats)}`);
          firstAnswer = { id: m.id, content: done.content };
          await shot("07-chat-done");
          return `${metrics}; finish ${done.stats.finishReason}`;
        },
      ],
      [
        "the streamed deltas (ordered by seq) add up to the final text",
        async () => {
          const { deltas, done } = await page.evaluate(
            (id) => ({ deltas: window.__deltas.filter((d) => d.messageId === id), done: window.__done.find((d) => d.messageId === id) }),
            firstAnswer.id,
          );
          // (Wails' dev server may deliver events out of order: the UI orders them by seq.)
          deltas.sort((a, b) => a.seq - b.seq);
          const seqs = deltas.map((d) => d.seq);
          expect(seqs.every((s, i) => s === i), `seq not 0..n-1: ${seqs.slice(0, 20).join(",")}`);
          const joined = deltas.map((d) => d.text).join("");
          expect(joined === done.content, `deltas give ${joined.length} chars, chat:done has ${done.content.length}: ${JSON.stringify(joined.slice(-40))} vs ${JSON.stringify(done.content.slice(-40))}`);
        },
      ],
    ],
    { requires: setup },
  );

  // 3. Stop a long answer.
  const stopped = await step(
    "3. stop a long answer",
    [
      ["settings: max tokens 2048 saved", () => setMaxTokens(2048)],
      [
        "Esc stops the answer while it streams",
        async () => {
          const known = await assistantIds();
          await send("Write a very long story about a lighthouse keeper, with many chapters.");
          await waitStreaming(known);
          const m = await lastAssistant();
          expect(m.status === "streaming", `the answer finished before it could be stopped (${m.status}, ${m.text.length} chars)`);
          expect(await page.isVisible(tid("stop")), "no Stop button while streaming");
          const t = Date.now();
          await page.keyboard.press("Escape");
          const end = await waitFinished(known, 15_000);
          stoppedAnswer = { id: end.id, shownAtStop: m.text.length };
          return `stopped ${Date.now() - t} ms after Esc, ${m.text.length} chars shown when Esc was pressed`;
        },
      ],
      [
        "the stopped answer keeps its partial text with status cancelled",
        async () => {
          const m = await lastAssistant();
          expect(m.id === stoppedAnswer.id && m.status === "cancelled", `status ${m.status}`);
          expect(m.text.length > 0, "the partial text is gone");
          const note = await page.textContent(`[data-message-id="${m.id}"] .message__note`);
          expect(note === en.chat.stopped, `note ${JSON.stringify(note)}`);
          const done = await page.evaluate((id) => window.__done.find((d) => d.messageId === id), m.id);
          expect(done?.status === "cancelled" && done.stats.finishReason === "cancelled", `chat:done ${done?.status}/${done?.stats?.finishReason}`);
          expect(done.stats.completionTokens < 2048, `completionTokens ${done.stats.completionTokens}`);
          const conv = await call("GetConversation", convId);
          const saved = conv.messages.find((x) => x.id === m.id);
          expect(saved?.status === "cancelled" && saved.content === done.content && saved.content.length > 0, `stored: ${saved?.status}, ${saved?.content?.length} chars`);
          await page.waitForSelector(tid("send"));
          await statusIs("ready").waitFor();
          await shot("08-stopped");
          return `${done.stats.completionTokens} tokens kept`;
        },
      ],
    ],
    { requires: chatted },
  );

  // 4. Regenerate.
  await step(
    "4. regenerate the last answer",
    [
      ["settings: max tokens 200 saved", () => setMaxTokens(200)],
      [
        "Regenerate replaces the last answer with a new one",
        async () => {
          const before = await lastAssistant();
          const known = await assistantIds();
          const nBefore = known.length;
          const target = page.locator(`[data-message-id="${before.id}"]`);
          await target.hover();
          await target.locator(tid("regenerate")).click();
          const m = await waitFinished(known, 120_000);
          expect(m.status === "done" && m.text.trim().length > 0, `new answer ${m.status}, ${m.text.length} chars`);
          expect((await page.locator(`[data-message-id="${before.id}"]`).count()) === 0, "the old answer is still shown");
          expect((await assistant().count()) === nBefore, `${await assistant().count()} assistant messages, was ${nBefore}`);
          const conv = await call("GetConversation", convId);
          const last = conv.messages.at(-1);
          expect(last.id === m.id && !conv.messages.some((x) => x.id === before.id), "the stored conversation was not updated");
          await shot("09-regenerated");
          return `${before.id.slice(0, 8)} -> ${m.id.slice(0, 8)}`;
        },
      ],
    ],
    { requires: stopped || chatted },
  );

  // 5. Restart with the same data dir.
  let restarted = false;
  let convBefore = null;
  restarted = await step(
    "5. restart",
    [
      [
        "the app shuts down on SIGTERM",
        async () => {
          convBefore = await call("GetConversation", convId);
          await page.close();
          const t = Date.now();
          const r = await stopApp();
          expect(r, "still running 20 s after SIGTERM (killed)");
          expect(r.code === 0 || r.signal === "SIGTERM", `exit ${JSON.stringify(r)}`);
          const log = readFileSync(join(OUT, `app-${starts}.log`), "utf8");
          expect(log.includes("shutdown complete"), "no 'shutdown complete' in the log");
          return `exited in ${Date.now() - t} ms (${r.code ?? r.signal})`;
        },
      ],
      [
        "it starts again and loads the model from the data dir (no new download)",
        async () => {
          const getsBefore = (await serverLog()).filter((e) => e.path === "/model.gguf").length;
          await startApp();
          await openPage();
          await statusIs("ready").waitFor({ timeout: 120_000 });
          const st = await call("GetState");
          expect(st.model?.path === modelPath, `model.path ${st.model?.path}`);
          expect(!(await page.isVisible(tid("onboarding"))), "onboarding shown");
          const getsAfter = (await serverLog()).filter((e) => e.path === "/model.gguf").length;
          expect(getsAfter === getsBefore, `${getsAfter - getsBefore} new download requests`);
        },
      ],
      [
        "the conversation is in the sidebar and opens with its messages",
        async () => {
          const item = page.locator(`${tid("conversation-item")}[data-id="${convId}"]`);
          await item.waitFor();
          const title = (await item.locator(".conversation__title").textContent()) ?? "";
          expect(title === (convBefore.title || en.sidebar.untitled), `title ${JSON.stringify(title)}, want ${JSON.stringify(convBefore.title)}`);
          await item.locator("button").first().click();
          const want = convBefore.messages.filter((m) => m.role !== "system");
          await page.waitForFunction((n) => document.querySelectorAll('[data-testid="message"]').length === n, want.length);
          const shown = await page.evaluate(() =>
            [...document.querySelectorAll('[data-testid="message"]')].map((m) => ({
              id: m.getAttribute("data-message-id"),
              role: m.getAttribute("data-role"),
              status: m.getAttribute("data-status"),
              text: m.querySelector('[data-testid="message-content"]')?.textContent ?? "",
            })),
          );
          want.forEach((w, i) => {
            const s = shown[i];
            expect(s.id === w.id && s.role === w.role, `message ${i}: ${s.role} ${s.id}, want ${w.role} ${w.id}`);
            if (w.role === "assistant") expect(s.status === w.status, `message ${i} status ${s.status}, want ${w.status}`);
            if (w.role === "user") expect(s.text === w.content, `message ${i} text ${JSON.stringify(s.text)}`);
          });
          const heading = await page.textContent(tid("conversation-title"));
          expect(heading === title, `heading ${JSON.stringify(heading)}`);
          await shot("10-restarted");
          return `${title}: ${want.length} messages`;
        },
      ],
    ],
    { requires: !!convId },
  );

  // 6. Spanish.
  await step(
    "6. Spanish",
    [
      ["settings: language Español saved", () => setLanguage("es")],
      [
        "the main screen shows Spanish strings",
        async () => {
          await page.waitForFunction((ph) => document.querySelector('[data-testid="composer"]')?.getAttribute("placeholder") === ph, es.chat.placeholder);
          const got = await page.evaluate(() => ({
            lang: document.documentElement.lang,
            newChat: document.querySelector('[data-testid="new-chat"]')?.textContent?.trim(),
            status: document.querySelector('[data-testid="status-text"]')?.textContent,
            hint: document.querySelector(".composer__hint")?.textContent,
            settings: document.querySelector('[data-testid="settings-button"]')?.getAttribute("aria-label"),
            search: document.querySelector('[data-testid="search"]')?.getAttribute("placeholder"),
          }));
          expect(got.lang === "es", `<html lang=${got.lang}>`);
          expect(got.newChat === es.sidebar.newChat, `new chat ${JSON.stringify(got.newChat)}`);
          expect(got.status === es.status.states.ready, `status ${JSON.stringify(got.status)}`);
          expect(got.hint === es.chat.hint, `hint ${JSON.stringify(got.hint)}`);
          expect(got.settings === es.sidebar.settings, `settings ${JSON.stringify(got.settings)}`);
          expect(got.search === es.sidebar.search, `search ${JSON.stringify(got.search)}`);
          await shot("es-chat");
          await page.click(tid("new-chat"));
          await page.waitForSelector(tid("empty-state"));
          const empty = await page.textContent(".empty-state__title");
          expect(empty === es.chat.emptyTitle, `empty state ${JSON.stringify(empty)}`);
          await shot("es-empty");
          await page.click(tid("settings-button"));
          await page.waitForSelector(tid("settings-dialog"));
          const dlg = await page.textContent(tid("settings-dialog"));
          expect(dlg.includes(es.settings.title) && dlg.includes(es.settings.maxTokens), "settings dialog not in Spanish");
          await shot("es-settings");
          await page.keyboard.press("Escape");
          await page.waitForSelector(tid("settings-dialog"), { state: "detached" });
        },
      ],
      [
        "switching back to the system language shows English again",
        async () => {
          await setLanguage("");
          await page.waitForFunction((ph) => document.querySelector('[data-testid="composer"]')?.getAttribute("placeholder") === ph, en.chat.placeholder);
          const nc = (await page.textContent(tid("new-chat")))?.trim();
          expect(nc === en.sidebar.newChat, `new chat ${JSON.stringify(nc)}`);
          await page.locator(`${tid("conversation-item")}[data-id="${convId}"] button`).first().click();
          await page.waitForSelector('[data-testid="message"]');
          await shot("11-english-again");
        },
      ],
    ],
    { requires: restarted },
  );

  await step("page health", [
    [
      "no uncaught errors in the page",
      async () => {
        expect(pageErrors.length === 0, pageErrors.slice(0, 3).join(" | "));
      },
    ],
  ]);
} catch (e) {
  failed++;
  console.log(`FAIL the run stopped: ${e?.stack ?? e}`);
}
await finish();
