import { forwardRef, useImperativeHandle, useLayoutEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
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
};

const MAX_HEIGHT = 220;

/** Enter sends, Shift+Enter adds a line, Esc stops a running answer. */
export const Composer = forwardRef<ComposerHandle, Props>(function Composer(
  { canSend, isGenerating, placeholder, hint, onSend, onStop },
  handle,
) {
  const { t } = useTranslation();
  const [text, setText] = useState("");
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

  const submit = async () => {
    if (!canSend || isGenerating || !text.trim()) return;
    const sent = text;
    setText("");
    const ok = await onSend(sent);
    if (!ok) setText((cur) => (cur ? cur : sent));
  };

  return (
    <div className="composer-wrap">
      <form
        className="composer"
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
            disabled={!canSend || !text.trim()}
          >
            <SendIcon size={18} />
          </button>
        )}
      </form>
      <div className="composer__hint">{hint}</div>
    </div>
  );
});
