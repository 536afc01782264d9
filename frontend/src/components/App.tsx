import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { AppError } from "../api";
import { isImportAction, needsOnboarding, useBitNet, viewStatus } from "../hooks/useBitNet";
import { useChatSelector } from "../hooks/useChat";
import { useConversations } from "../hooks/useConversations";
import { useLibrary } from "../hooks/useLibrary";
import { useSettings } from "../hooks/useSettings";
import { getDraftStore } from "../store/draftStore";
import { useErrorText } from "../i18n/errors";
import { BitNetStatus } from "./BitNetStatus";
import { ChatInterface } from "./ChatInterface";
import { ErrorNote } from "./ErrorNote";
import { ChevronIcon, GearIcon, LayersIcon } from "./icons";
import { ModelLibrary } from "./ModelLibrary";
import { Onboarding } from "./Onboarding";
import { SettingsDialog } from "./SettingsDialog";
import { Sidebar, modKey } from "./Sidebar";
import { Toast, type ToastMessage } from "./Toast";

export function App() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const bitnet = useBitNet();
  const settings = useSettings();
  const conversations = useConversations();
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [libraryOpen, setLibraryOpen] = useState(false);
  const [toast, setToast] = useState<ToastMessage | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  const state = bitnet.state;
  const library = useLibrary(state);
  const openLibrary = useCallback(() => setLibraryOpen(true), []);

  // Stay on the onboarding screen through the import/conversion and the final "loading" step
  // that follow it (the model file appears in the middle of an import).
  const onboardingBefore = useRef(false);
  const onboarding =
    needsOnboarding(state) ||
    (onboardingBefore.current && (state?.status === "loading" || state?.status === "converting"));
  useEffect(() => {
    onboardingBefore.current = onboarding;
  }, [onboarding]);

  const notice = useCallback((text: string) => setToast({ id: Date.now(), text, kind: "info" }), []);
  const fail = useCallback(
    (e: AppError) => {
      const text = errorText(e);
      setToast({ id: Date.now(), text, kind: "error", detail: e.message && e.message !== text ? e.message : undefined });
    },
    [errorText],
  );
  const clearToast = useCallback(() => setToast(null), []);

  // Errors of model actions taken outside the onboarding screen (status panel, banners). An import
  // error stays on screen with its reason until dismissed; the others are a toast.
  const { actionError, actionErrorFrom, clearError } = bitnet;
  const importError = actionError && !onboarding && isImportAction(actionErrorFrom) ? actionError : null;
  useEffect(() => {
    if (actionError && !onboarding && !isImportAction(actionErrorFrom)) {
      fail(actionError);
      clearError();
    }
  }, [actionError, actionErrorFrom, onboarding, fail, clearError]);

  const newChat = useCallback(() => {
    setCurrentId(null);
  }, []);

  // Ctrl/Cmd+N new chat, Ctrl/Cmd+K search, Ctrl/Cmd+, settings, Ctrl/Cmd+L models (as LM Studio).
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (!(e.ctrlKey || e.metaKey) || e.altKey) return;
      const k = e.key.toLowerCase();
      if (k === "n" && !e.shiftKey) {
        e.preventDefault();
        newChat();
      } else if (k === "k") {
        e.preventDefault();
        searchRef.current?.focus();
        searchRef.current?.select();
      } else if (k === ",") {
        e.preventDefault();
        setSettingsOpen(true);
      } else if (k === "l" && !e.shiftKey) {
        e.preventDefault();
        setLibraryOpen(true);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [newChat]);

  // The open conversation's title, also when the search hides it from the list.
  // (Only these two values: the app does not render again for every streamed frame.)
  const storedTitle = useChatSelector(currentId, (s) => s.title);
  const context = useChatSelector(currentId, (s) => s.context);
  const current = conversations.items.find((c) => c.id === currentId);
  const known = currentId ? (current?.title ?? conversations.titles[currentId] ?? storedTitle) : "";
  const title = currentId ? known || t("sidebar.untitled") : t("sidebar.newChat");

  useEffect(() => {
    document.title = t("app.name");
  }, [t]);

  // Switching models from the chat (the conversation's model): a refusal is a toast.
  const { select } = library;
  const selectModel = useCallback(
    async (id: string) => {
      const err = await select(id);
      if (err) fail(err);
    },
    [select, fail],
  );

  const status = state?.status;
  const loadedModel = status === "ready" || status === "generating" ? state?.model : undefined;
  const activeName = library.active?.name;
  const download = state?.download;
  const downloadName =
    download && download.state !== "done" && download.state !== "cancelled" ? library.find(download.modelId)?.name : undefined;
  const libraryTitle = t("library.openShortcut", { shortcut: modKey("L") });

  return (
    <div className="app" data-testid="app">
      <Sidebar
        conversations={conversations}
        currentId={currentId}
        generatingId={state?.generatingConversationId}
        onSelect={setCurrentId}
        onNew={newChat}
        onDeleted={(id) => {
          getDraftStore().clear(id);
          if (id === currentId) setCurrentId(null);
        }}
        onNotice={notice}
        onError={fail}
        searchRef={searchRef}
        footer={
          <div className="sidebar__footer-row">
            <BitNetStatus
              state={state}
              context={context}
              onLoad={() => void bitnet.loadModel()}
              onUnload={() => void bitnet.unloadModel()}
              onImport={() => void bitnet.chooseModelFile()}
              onOpenLibrary={openLibrary}
              activeName={activeName}
            />
            <button
              type="button"
              className="icon-button"
              data-testid="library-open"
              aria-label={t("library.open")}
              title={libraryTitle}
              onClick={openLibrary}
            >
              <LayersIcon size={18} />
            </button>
            <button
              type="button"
              className="icon-button"
              data-testid="settings-button"
              aria-label={t("sidebar.settings")}
              title={t("sidebar.settings")}
              disabled={!settings.settings}
              onClick={() => setSettingsOpen(true)}
            >
              <GearIcon size={18} />
            </button>
          </div>
        }
      />
      <main className="main">
        {!onboarding && (
          <header className="topbar">
            <h1 className="topbar__title" data-testid="conversation-title">
              {title}
            </h1>
            <button
              type="button"
              className="topbar__model"
              data-testid="topbar-model"
              data-model-id={loadedModel?.id}
              title={libraryTitle}
              onClick={openLibrary}
            >
              <span className={`status__dot status__dot--${viewStatus(state) ?? "idle"}`} aria-hidden="true" />
              <span className="topbar__model-name">
                {loadedModel
                  ? loadedModel.displayName || loadedModel.name
                  : activeName
                    ? status === "loading" || status === "converting"
                      ? activeName
                      : t("library.notLoaded", { model: activeName })
                    : t("library.noModel")}
              </span>
              <ChevronIcon size={13} className="topbar__model-chevron" />
            </button>
          </header>
        )}
        {importError && (
          <div className="main__notice">
            <ErrorNote error={importError} onDismiss={clearError} testId="import-error" />
          </div>
        )}
        {state === null ? (
          <div className="main__placeholder" />
        ) : onboarding ? (
          <Onboarding state={state} bitnet={bitnet} downloadName={downloadName} onBrowse={openLibrary} />
        ) : (
          <ChatInterface
            conversationId={currentId}
            state={state}
            onConversationCreated={setCurrentId}
            onLoadModel={() => void bitnet.loadModel()}
            onDownload={() => void bitnet.startDownload()}
            onImport={() => void bitnet.chooseModelFile()}
            dialogOpen={settingsOpen || libraryOpen}
            models={library.models}
            onSelectModel={(id) => void selectModel(id)}
            onOpenLibrary={openLibrary}
          />
        )}
      </main>
      {settingsOpen && settings.settings && (
        <SettingsDialog
          settings={settings.settings}
          serverUrl={state?.serverUrl}
          serverError={state?.serverError}
          version={state?.version}
          onSave={settings.save}
          onClose={() => setSettingsOpen(false)}
        />
      )}
      {libraryOpen && <ModelLibrary library={library} state={state} onClose={() => setLibraryOpen(false)} />}
      <Toast message={toast} onDone={clearToast} />
    </div>
  );
}
