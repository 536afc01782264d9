// The composer's drafts, one per conversation ("" = the new chat), outside React: each chat keeps
// its own unsent text when another chat is opened and when the chat view is mounted again (as in
// LM Studio and ChatGPT). In memory, for the session. React reads it with useSyncExternalStore
// (hooks/useDraft.ts).

export class DraftStore {
  private readonly drafts = new Map<string, string>();
  private readonly listeners = new Set<() => void>();

  readonly subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  /** The draft of a conversation ("" = the new chat); "" when it has none. */
  readonly get = (conversationId: string): string => this.drafts.get(conversationId) ?? "";

  /** Replaces a conversation's draft ("" removes it). */
  set(conversationId: string, text: string): void {
    if (this.get(conversationId) === text) return;
    if (text) this.drafts.set(conversationId, text);
    else this.drafts.delete(conversationId);
    for (const l of [...this.listeners]) l();
  }

  /** Changes a conversation's draft from its current value (e.g. only if it is still empty). */
  update(conversationId: string, next: (current: string) => string): void {
    this.set(conversationId, next(this.get(conversationId)));
  }

  /** Forgets a conversation's draft (sent, or the conversation deleted). */
  clear(conversationId: string): void {
    this.set(conversationId, "");
  }

  /** The conversations that have a draft (tests). */
  keys(): string[] {
    return [...this.drafts.keys()];
  }
}

let shared: DraftStore | null = null;

/** The app's drafts. */
export function getDraftStore(): DraftStore {
  shared ??= new DraftStore();
  return shared;
}

/** Drops every draft (tests: each test starts with none). */
export function resetDraftStore(): void {
  shared = null;
}
