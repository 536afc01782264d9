#!/usr/bin/env node
// Screenshot harness: serves the built app (dist/) with the fake Go backend injected, drives
// Debian's Chromium with playwright-core, and writes PNGs to e2e/out/.
// Run `npm run build` first. Usage: node e2e/screenshots.mjs [name-filter]
import { build } from "esbuild";
import { createServer } from "node:http";
import { mkdirSync, readFileSync, existsSync } from "node:fs";
import { extname, join, dirname, normalize } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const dist = join(root, "dist");
const out = join(root, "e2e", "out");
const filter = process.argv[2] ?? "";
mkdirSync(out, { recursive: true });
if (!existsSync(join(dist, "index.html"))) {
  console.error("dist/index.html missing: run `npm run build` first");
  process.exit(1);
}

// The mock backend, bundled as a classic script that runs before the app's module script.
const mock = await build({
  entryPoints: [join(root, "src", "testing", "harness.ts")],
  bundle: true,
  format: "iife",
  target: "es2022",
  write: false,
});
const mockJs = mock.outputFiles[0].text;

const types = { ".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".svg": "image/svg+xml", ".png": "image/png" };
const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  if (url.pathname === "/__mock.js") {
    res.writeHead(200, { "content-type": "text/javascript" });
    return res.end(mockJs);
  }
  const rel = url.pathname === "/" ? "index.html" : normalize(url.pathname).replace(/^[/\\]+/, "");
  const file = join(dist, rel);
  if (!file.startsWith(dist) || !existsSync(file)) {
    res.writeHead(404);
    return res.end();
  }
  let body = readFileSync(file);
  if (rel === "index.html") {
    body = Buffer.from(body.toString().replace("<head>", '<head><script src="/__mock.js"></script>'));
  }
  res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" });
  res.end(body);
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
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

const shots = [];
async function page({ scenario = "chat", theme = "light", lang = "en", locale = "en-US", colorScheme = "light", extra = "" }) {
  const ctx = await browser.newContext({ viewport: { width: 1280, height: 800 }, locale, colorScheme, deviceScaleFactor: 1 });
  const p = await ctx.newPage();
  const errors = [];
  p.on("pageerror", (e) => errors.push(String(e)));
  p.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await p.goto(`${base}/?scenario=${scenario}&theme=${theme}&lang=${lang}${extra}`);
  await p.waitForSelector('[data-testid="app"]');
  return { p, ctx, errors };
}
async function snap(name, fn) {
  if (filter && !name.includes(filter)) return;
  const t0 = Date.now();
  const { p, ctx, errors } = await fn();
  const file = join(out, `${name}.png`);
  await p.screenshot({ path: file, animations: "disabled" });
  await ctx.close();
  shots.push(file);
  console.log(`${file} (${Date.now() - t0} ms)${errors.length ? `  page errors: ${errors.join(" | ")}` : ""}`);
}

async function chatFlow(opts, { streaming = false, openStatus = true } = {}) {
  const r = await page(opts);
  const { p } = r;
  await p.locator('[data-testid="conversation-item"]').first().locator("button").first().click();
  await p.waitForSelector('[data-testid="message"][data-role="assistant"]');
  const prompt = opts.lang === "es" || (opts.locale ?? "").startsWith("es") ? "Escribe una función de Python que compruebe palíndromos." : "Write a Python function that checks whether a string is a palindrome.";
  await p.fill('[data-testid="composer"]', prompt);
  await p.keyboard.press("Enter");
  if (openStatus) await p.click('[data-testid="status-toggle"]');
  if (streaming) {
    await p.waitForFunction(() => {
      const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      const last = ms[ms.length - 1];
      return last && last.getAttribute("data-status") === "streaming" && (last.textContent ?? "").includes("[::-1]");
    });
  } else {
    await p.waitForFunction(() => {
      const ms = document.querySelectorAll('[data-testid="message"][data-role="assistant"]');
      return ms.length >= 2 && ms[ms.length - 1].getAttribute("data-status") === "done";
    }, null, { timeout: 20000 });
    await p.waitForTimeout(150);
  }
  return r;
}

try {
  await snap("onboarding", () => page({ scenario: "onboarding" }));
  await snap("onboarding-downloading", async () => {
    const r = await page({ scenario: "onboarding" });
    await r.p.click('[data-testid="download-button"]');
    await r.p.evaluate(() =>
      window.__fake.setState({
        download: { state: "running", bytesDone: 463_200_000, bytesTotal: 1_187_801_280, bytesPerSecond: 11_800_000, etaSeconds: 61, attempt: 1 },
      }),
    );
    await r.p.waitForTimeout(400);
    return r;
  });
  await snap("onboarding-failed", async () => {
    const r = await page({ scenario: "onboarding" });
    await r.p.evaluate(() =>
      window.__fake.setState({
        status: "error",
        download: {
          state: "failed", bytesDone: 812_000_000, bytesTotal: 1_187_801_280, bytesPerSecond: 0, etaSeconds: 0, attempt: 3,
          error: { code: "checksum_mismatch", message: "sha256 mismatch: got 13939ce5…, want 4221b252…" },
        },
      }),
    );
    return r;
  });
  await snap("onboarding-offline", async () => {
    // The download waits to retry after a failed attempt: the reason and the countdown, not "Connecting…".
    const r = await page({ scenario: "offline" });
    await r.p.waitForSelector('[data-testid="download-retry-in"]');
    return r;
  });
  await snap("empty", () => page({ scenario: "chat" }));
  await snap("chat-streaming", () => chatFlow({ scenario: "chat" }, { streaming: true }));
  await snap("chat", () => chatFlow({ scenario: "chat", extra: "&dropped=2" }));
  await snap("chat-scrolled-up", async () => {
    // While an answer streams, scrolling up must stop the auto-scroll and offer "Jump to latest".
    const r = await page({ scenario: "chat", extra: "&long=1" });
    const { p } = r;
    await p.locator('[data-testid="conversation-item"]').first().locator("button").first().click();
    await p.waitForSelector('[data-testid="message"][data-role="assistant"]');
    await p.fill('[data-testid="composer"]', "Write a Python function that checks whether a string is a palindrome.");
    await p.keyboard.press("Enter");
    await p.waitForFunction(() => (document.querySelector('[data-testid="message-list"]')?.textContent ?? "").includes("How it works"));
    const list = p.locator('[data-testid="message-list"]');
    await list.hover();
    await p.mouse.wheel(0, -250);
    await p.waitForTimeout(200);
    const before = await list.evaluate((el) => el.scrollTop);
    await p.waitForTimeout(700);
    const after = await list.evaluate((el) => el.scrollTop);
    const jump = await p.locator('[data-testid="jump-latest"]').isVisible();
    if (Math.abs(after - before) > 2 || !jump) throw new Error(`auto-scroll did not stop: ${before} -> ${after}, jump=${jump}`);
    console.log(`  scrolled up: scrollTop stayed at ${after}, "Jump to latest" shown`);
    return r;
  });
  if (!filter || "render-rate".includes(filter)) {
    // Deltas every ~4 ms (far more than Go sends): the UI must still commit at most ~once a frame.
    const { p, ctx } = await page({ scenario: "chat", extra: "&long=1&fast=1" });
    await p.locator('[data-testid="conversation-item"]').first().locator("button").first().click();
    await p.waitForSelector('[data-testid="message"][data-role="assistant"]');
    await p.evaluate(() => {
      const w = window;
      w.__log = [];
      const t0 = performance.now();
      new MutationObserver(() => w.__log.push(["m", performance.now() - t0])).observe(
        document.querySelector('[data-testid="message-list"]'),
        { subtree: true, childList: true, characterData: true },
      );
      w.runtime.EventsOnMultiple("chat:delta", () => w.__log.push(["d", performance.now() - t0]), -1);
    });
    await p.fill('[data-testid="composer"]', "Write a Python function that checks whether a string is a palindrome.");
    await p.keyboard.press("Enter");
    await p.waitForFunction(() => document.querySelector('[data-testid="message"][data-status="done"]:last-of-type') !== null
      && [...document.querySelectorAll('[data-testid="message"][data-role="assistant"]')].at(-1).dataset.status === "done", null, { timeout: 30000 });
    const log = await p.evaluate(() => window.__log);
    await ctx.close();
    const d = log.filter((x) => x[0] === "d");
    const first = d[0][1];
    const last = d[d.length - 1][1];
    const secs = Math.max(0.001, (last - first) / 1000);
    const m = log.filter((x) => x[0] === "m" && x[1] >= first && x[1] <= last);
    const commits = Math.round(m.length / secs);
    console.log(`render rate: ${d.length} deltas in ${secs.toFixed(2)} s (${Math.round(d.length / secs)}/s) -> ${m.length} DOM updates (${commits}/s)`);
    if (commits > 75) throw new Error(`too many renders: ${commits}/s`);
  }
  await snap("settings", async () => {
    const r = await page({ scenario: "chat" });
    await r.p.click('[data-testid="settings-button"]');
    await r.p.waitForSelector('[data-testid="settings-dialog"]');
    return r;
  });
  await snap("settings-server", async () => {
    const r = await page({ scenario: "chat" });
    await r.p.click('[data-testid="settings-button"]');
    await r.p.click('[data-testid="settings-serverEnabled"]');
    await r.p.locator('[data-testid="server-url"]').scrollIntoViewIfNeeded();
    return r;
  });
  await snap("library", async () => {
    // The model library open: installed models (one loaded, a base model, an imported file), a
    // download running, the catalog with sizes, memory, family and license.
    const r = await page({ scenario: "library" });
    await r.p.waitForSelector('[data-testid="library-installed"]');
    await r.p.waitForSelector('[data-testid="library-available"]');
    return r;
  });
  await snap("library-conversation", async () => {
    // A chat whose answer came from another model than the loaded one: its label and the offer to switch.
    const r = await page({ scenario: "library", extra: "&open=0" });
    await r.p.locator('[data-testid="conversation-item"]').first().locator("button").first().click();
    await r.p.waitForSelector('[data-testid="message-model"]');
    await r.p.waitForSelector('[data-testid="conversation-model-banner"]');
    return r;
  });
  await snap("dark-chat", () => chatFlow({ scenario: "chat", theme: "system", colorScheme: "dark" }));
  await snap("dark-onboarding", () => page({ scenario: "onboarding", theme: "dark" }));
  await snap("dark-settings", async () => {
    const r = await page({ scenario: "chat", theme: "dark" });
    await r.p.click('[data-testid="settings-button"]');
    await r.p.waitForSelector('[data-testid="settings-dialog"]');
    return r;
  });
  await snap("es-chat", () => chatFlow({ scenario: "chat", lang: "", locale: "es-ES" }));
  await snap("es-onboarding", () => page({ scenario: "onboarding", lang: "es", locale: "es-ES" }));
  await snap("es-empty", () => page({ scenario: "chat", lang: "es", locale: "es-ES" }));
} finally {
  await browser.close();
  server.close();
}
console.log(`${shots.length} screenshots in ${out}`);
