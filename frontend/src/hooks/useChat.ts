import { useCallback, useLayoutEffect, useRef, useSyncExternalStore } from "react";
import { getChatStore, type ChatSnapshot } from "../store/chatStore";

export type ChatApi = ReturnType<typeof useChat>;

type Options = {
  /** Called when sending from "new chat" created a conversation (once Go took the message); the
   *  parent should select it. Not called if the view shows another conversation by then. */
  onConversationCreated?: (id: string) => void;
  /** AppState.generatingConversationId: Go says an answer runs here (Stop is offered). */
  generatingConversationId?: string;
};

/** Reads one conversation's snapshot from the chat store ("" or null = the new chat). */
export function useChatSnapshot(conversationId: string | null): ChatSnapshot {
  return useChatSelector(conversationId, (s) => s);
}

/**
 * Reads one value of a conversation's snapshot; the component renders again only when that value
 * changes (`select` must return a value that stays the same while nothing it reads changed, e.g. a
 * field of the snapshot).
 */
export function useChatSelector<T>(conversationId: string | null, select: (s: ChatSnapshot) => T): T {
  const store = getChatStore();
  const key = conversationId ?? "";
  const get = () => select(store.getSnapshot(key));
  return useSyncExternalStore(store.subscribe, get, get);
}

/**
 * One conversation's messages and its answer: a thin view over the chat store
 * (src/store/chatStore.ts), which owns the messages, the streams and the status. The store lives
 * outside React, so a remount mid-answer shows the text streamed so far.
 */
export function useChat(conversationId: string | null, options: Options = {}) {
  const store = getChatStore();
  const key = conversationId ?? "";
  const snap = useChatSnapshot(conversationId);

  // Load (or refresh) the conversation when a view shows it (before paint: no empty frame).
  useLayoutEffect(() => {
    store.open(key);
    return () => store.leave(key);
  }, [store, key]);

  // The latest callback and the conversation shown, for a send that ends later.
  const onCreated = useRef(options.onConversationCreated);
  const shown = useRef(key);
  useLayoutEffect(() => {
    onCreated.current = options.onConversationCreated;
    shown.current = key;
  });

  const send = useCallback(
    (text: string) =>
      store.send(key, text, (id) => {
        if (shown.current === key) onCreated.current?.(id);
      }),
    [store, key],
  );
  const stop = useCallback(() => store.stop(key), [store, key]);
  const regenerate = useCallback(() => store.regenerate(key), [store, key]);
  const edit = useCallback((messageId: string, text: string) => store.edit(key, messageId, text), [store, key]);
  const clearError = useCallback(() => store.clearError(key), [store, key]);

  const goGenerating = snap.goGenerating || (!!conversationId && options.generatingConversationId === conversationId);

  return {
    messages: snap.messages,
    messageErrors: snap.messageErrors,
    loading: snap.status === "loading",
    error: snap.error,
    clearError,
    /** sending, waiting for the answer, streaming it, or Go says one runs here */
    isGenerating: snap.pending || goGenerating,
    streaming: snap.streaming,
    status: snap.status,
    send,
    stop,
    regenerate,
    edit,
  };
}
