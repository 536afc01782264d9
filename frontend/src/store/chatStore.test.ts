// The chat store without React: Go is the fake backend (window.go / window.runtime), the frames
// are run by hand.
import { afterEach, describe, expect, it, vi } from "vitest";
import { api, onEvent } from "../api";
import type { AppError, Message } from "../api";
import { FakeBackend, conversation, fakeTokens, stats, type FakeOptions } from "../testing/fakeBackend";
import { ChatStore, type ChatStoreDeps } from "./chatStore";

let store: ChatStore | null = null;
let backend: FakeBackend | null = null;

afterEach(() => {
  store?.dispose();
  backend?.uninstall();
  store = null;
  backend = null;
  vi.useRealTimers();
});

function make(opts: FakeOptions = {}, deps: Partial<ChatStoreDeps> = {}) {
  backend = new FakeBackend({
    conversations: [conversation("c1", "First", [{ id: "u0", content: "Hello" }, { id: "a0", content: "Hi!", stats: stats({ contextUsed: 300 }) }])],
    ...opts,
  }).install();
  const frames: (() => void)[] = [];
  store = new ChatStore({
    api,
    onEvent,
    frame: (cb) => {
      frames.push(cb);
      return () => frames.splice(frames.indexOf(cb) >>> 0, 1);
    },
    graceMs: 0,
    watchdogMs: 60_000,
    ...deps,
  });
  const renders = { count: 0 };
  store.subscribe(() => renders.count++);
  const b = backend;
  const s = store;
  return {
    backend: b,
    store: s,
    renders,
    /** runs the pending animation frames (the streaming flush) */
    flush: () => frames.splice(0).forEach((f) => f()),
    snap: (id = "c1") => s.getSnapshot(id),
    text: (id = "c1") =>
      s
        .getSnapshot(id)
        .messages.map((m) => `${m.role[0]}:${m.content}`)
        .join("|"),
  };
}

/** Lets promises and 0-ms timers run. */
const settle = async (ms = 0) => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, ms));
};

async function opened(h: ReturnType<typeof make>, id = "c1") {
  h.store.open(id);
  await vi.waitFor(() => expect(h.snap(id).status).toBe("idle"));
}

const start = (b: FakeBackend, messageId = "a1", conversationId = "c1") =>
  b.emit("chat:start", { conversationId, messageId, modelId: "", model: "" });
const delta = (b: FakeBackend, seq: number, text: string, messageId = "a1", conversationId = "c1") =>
  b.emit("chat:delta", { conversationId, messageId, seq, text });
const done = (b: FakeBackend, content: string, messageId = "a1", conversationId = "c1", status: Message["status"] = "done") =>
  b.emit("chat:done", { conversationId, messageId, content, stats: stats({ contextUsed: 900 }), status });
const chatError = (b: FakeBackend, error: AppError, messageId = "a1", conversationId = "c1") =>
  b.emit("chat:error", { conversationId, messageId, error });

describe("streaming", () => {
  it("applies deltas in seq order, buffers gaps, ignores duplicates and events after the end", async () => {
    const h = make();
    await opened(h);
    start(h.backend);
    expect(h.snap().status).toBe("streaming");
    delta(h.backend, 0, "One, ");
    delta(h.backend, 2, "three.");
    h.flush();
    expect(h.text()).toBe("u:Hello|a:Hi!|a:One, ");
    delta(h.backend, 1, "two, ");
    delta(h.backend, 1, "two, ");
    h.flush();
    expect(h.text()).toBe("u:Hello|a:Hi!|a:One, two, three.");
    expect(h.snap().streaming).toBe(true);

    done(h.backend, "One, two, three!");
    expect(h.snap().status).toBe("idle");
    expect(h.text()).toBe("u:Hello|a:Hi!|a:One, two, three!");
    // late events of the finished answer
    delta(h.backend, 3, " more");
    start(h.backend);
    h.flush();
    expect(h.text()).toBe("u:Hello|a:Hi!|a:One, two, three!");
    expect(h.snap().status).toBe("idle");
  });

  it("labels an answer with the model loaded when it starts (as Go stores it); a model switch labels the next one", async () => {
    const h = make();
    await opened(h);
    const model = (id: string, displayName: string) => ({ ...h.backend.state.model!, id, displayName });
    h.backend.setState({ model: model("bitnet-b1.58-2b4t", "BitNet b1.58 2B4T") });
    start(h.backend);
    delta(h.backend, 0, "One.");
    h.flush();
    expect(h.snap().messages.at(-1)).toMatchObject({ modelId: "bitnet-b1.58-2b4t", model: "BitNet b1.58 2B4T" });
    done(h.backend, "One.");
    h.backend.setState({ model: model("falcon3-1b-instruct-1.58bit", "Falcon3 1B Instruct 1.58-bit") });
    start(h.backend, "a2");
    done(h.backend, "Two.", "a2");
    const [, , first, second] = h.snap().messages;
    expect(first).toMatchObject({ content: "One.", modelId: "bitnet-b1.58-2b4t", model: "BitNet b1.58 2B4T" });
    expect(second).toMatchObject({ content: "Two.", modelId: "falcon3-1b-instruct-1.58bit", model: "Falcon3 1B Instruct 1.58-bit" });
    // answers stored before the library keep no label
    expect(h.snap().messages[1]!.modelId).toBeUndefined();
  });

  it("copies many deltas into the snapshot once per frame", async () => {
    const h = make();
    await opened(h);
    start(h.backend);
    const before = h.renders.count;
    for (let i = 0; i < 200; i++) delta(h.backend, i, `${i} `);
    expect(h.renders.count - before).toBeLessThanOrEqual(1); // the status change at most
    h.flush();
    expect(h.renders.count - before).toBeLessThanOrEqual(2);
    expect(h.snap().messages.at(-1)!.content).toBe(Array.from({ length: 200 }, (_, i) => `${i} `).join(""));
  });

  it("keeps a snapshot the same object until its conversation changes", async () => {
    const h = make({ conversations: [conversation("c1", "a", [{ content: "Q" }]), conversation("c2", "b", [])] });
    await opened(h);
    const a = h.snap();
    expect(h.snap()).toBe(a);
    // events of another conversation leave this one alone
    start(h.backend, "x1", "c2");
    delta(h.backend, 0, "elsewhere", "x1", "c2");
    h.flush();
    done(h.backend, "elsewhere", "x1", "c2");
    expect(h.snap()).toBe(a);
    expect(h.snap("c2").messages.map((m) => m.content)).toEqual(["elsewhere"]);
    start(h.backend);
    expect(h.snap()).not.toBe(a);
  });

  it("shows the text streamed so far after a remount (the view left and came back)", async () => {
    const h = make();
    await opened(h);
    start(h.backend);
    delta(h.backend, 0, "First part, ");
    h.flush();
    h.store.leave("c1"); // unmounted
    delta(h.backend, 1, "second part.");
    h.flush();
    // Go stored only the beginning meanwhile; the stream is newer.
    h.backend.conversations.get("c1")!.messages.push({
      id: "a1",
      conversationId: "c1",
      role: "assistant",
      content: "First",
      createdAt: "",
      status: "streaming",
    });
    h.store.open("c1"); // mounted again
    expect(h.text()).toBe("u:Hello|a:Hi!|a:First part, second part.");
    await settle();
    expect(h.text()).toBe("u:Hello|a:Hi!|a:First part, second part.");
    expect(h.snap().status).toBe("streaming");
    delta(h.backend, 2, " Third.");
    h.flush();
    expect(h.text()).toBe("u:Hello|a:Hi!|a:First part, second part. Third.");
  });

  it("keeps streaming a conversation while another is shown, and shows all of it on return", async () => {
    const h = make({
      conversations: [conversation("c1", "a", [{ content: "Q1" }]), conversation("c2", "b", [{ content: "Q2" }])],
    });
    await opened(h);
    start(h.backend);
    delta(h.backend, 0, "Half ");
    h.flush();
    h.store.leave("c1");
    await opened(h, "c2");
    const c2 = h.snap("c2");
    delta(h.backend, 1, "and the rest.");
    h.flush();
    expect(h.snap("c2")).toBe(c2);
    done(h.backend, "Half and the rest.");
    h.store.leave("c2");
    h.store.open("c1");
    expect(h.text()).toBe("u:Q1|a:Half and the rest.");
    expect(h.snap().status).toBe("idle");
  });

  it("keeps the conversation's context use while a new answer runs; a new chat has none", async () => {
    const h = make();
    await opened(h);
    expect(h.snap().context).toEqual({ used: 300, size: 4096 });
    await h.store.regenerate("c1"); // the answer with the stats is removed
    expect(h.snap().context).toEqual({ used: 300, size: 4096 });
    expect(h.snap("").context).toBeNull();
  });
});

describe("send", () => {
  it("sends: sending, then the answer streams and ends", async () => {
    const h = make({ autoReply: { text: () => "Sure.", chunk: 2, intervalMs: 1, ttftMs: 1 } });
    h.backend.delays.set("SendMessage", 5);
    await opened(h);
    const p = h.store.send("c1", "  Question?  ");
    expect(h.snap().status).toBe("sending");
    expect(h.text()).toBe("u:Hello|a:Hi!|u:Question?");
    expect(await p).toBe(true);
    expect(h.backend.callsOf("SendMessage")).toEqual([["c1", "Question?"]]);
    expect(["awaiting", "streaming"]).toContain(h.snap().status);
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.text()).toBe("u:Hello|a:Hi!|u:Question?|a:Sure.");
    expect(h.snap().messages[2]!.id).not.toMatch(/^local-/);
  });

  it.each([
    ["context_length_exceeded", { tokens: 8800, limit: 3000 }],
    ["busy", { conversationId: "c9" }],
    ["model_not_loaded", undefined],
    ["no_model", undefined],
    ["invalid_request", undefined],
    ["io_error", undefined],
    ["internal", undefined],
  ])("a refused send (%s) ends at once with the reason and nothing kept", async (code, params) => {
    const h = make();
    await opened(h);
    h.backend.fail("SendMessage", code, `Go says ${code}`, params);
    expect(await h.store.send("c1", "Hi")).toBe(false);
    const s = h.snap();
    expect(s.status).toBe("error");
    expect(s.pending).toBe(false);
    expect(s.error).toMatchObject({ code, message: `Go says ${code}` });
    if (params) expect(s.error?.params).toEqual(params);
    expect(h.text()).toBe("u:Hello|a:Hi!");
    // the next send works
    expect(await h.store.send("c1", "Again")).toBe(true);
    expect(h.snap().error).toBeNull();
  });

  it("a message too long for the context is refused 20 times in a row without getting stuck", async () => {
    const h = make();
    await opened(h);
    const long = "word ".repeat(4000); // 20,000 characters
    expect(fakeTokens(long)).toBeGreaterThan(h.backend.draftLimit());
    for (let i = 0; i < 20; i++) {
      expect(await h.store.send("c1", long)).toBe(false);
      expect(h.snap()).toMatchObject({ status: "error", pending: false });
      expect(h.snap().error?.code).toBe("context_length_exceeded");
    }
    expect(h.backend.conversations.get("c1")!.messages).toHaveLength(2); // nothing stored
    expect(h.text()).toBe("u:Hello|a:Hi!");
  });

  it("a refused first message of a new chat leaves no conversation behind", async () => {
    const h = make({ conversations: [] });
    const created = vi.fn();
    const long = "x".repeat(20_000);
    for (let i = 0; i < 20; i++) {
      expect(await h.store.send("", long, created)).toBe(false);
      expect(h.snap("")).toMatchObject({ status: "error", pending: false, messages: [] });
      expect(h.snap("").error?.code).toBe("context_length_exceeded");
    }
    expect(created).not.toHaveBeenCalled();
    await settle();
    expect(h.backend.callsOf("DeleteConversation")).toHaveLength(20);
    expect(h.backend.conversations.size).toBe(0);
  });

  it("sending from the new chat creates the conversation, then hands it over once Go took the message", async () => {
    const h = make({ conversations: [] });
    const created = vi.fn();
    expect(await h.store.send("", "First!", created)).toBe(true);
    const id = h.backend.callsOf("SendMessage")[0]![0] as string;
    expect(created).toHaveBeenCalledWith(id);
    expect(h.snap("")).toMatchObject({ status: "idle", messages: [] });
    expect(h.snap(id).messages.map((m) => m.content)).toEqual(["First!"]);
    expect(h.snap(id).status).toBe("awaiting");
  });

  it("a failing CreateConversation ends the send with the reason", async () => {
    const h = make({ conversations: [] });
    h.backend.fail("CreateConversation", "io_error", "disk is read-only");
    expect(await h.store.send("", "Hi")).toBe(false);
    expect(h.snap("")).toMatchObject({ status: "error", messages: [] });
    expect(h.snap("").error?.code).toBe("io_error");
  });

  it("chat:error before SendMessage resolves: the answer shows the reason, nothing waits", async () => {
    const h = make();
    await opened(h);
    h.backend.afterSend = (c) =>
      chatError(h.backend, { code: "internal", message: "the engine failed" }, "a1", c.id);
    expect(await h.store.send("c1", "Hi")).toBe(true);
    const s = h.snap();
    expect(s.status).toBe("idle");
    expect(s.pending).toBe(false);
    expect(s.messages.at(-1)).toMatchObject({ id: "a1", role: "assistant", status: "error" });
    expect(s.messageErrors.a1).toMatchObject({ code: "internal", message: "the engine failed" });
  });

  it("chat:error before chat:start: the answer fails, the late chat:start is ignored", async () => {
    const h = make();
    await opened(h);
    expect(await h.store.send("c1", "Hi")).toBe(true);
    expect(h.snap().status).toBe("awaiting");
    chatError(h.backend, { code: "context_length_exceeded", message: "too long" });
    expect(h.snap().status).toBe("idle");
    start(h.backend);
    expect(h.snap().status).toBe("idle");
    expect(h.snap().messages.filter((m) => m.id === "a1")).toHaveLength(1);
    expect(h.snap().messages.at(-1)!.status).toBe("error");
  });

  it("no events at all after SendMessage: Go's state (nothing generating) ends the wait", async () => {
    const h = make();
    await opened(h);
    expect(await h.store.send("c1", "Hi")).toBe(true);
    expect(h.snap()).toMatchObject({ status: "awaiting", pending: true });
    h.backend.setState({ status: "ready", generatingConversationId: undefined });
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.text()).toBe("u:Hello|a:Hi!|u:Hi");
  });

  it("no events and no state either: the watchdog asks Go and ends the wait", async () => {
    const h = make({}, { watchdogMs: 20 });
    await opened(h);
    expect(await h.store.send("c1", "Hi")).toBe(true);
    expect(h.snap().status).toBe("awaiting");
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"), { timeout: 2000 });
    expect(h.backend.callsOf("GetState").length).toBeGreaterThan(0);
  });

  it("a state that says nothing runs, followed at once by one that says it does, changes nothing", async () => {
    const h = make({}, { graceMs: 30 });
    await opened(h);
    h.backend.setState({ seq: 10 });
    start(h.backend);
    // out of order (Wails dev): an older "not generating" arrives first
    h.backend.emit("state", { ...h.backend.state, seq: 11, generatingConversationId: undefined });
    h.backend.emit("state", { ...h.backend.state, seq: 12, generatingConversationId: "c1" });
    h.backend.emit("state", { ...h.backend.state, seq: 9, generatingConversationId: undefined }); // stale
    await settle(40);
    expect(h.snap().status).toBe("streaming");
    expect(h.backend.callsOf("GetConversation")).toHaveLength(1); // only the open
  });

  it("a streaming answer whose chat:done never comes ends when Go says nothing runs", async () => {
    const h = make();
    await opened(h);
    h.backend.setState({ generatingConversationId: "c1" });
    start(h.backend);
    delta(h.backend, 0, "Partial");
    h.flush();
    h.backend.conversations.get("c1")!.messages.push({
      id: "a1", conversationId: "c1", role: "assistant", content: "Partial", createdAt: "", status: "cancelled",
    });
    h.backend.setState({ generatingConversationId: undefined });
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.snap().messages.at(-1)).toMatchObject({ content: "Partial", status: "cancelled" });
  });
});

describe("stop", () => {
  it("stops a streaming answer and keeps its text", async () => {
    const h = make();
    await opened(h);
    start(h.backend);
    delta(h.backend, 0, "Partial ans");
    h.flush();
    await h.store.stop("c1");
    expect(h.backend.callsOf("StopGeneration")).toHaveLength(1);
    done(h.backend, "Partial ans", "a1", "c1", "cancelled");
    expect(h.snap()).toMatchObject({ status: "idle", pending: false });
    expect(h.snap().messages.at(-1)).toMatchObject({ content: "Partial ans", status: "cancelled" });
  });

  it("Stop before the answer started stops it as soon as Go took the message", async () => {
    const h = make({ autoReply: { text: () => "a long answer", ttftMs: 50, intervalMs: 50 } });
    h.backend.delays.set("SendMessage", 30);
    await opened(h);
    const sent = h.store.send("c1", "Hi");
    expect(h.snap().status).toBe("sending");
    await h.store.stop("c1");
    expect(await sent).toBe(true);
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.backend.callsOf("StopGeneration").length).toBeGreaterThanOrEqual(2);
    expect(h.snap().messages.at(-1)).toMatchObject({ role: "assistant", status: "cancelled" });
  });

  it("Stop when the answer's end was lost: Go's state settles it at once", async () => {
    const h = make();
    await opened(h);
    start(h.backend);
    expect(h.snap().status).toBe("streaming");
    await h.store.stop("c1"); // Go has nothing running: its state says so
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
  });
});

describe("regenerate and edit", () => {
  it("regenerate removes the last answer at once and streams the new one", async () => {
    const h = make({ autoReply: { text: () => "New answer", chunk: 3, intervalMs: 1, ttftMs: 1 } });
    h.backend.delays.set("Regenerate", 5);
    await opened(h);
    const p = h.store.regenerate("c1");
    expect(h.text()).toBe("u:Hello");
    expect(h.snap().status).toBe("sending");
    await p;
    expect(h.backend.callsOf("Regenerate")).toEqual([["c1"]]);
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.text()).toBe("u:Hello|a:New answer");
  });

  it("a refused regenerate puts the answer back and says why", async () => {
    const h = make();
    await opened(h);
    h.backend.fail("Regenerate", "busy", "an answer is being generated");
    await h.store.regenerate("c1");
    expect(h.text()).toBe("u:Hello|a:Hi!");
    expect(h.snap()).toMatchObject({ status: "error", error: { code: "busy" } });
  });

  it("edit replaces the message, drops the later ones and streams the answer", async () => {
    const h = make({ autoReply: { text: () => "Edited answer", chunk: 4, intervalMs: 1, ttftMs: 1 } });
    h.backend.delays.set("EditMessage", 5);
    await opened(h);
    const p = h.store.edit("c1", "u0", "Hello again");
    expect(h.text()).toBe("u:Hello again");
    await p;
    expect(h.backend.callsOf("EditMessage")).toEqual([["c1", "u0", "Hello again"]]);
    await vi.waitFor(() => expect(h.text()).toBe("u:Hello again|a:Edited answer"));
    expect(h.snap().status).toBe("idle");
  });

  it("a refused edit restores the conversation", async () => {
    const h = make();
    await opened(h);
    h.backend.fail("EditMessage", "model_not_loaded", "the model is not loaded");
    await h.store.edit("c1", "u0", "Changed");
    expect(h.text()).toBe("u:Hello|a:Hi!");
    expect(h.snap()).toMatchObject({ status: "error", error: { code: "model_not_loaded" } });
    h.store.clearError("c1");
    expect(h.snap()).toMatchObject({ status: "idle", error: null });
  });
});

describe("loading", () => {
  it("loads a conversation once opened, and says why it could not", async () => {
    const h = make();
    h.store.open("c1");
    expect(h.snap().status).toBe("loading");
    await vi.waitFor(() => expect(h.snap().status).toBe("idle"));
    expect(h.snap().title).toBe("First");
    h.store.open("nope");
    await vi.waitFor(() => expect(h.snap("nope").status).toBe("error"));
    expect(h.snap("nope").error?.code).toBe("not_found");
    h.store.leave("nope");
    expect(h.snap("nope")).toMatchObject({ status: "idle", error: null });
  });

  it("stops listening when disposed", async () => {
    const h = make();
    await opened(h);
    h.store.dispose();
    start(h.backend);
    expect(h.snap().status).toBe("idle");
  });
});
