import { useCallback, useEffect, useLayoutEffect, useRef, useState } from "react";
import { api, useEvent } from "../api";
import type { ConversationSummary, ExportFormat } from "../api";

export type ConversationsApi = ReturnType<typeof useConversations>;

/** The sidebar's list: search, refresh on `conversations:changed`, rename, delete, export. */
export function useConversations() {
  const [query, setQuery] = useState("");
  const [items, setItems] = useState<ConversationSummary[]>([]);
  const [loaded, setLoaded] = useState(false);
  /** every title seen in a list, so a conversation hidden by the search keeps its title */
  const [titles, setTitles] = useState<Record<string, string>>({});
  const queryRef = useRef(query);
  useLayoutEffect(() => {
    queryRef.current = query;
  });
  const seq = useRef(0);

  const refresh = useCallback(async () => {
    const n = ++seq.current;
    try {
      const list = await api.listConversations(queryRef.current.trim());
      if (n === seq.current) {
        setItems(list);
        setLoaded(true);
        setTitles((old) => {
          if (list.every((c) => old[c.id] === c.title)) return old;
          const next = { ...old };
          for (const c of list) next[c.id] = c.title;
          return next;
        });
      }
    } catch {
      if (n === seq.current) setLoaded(true);
    }
  }, []);

  // Debounced search; the first load runs at once.
  const first = useRef(true);
  useEffect(() => {
    if (first.current) {
      first.current = false;
      void refresh();
      return;
    }
    const id = window.setTimeout(() => void refresh(), 150);
    return () => window.clearTimeout(id);
  }, [query, refresh]);

  useEvent("conversations:changed", () => void refresh());

  const rename = useCallback(
    async (id: string, title: string) => {
      setItems((xs) => xs.map((c) => (c.id === id ? { ...c, title } : c)));
      setTitles((old) => ({ ...old, [id]: title }));
      try {
        await api.renameConversation(id, title);
      } finally {
        void refresh();
      }
    },
    [refresh],
  );

  const remove = useCallback(
    async (id: string) => {
      await api.deleteConversation(id);
      setItems((xs) => xs.filter((c) => c.id !== id));
      void refresh();
    },
    [refresh],
  );

  const exportAs = useCallback((id: string, format: ExportFormat) => api.exportConversation(id, format), []);

  return { query, setQuery, items, loaded, titles, refresh, rename, remove, exportAs };
}
