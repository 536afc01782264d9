#!/usr/bin/env node
// A tiny HTTP server for the end-to-end test: serves one model file at /model.gguf with
// Range/If-Range support (so a paused download can resume), throttled so that the download
// takes a few seconds and its progress can be seen, and logs every request at /__log.
//
//   node model-server.mjs FILE PORT_FILE [SECONDS]
//
// Listens on 127.0.0.1 on a free port and writes the port to PORT_FILE. SECONDS (default 3)
// is how long a full download should take.
import { createServer } from "node:http";
import { createReadStream, statSync, writeFileSync, renameSync } from "node:fs";

const [file, portFile, secondsArg] = process.argv.slice(2);
if (!file || !portFile) {
  console.error("usage: model-server.mjs FILE PORT_FILE [SECONDS]");
  process.exit(2);
}
const st = statSync(file);
const size = st.size;
const etag = `"${size.toString(16)}-${Math.floor(st.mtimeMs).toString(16)}"`;
const lastModified = st.mtime.toUTCString();
const seconds = Number(secondsArg ?? 3);
const rate = Math.max(64 * 1024, Math.ceil(size / Math.max(0.1, seconds))); // bytes per second
const CHUNK = 16 * 1024;
const log = [];

function parseRange(h) {
  const m = /^bytes=(\d*)-(\d*)$/.exec((h ?? "").trim());
  if (!m || (m[1] === "" && m[2] === "")) return null;
  let start, end;
  if (m[1] === "") {
    // suffix range: the last N bytes
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === "" ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return { start, end };
}

const server = createServer((req, res) => {
  const url = new URL(req.url ?? "/", "http://x");
  const entry = { t: Date.now(), method: req.method, path: url.pathname, range: req.headers.range ?? null, ifRange: req.headers["if-range"] ?? null };
  log.push(entry);
  if (url.pathname === "/__log") {
    res.writeHead(200, { "content-type": "application/json" });
    return res.end(JSON.stringify({ size, etag, log: log.filter((e) => e.path !== "/__log") }));
  }
  if (url.pathname !== "/model.gguf" || (req.method !== "GET" && req.method !== "HEAD")) {
    entry.status = 404;
    res.writeHead(404);
    return res.end();
  }
  let start = 0;
  let end = size - 1;
  let status = 200;
  const headers = {
    "content-type": "application/octet-stream",
    "accept-ranges": "bytes",
    etag,
    "last-modified": lastModified,
  };
  const ifRange = req.headers["if-range"];
  const rangeOk = !ifRange || ifRange === etag || ifRange === lastModified;
  if (req.headers.range && rangeOk) {
    const r = parseRange(req.headers.range);
    if (!r || r.start >= size || r.start > r.end) {
      entry.status = 416;
      res.writeHead(416, { "content-range": `bytes */${size}` });
      return res.end();
    }
    ({ start, end } = r);
    status = 206;
    headers["content-range"] = `bytes ${start}-${end}/${size}`;
  }
  headers["content-length"] = String(end - start + 1);
  entry.status = status;
  res.writeHead(status, headers);
  if (req.method === "HEAD") return res.end();

  // Throttled copy: CHUNK bytes at a time, paced to `rate`.
  const stream = createReadStream(file, { start, end, highWaterMark: CHUNK });
  const t0 = Date.now();
  let sent = 0;
  let closed = false;
  res.on("close", () => {
    closed = true;
    entry.sent = sent;
    entry.aborted = sent < end - start + 1;
    stream.destroy();
  });
  stream.on("data", (chunk) => {
    stream.pause();
    const ok = res.write(chunk);
    sent += chunk.length;
    entry.sent = sent;
    const due = t0 + (sent / rate) * 1000 - Date.now();
    const next = () => !closed && stream.resume();
    if (!ok) res.once("drain", () => setTimeout(next, Math.max(0, due)));
    else setTimeout(next, Math.max(0, due));
  });
  stream.on("end", () => res.end());
  stream.on("error", () => res.destroy());
});

server.listen(0, "127.0.0.1", () => {
  const port = server.address().port;
  writeFileSync(portFile + ".tmp", String(port));
  renameSync(portFile + ".tmp", portFile);
  console.log(`model server: http://127.0.0.1:${port}/model.gguf (${size} bytes, ${rate} B/s)`);
});
for (const sig of ["SIGTERM", "SIGINT"]) process.on(sig, () => process.exit(0));
