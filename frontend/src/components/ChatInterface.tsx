import { useCallback, useEffect, useMemo, useRef, useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import type { AppState, LibraryModel } from "../api";
import { useChat } from "../hooks/useChat";
import { viewStatus } from "../hooks/useBitNet";
import { useFormat } from "../i18n/format";
import { Composer, type ComposerHandle } from "./Composer";
import { ConversationModelBanner } from "./ConversationModelBanner";
import { ErrorNote } from "./ErrorNote";
import { InfoIcon } from "./icons";
import { MessageItem } from "./MessageItem";
import { MessageList } from "./MessageList";
import { ProgressBar } from "./ProgressBar";

const EXAMPLES = ["explain", "code", "email"] as const;

/** Load errors of a model file that is there but not usable: downloading or importing another helps. */
const UNUSABLE_FILE = new Set(["invalid_model", "checksum_mismatch", "import_failed"]);

type Props = {
  conversationId: string | null;
  state: AppState | null;
  onConversationCreated: (id: string) => void;
  onLoadModel: () => void;
  /** download the model again (the file present is not usable) */
  onDownload?: () => void;
  /** import a model file */
  onImport?: () => void;
  /** true while a dialog is open: the global Esc belongs to it */
  dialogOpen?: boolean;
  /** the model library (the conversation's model is offered when it is installed) */
  models?: LibraryModel[] | null;
  /** makes an installed model the active one and loads it */
  onSelectModel?: (id: string) => void;
  /** opens the model library */
  onOpenLibrary?: () => void;
};

export function ChatInterface({
  conversationId,
  state,
  onConversationCreated,
  onLoadModel,
  onDownload,
  onImport,
  dialogOpen,
  models,
  onSelectModel,
  onOpenLibrary,
}: Props) {
  const { t } = useTranslation();
  const f = useFormat();
  const chat = useChat(conversationId, {
    onConversationCreated,
    generatingConversationId: state?.generatingConversationId,
  });
  const composer = useRef<ComposerHandle>(null);
  const [followToken, setFollowToken] = useState(0);

  const status = viewStatus(state);
  const ready = status === "ready" || status === "generating";
  const busyElsewhere =
    status === "generating" && !!state?.generatingConversationId && state.generatingConversationId !== conversationId;
  const canSend = status === "ready";

  useEffect(() => {
    composer.current?.focus();
  }, [conversationId]);

  // Esc stops the answer from anywhere in the window (unless a dialog is open).
  const { isGenerating, stop } = chat;
  useEffect(() => {
    if (!isGenerating || dialogOpen) return;
    const onKey = (e: KeyboardEvent) => {
      if (e.key === "Escape" && !e.defaultPrevented) void stop();
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [isGenerating, stop, dialogOpen]);

  const chatSend = chat.send;
  const send = useCallback(
    async (text: string) => {
      setFollowToken((n) => n + 1);
      return chatSend(text);
    },
    [chatSend],
  );
  // Stable handlers: only the message that changed renders again while an answer streams.
  const chatRegenerate = chat.regenerate;
  const chatEdit = chat.edit;
  const onRegenerate = useCallback(() => void chatRegenerate(), [chatRegenerate]);
  const onEdit = useCallback(
    (id: string, text: string) => {
      setFollowToken((n) => n + 1);
      void chatEdit(id, text);
    },
    [chatEdit],
  );

  const messages = chat.messages;
  const last = messages[messages.length - 1];
  const contentKey = `${messages.length}:${last?.id ?? ""}:${last?.content.length ?? 0}:${last?.status ?? ""}`;
  const lastAssistantIndex = messages.findLastIndex((m) => m.role === "assistant");

  // The conversation's model: its latest answer's (Go's Conversation.modelId), live as answers come.
  const convModel = useMemo(() => {
    const m = messages.findLast((x) => x.role === "assistant" && !!x.modelId);
    return m?.modelId ? { id: m.modelId, name: m.model || m.modelId } : null;
  }, [messages]);
  const loadedModel = ready ? state?.model : undefined;
  // Dismissed "this conversation used X" notes: conversation -> the model it named.
  const [dismissed, setDismissed] = useState<Record<string, string>>({});
  const key = conversationId ?? "";
  const otherModel =
    convModel && loadedModel && convModel.id !== loadedModel.id && dismissed[key] !== convModel.id ? convModel : null;
  const otherEntry = otherModel ? models?.find((m) => m.id === otherModel.id) : undefined;
  const baseModel = loadedModel && !loadedModel.chat ? loadedModel : undefined;

  let banner: ReactNode = null;
  if (status === "loading" || status === "converting") {
    // Importing a model while another one is present stays here (not the set-up screen).
    const stage = state?.loadStage ? t(`onboarding.stages.${state.loadStage}`, { defaultValue: "" }) : "";
    const percent = f.percent(state?.loadFraction ?? 0);
    banner = (
      <div className="banner" data-testid="loading-banner" data-status={status}>
        <span>
          {status === "converting" ? t("chat.convertingBanner", { percent }) : t("chat.loadingBanner", { percent })}
          {stage && <span className="banner__stage"> · {stage}</span>}
        </span>
        <ProgressBar fraction={state?.loadFraction ?? 0} label={t("onboarding.loading")} />
      </div>
    );
  } else if (status === "not_loaded" || (status === "error" && state?.modelPresent)) {
    // A file that is there but not usable (bad download, bad BITNET_MODEL_PATH): loading it again
    // cannot help; offer a new download or another file.
    const unusable = !!state?.error && UNUSABLE_FILE.has(state.error.code);
    banner = (
      <div className="banner banner--action" data-testid="not-loaded-banner">
        {state?.error ? <ErrorNote error={state.error} testId="model-error" /> : <span>{t("chat.notLoaded")}</span>}
        <div className="banner__actions">
          {unusable && onDownload ? (
            <button type="button" className="button button--primary" data-testid="download-again" onClick={onDownload}>
              {t("chat.downloadAgain")}
            </button>
          ) : (
            <button type="button" className="button button--primary" data-testid="load-model" onClick={onLoadModel}>
              {t("chat.loadNow")}
            </button>
          )}
          {state?.error && onImport && (
            <button type="button" className="button" data-testid="import-file" onClick={onImport}>
              {t("chat.importFile")}
            </button>
          )}
          {onOpenLibrary && (
            <button type="button" className="button button--ghost" data-testid="not-loaded-open-library" onClick={onOpenLibrary}>
              {t("library.showModels")}
            </button>
          )}
        </div>
      </div>
    );
  }

  const showEmpty = messages.length === 0 && !chat.loading;

  return (
    <section className="chat" data-testid="chat">
      {showEmpty ? (
        <div className="empty-state" data-testid="empty-state">
          <h2 className="empty-state__title">{t("chat.emptyTitle")}</h2>
          <p className="empty-state__body">{t("chat.emptyBody")}</p>
          <div className="empty-state__examples">
            {EXAMPLES.map((k) => (
              <button
                key={k}
                type="button"
                className="example-card"
                data-testid="example-prompt"
                onClick={async () => {
                  const text = t(`chat.examples.${k}`);
                  // Not sent (not ready, or refused): the text goes to the composer.
                  if (!canSend || !(await send(text))) composer.current?.setText(text);
                }}
              >
                {t(`chat.examples.${k}`)}
              </button>
            ))}
          </div>
        </div>
      ) : (
        <MessageList contentKey={contentKey} resetKey={conversationId ?? ""} followToken={followToken}>
          {messages.map((m, i) => (
            <MessageItem
              key={m.id}
              message={m}
              error={chat.messageErrors[m.id]}
              canRegenerate={i === lastAssistantIndex && i === messages.length - 1 && !chat.isGenerating && canSend}
              canEdit={!chat.isGenerating && canSend}
              laterCount={m.role === "user" ? messages.length - 1 - i : 0}
              onRegenerate={onRegenerate}
              onEdit={onEdit}
            />
          ))}
        </MessageList>
      )}
      <div className="chat__bottom">
        {otherModel && (
          <ConversationModelBanner
            modelId={otherModel.id}
            name={otherEntry?.name || otherModel.name}
            installed={!!otherEntry?.installed}
            switchWhy={status === "generating" ? t("library.whyGenerating") : null}
            onSwitch={onSelectModel ? () => onSelectModel(otherModel.id) : undefined}
            onOpenLibrary={onOpenLibrary}
            onDismiss={() => setDismissed((d) => ({ ...d, [key]: otherModel.id }))}
          />
        )}
        {baseModel && (
          <div className="notice notice--base" data-testid="base-model-note">
            <InfoIcon size={14} />
            <span>{t("library.baseNote", { model: baseModel.displayName || baseModel.name })}</span>
          </div>
        )}
        {banner}
        {chat.error && <ErrorNote error={chat.error} onDismiss={chat.clearError} className="chat__error" testId="chat-error" />}
        <Composer
          ref={composer}
          canSend={canSend}
          isGenerating={chat.isGenerating}
          placeholder={
            baseModel
              ? t("library.basePlaceholder", { model: baseModel.displayName || baseModel.name })
              : ready || status === "loading"
                ? t("chat.placeholder")
                : t("chat.placeholderNotReady")
          }
          hint={busyElsewhere ? t("chat.busyElsewhere") : t("chat.hint")}
          onSend={send}
          onStop={() => void stop()}
          conversationId={conversationId}
          countEnabled={ready}
          sendError={chat.error}
        />
      </div>
    </section>
  );
}
