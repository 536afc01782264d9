import { forwardRef, useImperativeHandle, useLayoutEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { api, toAppError } from "../api";
import type { AppError } from "../api";
import { useDraft } from "../hooks/useDraft";
import { NEAR_LIMIT, roughly, useDraftCount, type CountedDraft } from "../hooks/useDraftCount";
import { useFormat } from "../i18n/format";
import { ErrorNote } from "./ErrorNote";
import { SendIcon, StopIcon } from "./icons";

export type ComposerHandle = { focus: () => void; setText: (t: string) => void };

type Props = {
  canSend: boolean;
  isGenerating: boolean;
  placeholder: string;
  hint: string;
  /** resolves false when the message was not sent: the text is put back */
  onSend: (text: string) => Promise<boolean>;
  onStop: () => void;
  /** the conversation the draft is for (null = a new chat): its limit is what counts */
  conversationId?: string | null;
  /** count the draft's tokens (a model is loaded) */
  countEnabled?: boolean;
  /** the reason the last send was refused: context_length_exceeded gives {tokens, limit} */
  sendError?: AppError | null;
};

const MAX_HEIGHT = 220;

const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : null);
const chars = (s: string) => [...s].length;

/** Rounds of TruncateDraft before settling for a marker whose number is a little off. */
const TRUNCATE_ROUNDS = 4;

/**
 * `original` cut by Go (TruncateDraft) to fit with the marker, which says how many characters were
 * cut: a number only known once cut, and whose tokens depend on its digits (a smaller number is
 * not always fewer tokens: "17,123" can take more than "20,000"). So Go fits the marker with a
 * guess (first the most it can be), then with the number that came out, until the marker Go fitted
 * tells the truth: the text always fits, because Go measured it with that very marker. If the
 * number still moves after a few rounds, Go's last text is kept (it fits; its number is off by a
 * few characters). A Go that answers the prefix without the marker gets the marker appended.
 */
export async function truncateToFit(
  conversationId: string,
  original: string,
  marker: (count: number) => string,
): Promise<string> {
  const total = chars(original);
  let guess = total;
  let last: string | null = null;
  for (let round = 0; round < TRUNCATE_ROUNDS; round++) {
    const m = marker(guess);
    const got = await api.truncateDraft(conversationId, original, m);
    if (!got.endsWith(m)) {
      const removed = total - chars(got);
      return removed > 0 ? got + marker(removed) : got;
    }
    const removed = total - chars(got.slice(0, got.length - m.length));
    if (removed === guess) return got;
    last = got;
    guess = removed;
  }
  return last ?? original;
}

/**
 * Enter sends, Shift+Enter adds a line, Esc stops a running answer. The draft is counted (debounced,
 * through Go's tokenizer): near the limit it shows "N / M tokens", over it Send is off and it says
 * how much to cut, with "Truncate to fit". Each conversation (and the new chat) has its own draft
 * (hooks/useDraft.ts): a send empties that conversation's draft, a refused send puts it back there.
 */
export const Composer = forwardRef<ComposerHandle, Props>(function Composer(
  { canSend, isGenerating, placeholder, hint, onSend, onStop, conversationId = null, countEnabled = false, sendError = null },
  handle,
) {
  const { t } = useTranslation();
  const f = useFormat();
  const key = conversationId ?? "";
  const [text, setText] = useDraft(conversationId);
  /** the text of the last send Go refused, and where (the refusal's token count applies to it) */
  const [refused, setRefused] = useState<{ key: string; text: string } | null>(null);
  /** the conversation whose draft is being truncated */
  const [truncatingKey, setTruncatingKey] = useState<string | null>(null);
  const [truncateFailure, setTruncateFailure] = useState<{ key: string; error: AppError } | null>(null);
  const truncating = truncatingKey === key;
  const truncateError = truncateFailure?.key === key ? truncateFailure.error : null;
  const ref = useRef<HTMLTextAreaElement>(null);

  useImperativeHandle(handle, () => ({
    focus: () => ref.current?.focus(),
    setText: (s: string) => {
      setText(s);
      ref.current?.focus();
    },
  }));

  useLayoutEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.style.height = "auto";
    el.style.height = `${Math.min(MAX_HEIGHT, el.scrollHeight)}px`;
    el.style.overflowY = el.scrollHeight > MAX_HEIGHT ? "auto" : "hidden";
  }, [text]);

  const live = useDraftCount(conversationId, text, countEnabled);
  // Go's refusal carries the count too (for when CountDraft is not there): it is for that text only.
  const tokens = num(sendError?.params?.tokens);
  const limit = num(sendError?.params?.limit);
  const fromRefusal: CountedDraft | null =
    sendError?.code === "context_length_exceeded" &&
    tokens !== null &&
    limit !== null &&
    refused?.key === key &&
    refused.text === text
      ? { text, count: { tokens, limit, contextSize: 0 } }
      : null;
  // This very text's count first: Go's refusal of it is newer than a live count of an earlier text
  // (whose own count is still on its way: the debounce).
  const counted = live && live.text === text ? live : (fromRefusal ?? live);
  const count = counted?.count ?? null;
  // While typing, the count is of an older text; a longer text than an over-long one is still over.
  const over =
    !!counted && !!count && count.tokens > count.limit && (counted.text === text || text.length >= counted.text.length);
  const show = !!count && text.trim() !== "" && count.limit > 0 && count.tokens > NEAR_LIMIT * count.limit;
  const extra = count ? Math.max(0, count.tokens - count.limit) : 0;
  const cut = counted && count && count.tokens > 0 ? roughly((extra * counted.text.length) / count.tokens) : 0;

  // (setText is this conversation's: a send or a truncation that ends after the user opened
  // another chat changes the draft of the chat it was made in.)
  const submit = async () => {
    if (!canSend || isGenerating || !text.trim() || over || truncating) return;
    const sent = text;
    setText("");
    setTruncateFailure(null);
    const ok = await onSend(sent);
    if (!ok) {
      setRefused({ key, text: sent });
      setText((cur) => (cur ? cur : sent));
    } else {
      setRefused(null);
    }
  };

  const truncate = async () => {
    const original = text;
    setTruncatingKey(key);
    setTruncateFailure(null);
    try {
      const next = await truncateToFit(key, original, (count) => t("chat.truncatedMarker", { count }));
      setText((cur) => (cur === original ? next : cur));
      ref.current?.focus();
    } catch (e) {
      setTruncateFailure({ key, error: toAppError(e) });
    } finally {
      setTruncatingKey((k) => (k === key ? null : k));
    }
  };

  return (
    <div className="composer-wrap">
      {show && count && (
        <div
          className={`composer__count ${over ? "composer__count--over" : ""}`}
          data-testid="draft-count"
          data-over={over || undefined}
          aria-live="polite"
        >
          <span className="composer__tokens tabular" title={t("chat.draftTokensLabel")} data-testid="draft-tokens">
            {t("chat.draftTokens", { tokens: f.number(count.tokens), limit: f.number(count.limit) })}
          </span>
          {over && (
            <>
              <span className="composer__too-long" data-testid="draft-too-long">
                {t("chat.draftTooLong", { count: extra, chars: f.number(cut) })}
              </span>
              <button
                type="button"
                className="button button--small"
                data-testid="truncate-draft"
                disabled={truncating}
                onClick={() => void truncate()}
              >
                {truncating ? t("chat.truncating") : t("chat.truncate")}
              </button>
            </>
          )}
        </div>
      )}
      {truncateError && (
        <ErrorNote error={truncateError} onDismiss={() => setTruncateFailure(null)} testId="truncate-error" />
      )}
      <form
        className={`composer ${over ? "composer--over" : ""}`}
        onSubmit={(e) => {
          e.preventDefault();
          void submit();
        }}
      >
        <textarea
          ref={ref}
          className="composer__input"
          data-testid="composer"
          aria-label={t("chat.composerLabel")}
          aria-invalid={over || undefined}
          placeholder={placeholder}
          rows={1}
          value={text}
          onChange={(e) => setText(e.target.value)}
          onKeyDown={(e) => {
            if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
              e.preventDefault();
              void submit();
            } else if (e.key === "Escape" && isGenerating) {
              e.preventDefault();
              onStop();
            }
          }}
        />
        {isGenerating ? (
          <button
            type="button"
            className="composer__button composer__button--stop"
            data-testid="stop"
            aria-label={t("chat.stop")}
            title={t("chat.stop")}
            onClick={onStop}
          >
            <StopIcon size={18} />
          </button>
        ) : (
          <button
            type="submit"
            className="composer__button"
            data-testid="send"
            aria-label={t("chat.send")}
            title={t("chat.send")}
            disabled={!canSend || !text.trim() || over || truncating}
          >
            <SendIcon size={18} />
          </button>
        )}
      </form>
      <div className="composer__hint">{hint}</div>
    </div>
  );
});
