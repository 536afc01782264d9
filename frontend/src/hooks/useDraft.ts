import { useCallback, useSyncExternalStore } from "react";
import { getDraftStore } from "../store/draftStore";

export type SetDraft = (next: string | ((current: string) => string)) => void;

/**
 * The composer's draft of one conversation (null = the new chat), kept in the draft store
 * (store/draftStore.ts): each conversation has its own, kept across chat switches and remounts.
 * `setDraft` changes the draft of the conversation it was made for, also when it is called later
 * (a send that is refused after the user opened another chat puts the text back where it was).
 */
export function useDraft(conversationId: string | null): [string, SetDraft] {
  const store = getDraftStore();
  const key = conversationId ?? "";
  const get = () => store.get(key);
  const text = useSyncExternalStore(store.subscribe, get, get);
  const setDraft = useCallback<SetDraft>(
    (next) => (typeof next === "function" ? store.update(key, next) : store.set(key, next)),
    [store, key],
  );
  return [text, setDraft];
}
