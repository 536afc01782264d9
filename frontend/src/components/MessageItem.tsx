import { memo, useDeferredValue, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { copyText } from "../api";
import type { AppError, GenStats, Message } from "../api";
import { useFormat } from "../i18n/format";
import { ErrorNote } from "./ErrorNote";
import { Markdown } from "./Markdown";
import { CheckIcon, CopyIcon, EditIcon, InfoIcon, RefreshIcon } from "./icons";

type Props = {
  message: Message;
  error?: AppError;
  /** the last assistant message of the conversation: regenerate is offered on it */
  canRegenerate: boolean;
  /** editing is possible (no generation running) */
  canEdit: boolean;
  /** messages after this one (an edit removes them) */
  laterCount?: number;
  onRegenerate: () => void;
  onEdit: (id: string, text: string) => void;
};

function CopyButton({ text }: { text: string }) {
  const { t } = useTranslation();
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      className="icon-button icon-button--small"
      data-testid="copy-message"
      aria-label={copied ? t("chat.copied") : t("chat.copy")}
      title={copied ? t("chat.copied") : t("chat.copy")}
      onClick={async () => {
        if (await copyText(text)) {
          setCopied(true);
          window.setTimeout(() => setCopied(false), 1500);
        }
      }}
    >
      {copied ? <CheckIcon size={15} /> : <CopyIcon size={15} />}
    </button>
  );
}

function Metrics({ stats }: { stats: GenStats }) {
  const { t } = useTranslation();
  const f = useFormat();
  const parts = [t("chat.tokens", { count: stats.completionTokens })];
  if (stats.decodeTps > 0) parts.push(t("chat.tps", { value: f.tps(stats.decodeTps) }));
  if (stats.ttftMs > 0) parts.push(t("chat.ttft", { value: f.ms(stats.ttftMs) }));
  return (
    <span className="metrics" data-testid="message-metrics">
      {parts.join(" · ")}
    </span>
  );
}

/** Streaming text goes through useDeferredValue so React may skip frames under load. */
function AssistantBody({ text, streaming }: { text: string; streaming: boolean }) {
  const deferred = useDeferredValue(text);
  return (
    <div className={`markdown ${streaming ? "markdown--streaming" : ""}`}>
      <Markdown text={streaming ? deferred : text} />
    </div>
  );
}

function EditBox({
  initial,
  laterCount,
  onCancel,
  onSave,
}: {
  initial: string;
  laterCount: number;
  onCancel: () => void;
  onSave: (t: string) => void;
}) {
  const { t } = useTranslation();
  const [text, setText] = useState(initial);
  const ref = useRef<HTMLTextAreaElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el) return;
    el.focus();
    el.setSelectionRange(el.value.length, el.value.length);
  }, []);
  return (
    <div className="edit-box">
      <textarea
        ref={ref}
        aria-label={t("chat.editLabel")}
        data-testid="edit-textarea"
        value={text}
        rows={Math.min(12, Math.max(2, text.split("\n").length))}
        onChange={(e) => setText(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === "Escape") {
            e.preventDefault();
            e.stopPropagation();
            onCancel();
          } else if (e.key === "Enter" && !e.shiftKey && !e.nativeEvent.isComposing) {
            e.preventDefault();
            if (text.trim()) onSave(text);
          }
        }}
      />
      {laterCount > 0 && (
        <div className="edit-box__warning" data-testid="edit-drops">
          <InfoIcon size={14} />
          <span>{t("chat.editDrops", { count: laterCount })}</span>
        </div>
      )}
      <div className="edit-box__actions">
        <button type="button" className="button button--ghost" onClick={onCancel}>
          {t("common.cancel")}
        </button>
        <button
          type="button"
          className="button button--primary"
          data-testid="edit-save"
          disabled={!text.trim()}
          onClick={() => onSave(text)}
        >
          {t("chat.saveAndSend")}
        </button>
      </div>
    </div>
  );
}

export const MessageItem = memo(function MessageItem({
  message,
  error,
  canRegenerate,
  canEdit,
  laterCount = 0,
  onRegenerate,
  onEdit,
}: Props) {
  const { t } = useTranslation();
  const [editing, setEditing] = useState(false);
  const { role, content, status, stats } = message;
  const streaming = status === "streaming";

  if (role === "user") {
    return (
      <article
        className="message message--user"
        data-testid="message"
        data-role="user"
        data-message-id={message.id}
        aria-label={t("chat.you")}
      >
        {editing ? (
          <EditBox
            initial={content}
            laterCount={laterCount}
            onCancel={() => setEditing(false)}
            onSave={(text) => {
              setEditing(false);
              onEdit(message.id, text);
            }}
          />
        ) : (
          <>
            <div className="bubble" data-testid="message-content">
              {content}
            </div>
            <div className="message__actions message__actions--user">
              <CopyButton text={content} />
              {canEdit && !message.id.startsWith("local-") && (
                <button
                  type="button"
                  className="icon-button icon-button--small"
                  data-testid="edit-message"
                  aria-label={t("chat.edit")}
                  title={t("chat.edit")}
                  onClick={() => setEditing(true)}
                >
                  <EditIcon size={15} />
                </button>
              )}
            </div>
          </>
        )}
      </article>
    );
  }

  const finish = stats?.finishReason;
  const note =
    status === "cancelled" || finish === "cancelled"
      ? t("chat.stopped")
      : finish === "length"
        ? t("chat.lengthLimit")
        : status === "error"
          ? t("chat.failed")
          : "";
  const dropped = stats?.droppedMessages ?? 0;
  const blank = content.trim() === "";
  // The model that wrote the answer (Go stores it with each answer; none before the model library).
  const modelLabel = message.model ? (
    <span
      className="message__model"
      data-testid="message-model"
      data-model-id={message.modelId || undefined}
      title={t("chat.writtenBy", { model: message.model })}
    >
      {message.model}
    </span>
  ) : null;

  return (
    <article
      className="message message--assistant"
      data-testid="message"
      data-role="assistant"
      data-status={status}
      data-message-id={message.id}
      aria-label={t("chat.assistant")}
    >
      {dropped > 0 && (
        <div className="notice" data-testid="dropped-notice">
          <InfoIcon size={14} />
          <span>{t("chat.dropped", { count: dropped })}</span>
        </div>
      )}
      <div data-testid="message-content">
        {blank && status === "done" ? (
          // An answer of only spaces/newlines: say so instead of an empty bubble.
          <p className="message__blank" data-testid="blank-answer">
            {content ? t("chat.whitespaceOnly") : t("chat.emptyAnswer")}
          </p>
        ) : !blank ? (
          <AssistantBody text={content} streaming={streaming} />
        ) : streaming ? (
          <div className="typing" aria-label={t("chat.waiting")}>
            <span />
            <span />
            <span />
          </div>
        ) : null}
      </div>
      {error && <ErrorNote error={error} className="error-note--inline" testId="message-error" />}
      <footer className="message__meta">
        {streaming ? (
          <>
            {modelLabel}
            <span className="metrics metrics--live">{content ? t("chat.generating") : t("chat.waiting")}</span>
          </>
        ) : (
          <>
            <div className="message__actions">
              {!blank && <CopyButton text={content} />}
              {canRegenerate && (
                <button
                  type="button"
                  className="icon-button icon-button--small"
                  data-testid="regenerate"
                  aria-label={t("chat.regenerate")}
                  title={t("chat.regenerate")}
                  onClick={onRegenerate}
                >
                  <RefreshIcon size={15} />
                </button>
              )}
            </div>
            {modelLabel}
            {stats && stats.completionTokens > 0 && <Metrics stats={stats} />}
            {note && <span className="message__note">{note}</span>}
          </>
        )}
      </footer>
    </article>
  );
});
