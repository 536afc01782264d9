import { useCallback, useEffect, useRef, useState } from "react";
import { api, toAppError, useEvent } from "../api";
import type { AppError, Message } from "../api";

/** Text streamed so far for one assistant message, rebuilt in `seq` order. */
type Stream = {
  conversationId: string;
  text: string;
  nextSeq: number;
  /** deltas that arrived before an earlier one (a gap), by seq */
  pending: Map<number, string>;
};

export type ChatApi = ReturnType<typeof useChat>;

type Options = {
  /** Called when sending from "new chat" created a conversation; the parent should select it. */
  onConversationCreated?: (id: string) => void;
  /** AppState.generatingConversationId, to know a generation is running before chat:start. */
  generatingConversationId?: string;
};

let localSeq = 0;

const frame: (cb: () => void) => number =
  typeof requestAnimationFrame === "function"
    ? (cb) => requestAnimationFrame(() => cb())
    : (cb) => window.setTimeout(cb, 16);
const cancelFrame: (id: number) => void =
  typeof cancelAnimationFrame === "function" ? (id) => cancelAnimationFrame(id) : (id) => window.clearTimeout(id);

function emptyAssistant(conversationId: string, id: string): Message {
  return {
    id,
    conversationId,
    role: "assistant",
    content: "",
    createdAt: new Date().toISOString(),
    status: "streaming",
  };
}

/**
 * One conversation's messages and its streaming answer.
 *
 * `chat:delta` events are applied in `seq` order into a per-message buffer (kept for every
 * conversation, so switching away and back mid-answer shows the full text), and copied into React
 * state at most once per animation frame. `chat:done` content replaces whatever was streamed.
 */
export function useChat(conversationId: string | null, options: Options = {}) {
  const [messages, setMessages] = useState<Message[]>([]);
  const [messageErrors, setMessageErrors] = useState<Record<string, AppError>>({});
  const [error, setError] = useState<AppError | null>(null);
  const [loading, setLoading] = useState(false);
  const [sending, setSending] = useState(false);
  const [awaiting, setAwaiting] = useState(false);

  const streams = useRef(new Map<string, Stream>());
  /** answers that got chat:done/chat:error: later events for them are stale (out of order) */
  const finished = useRef(new Set<string>());
  const currentId = useRef(conversationId);
  const fresh = useRef(new Set<string>());
  const dirty = useRef(new Set<string>());
  const raf = useRef<number | null>(null);
  const messagesRef = useRef(messages);
  messagesRef.current = messages;
  /** counts chat:start/done/error for the selected conversation, to tell if one came during a call */
  const tick = useRef(0);
  const optionsRef = useRef(options);
  optionsRef.current = options;

  // Follow the selected conversation synchronously so events are routed right away.
  if (currentId.current !== conversationId) currentId.current = conversationId;

  const flush = useCallback(() => {
    raf.current = null;
    const ids = new Set(dirty.current);
    dirty.current.clear();
    if (ids.size === 0) return;
    setMessages((ms) => {
      let changed = false;
      const next = ms.map((m) => {
        const s = ids.has(m.id) ? streams.current.get(m.id) : undefined;
        if (!s || m.content === s.text) return m;
        changed = true;
        return { ...m, content: s.text, status: "streaming" as const };
      });
      for (const id of ids) {
        const s = streams.current.get(id);
        if (s && s.conversationId === currentId.current && !ms.some((m) => m.id === id)) {
          next.push({ ...emptyAssistant(s.conversationId, id), content: s.text });
          changed = true;
        }
      }
      return changed ? next : ms;
    });
  }, []);

  const scheduleFlush = useCallback(
    (messageId: string) => {
      dirty.current.add(messageId);
      if (raf.current === null) raf.current = frame(flush);
    },
    [flush],
  );

  useEffect(
    () => () => {
      if (raf.current !== null) cancelFrame(raf.current);
    },
    [],
  );

  // Load the conversation when the selection changes.
  useEffect(() => {
    setError(null);
    setAwaiting(false);
    setMessageErrors({});
    for (const id of fresh.current) if (id !== conversationId) fresh.current.delete(id);
    if (!conversationId) {
      setMessages([]);
      setLoading(false);
      return;
    }
    // Keep what is already known about this conversation (a message being sent, a streamed answer).
    setMessages((ms) => ms.filter((m) => m.conversationId === conversationId));
    // Just created by send(): there is nothing to fetch.
    if (fresh.current.has(conversationId)) return;
    let alive = true;
    setLoading(true);
    api
      .getConversation(conversationId)
      .then((c) => {
        if (!alive) return;
        setMessages((local) => {
          const ids = new Set(c.messages.map((m) => m.id));
          const merged = c.messages.map((m) => {
            const s = streams.current.get(m.id);
            return s && s.nextSeq > 0 ? { ...m, content: s.text, status: "streaming" as const } : m;
          });
          for (const m of local) if (!ids.has(m.id)) merged.push(m);
          return merged;
        });
      })
      .catch((e) => alive && setError(toAppError(e)))
      .finally(() => alive && setLoading(false));
    return () => {
      alive = false;
    };
  }, [conversationId]);

  useEvent("chat:start", (e) => {
    if (finished.current.has(e.messageId)) return;
    streams.current.set(e.messageId, { conversationId: e.conversationId, text: "", nextSeq: 0, pending: new Map() });
    if (e.conversationId !== currentId.current) return;
    tick.current++;
    setAwaiting(false);
    setMessages((ms) => (ms.some((m) => m.id === e.messageId) ? ms : [...ms, emptyAssistant(e.conversationId, e.messageId)]));
  });

  useEvent("chat:delta", (e) => {
    if (finished.current.has(e.messageId)) return;
    let s = streams.current.get(e.messageId);
    if (!s) {
      s = { conversationId: e.conversationId, text: "", nextSeq: 0, pending: new Map() };
      streams.current.set(e.messageId, s);
    }
    if (e.seq < s.nextSeq) return; // already applied
    s.pending.set(e.seq, e.text ?? "");
    while (s.pending.has(s.nextSeq)) {
      s.text += s.pending.get(s.nextSeq);
      s.pending.delete(s.nextSeq);
      s.nextSeq++;
    }
    if (e.conversationId === currentId.current) scheduleFlush(e.messageId);
  });

  useEvent("chat:done", (e) => {
    finished.current.add(e.messageId);
    streams.current.delete(e.messageId);
    dirty.current.delete(e.messageId);
    if (e.conversationId !== currentId.current) return;
    tick.current++;
    setAwaiting(false);
    setMessages((ms) => {
      const i = ms.findIndex((m) => m.id === e.messageId);
      const base = i >= 0 ? ms[i]! : emptyAssistant(e.conversationId, e.messageId);
      const done: Message = { ...base, content: e.content ?? base.content, stats: e.stats, status: e.status || "done" };
      if (i < 0) return [...ms, done];
      const next = ms.slice();
      next[i] = done;
      return next;
    });
  });

  useEvent("chat:error", (e) => {
    finished.current.add(e.messageId);
    streams.current.delete(e.messageId);
    dirty.current.delete(e.messageId);
    if (e.conversationId !== currentId.current) return;
    tick.current++;
    setAwaiting(false);
    const known = !!e.messageId && messagesRef.current.some((m) => m.id === e.messageId);
    if (!known) {
      setError(e.error);
      return;
    }
    setMessages((ms) => ms.map((m) => (m.id === e.messageId ? { ...m, status: "error" as const } : m)));
    setMessageErrors((errs) => ({ ...errs, [e.messageId]: e.error }));
  });

  // If Go says nothing is generating for this conversation any more, stop waiting for chat:start.
  const generatingHere = !!conversationId && options.generatingConversationId === conversationId;
  const wasGeneratingHere = useRef(generatingHere);
  useEffect(() => {
    if (wasGeneratingHere.current && !generatingHere) setAwaiting(false);
    wasGeneratingHere.current = generatingHere;
  }, [generatingHere]);
  // Safety net: never show a Stop button forever if no event comes.
  useEffect(() => {
    if (!awaiting) return;
    const id = window.setTimeout(() => setAwaiting(false), 120_000);
    return () => window.clearTimeout(id);
  }, [awaiting]);

  const send = useCallback(async (text: string): Promise<boolean> => {
    const body = text.trim();
    if (!body) return false;
    setError(null);
    setSending(true);
    let convId = currentId.current;
    if (!convId) {
      try {
        const c = await api.createConversation();
        convId = c.id;
        fresh.current.add(c.id);
        currentId.current = c.id;
        optionsRef.current.onConversationCreated?.(c.id);
      } catch (e) {
        setError(toAppError(e));
        setSending(false);
        return false;
      }
    }
    const temp: Message = {
      id: `local-${++localSeq}`,
      conversationId: convId,
      role: "user",
      content: body,
      createdAt: new Date().toISOString(),
      status: "done",
    };
    setMessages((ms) => [...ms, temp]);
    const before = tick.current;
    try {
      const saved = await api.sendMessage(convId, body);
      setMessages((ms) =>
        ms.some((m) => m.id === saved.id)
          ? ms.filter((m) => m.id !== temp.id)
          : ms.map((m) => (m.id === temp.id ? saved : m)),
      );
      if (currentId.current === convId && tick.current === before) setAwaiting(true);
      return true;
    } catch (e) {
      setMessages((ms) => ms.filter((m) => m.id !== temp.id));
      setError(toAppError(e));
      return false;
    } finally {
      setSending(false);
    }
  }, []);

  const stop = useCallback(async () => {
    try {
      await api.stopGeneration();
    } catch (e) {
      setError(toAppError(e));
    }
  }, []);

  const regenerate = useCallback(async () => {
    const convId = currentId.current;
    if (!convId) return;
    const snapshot = messagesRef.current;
    const last = snapshot[snapshot.length - 1];
    setError(null);
    if (last?.role === "assistant") setMessages(snapshot.slice(0, -1));
    const before = tick.current;
    try {
      await api.regenerate(convId);
      if (tick.current === before) setAwaiting(true);
    } catch (e) {
      setMessages(snapshot);
      setError(toAppError(e));
    }
  }, []);

  const edit = useCallback(async (messageId: string, text: string) => {
    const convId = currentId.current;
    const body = text.trim();
    if (!convId || !body) return;
    const snapshot = messagesRef.current;
    const i = snapshot.findIndex((m) => m.id === messageId);
    if (i < 0) return;
    setError(null);
    setMessages([...snapshot.slice(0, i), { ...snapshot[i]!, content: body }]);
    const before = tick.current;
    try {
      await api.editMessage(convId, messageId, body);
      if (tick.current === before) setAwaiting(true);
    } catch (e) {
      setMessages(snapshot);
      setError(toAppError(e));
    }
  }, []);

  const streaming = messages.some((m) => m.status === "streaming");
  const isGenerating = sending || awaiting || streaming || generatingHere;
  const visible = messages.filter((m) => m.role !== "system");

  return {
    messages: visible,
    messageErrors,
    loading,
    error,
    clearError: useCallback(() => setError(null), []),
    isGenerating,
    streaming,
    send,
    stop,
    regenerate,
    edit,
  };
}
