import { useEffect, useRef, useState } from "react";
import { api } from "../api";
import type { DraftCount } from "../api";

/** The count waits this long after the last keystroke (a 20,000-character paste stays fluid). */
export const COUNT_DEBOUNCE_MS = 250;
/** The count is shown from this fraction of the limit on. */
export const NEAR_LIMIT = 0.75;
/** Drafts shorter than this (in UTF-8 bytes) are not counted while the limit is unknown. */
const MIN_BYTES = 64;

export type CountedDraft = { text: string; count: DraftCount };

const encoder = new TextEncoder();

/**
 * The draft's tokens through Go's tokenizer (CountDraft), debounced. Returns the last count with
 * the text it was made for (it may be older than `text` while the user types), or null when there
 * is nothing to show: an empty draft, no model loaded, a draft far below the limit, or a count
 * made in another conversation (each has its own draft and limit).
 */
export function useDraftCount(conversationId: string | null, text: string, enabled: boolean): CountedDraft | null {
  const [result, setResult] = useState<(CountedDraft & { key: string }) | null>(null);
  // The last limit seen (per conversation): a token covers at least one byte, so a draft with
  // fewer bytes than NEAR_LIMIT × limit is below it and needs no call.
  const limits = useRef(new Map<string, number>());
  const key = conversationId ?? "";
  const active = enabled && text.trim() !== "";

  useEffect(() => {
    if (!active) return;
    let alive = true;
    const timer = window.setTimeout(() => {
      const limit = limits.current.get(key) ?? limits.current.get("*");
      const bytes = encoder.encode(text).length;
      if (bytes < (limit ? NEAR_LIMIT * limit : MIN_BYTES)) {
        setResult(null);
        return;
      }
      api
        .countDraft(key, text)
        .then((count) => {
          limits.current.set(key, count.limit);
          limits.current.set("*", count.limit);
          if (alive) setResult({ key, text, count });
        })
        .catch(() => {
          // No model loaded (model_not_loaded / no_model) or an older Go: no count.
          if (alive) setResult(null);
        });
    }, COUNT_DEBOUNCE_MS);
    return () => {
      alive = false;
      window.clearTimeout(timer);
    };
  }, [key, text, active]);

  return active && result?.key === key ? result : null;
}

/** Rounds up to two significant digits: "cut about 4,300 characters". */
export function roughly(n: number): number {
  if (n <= 10) return Math.max(0, Math.ceil(n));
  const step = 10 ** (Math.floor(Math.log10(n)) - 1);
  return Math.ceil(n / step) * step;
}
