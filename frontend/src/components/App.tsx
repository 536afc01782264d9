import { useCallback, useEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import type { AppError } from "../api";
import { needsOnboarding, useBitNet } from "../hooks/useBitNet";
import { useConversations } from "../hooks/useConversations";
import { useSettings } from "../hooks/useSettings";
import { useErrorText } from "../i18n/errors";
import { BitNetStatus } from "./BitNetStatus";
import { ChatInterface } from "./ChatInterface";
import { GearIcon } from "./icons";
import { Onboarding } from "./Onboarding";
import { SettingsDialog } from "./SettingsDialog";
import { Sidebar } from "./Sidebar";
import { Toast, type ToastMessage } from "./Toast";

export function App() {
  const { t } = useTranslation();
  const errorText = useErrorText();
  const bitnet = useBitNet();
  const settings = useSettings();
  const conversations = useConversations();
  const [currentId, setCurrentId] = useState<string | null>(null);
  const [settingsOpen, setSettingsOpen] = useState(false);
  const [toast, setToast] = useState<ToastMessage | null>(null);
  const searchRef = useRef<HTMLInputElement>(null);

  const state = bitnet.state;

  // Stay on the onboarding screen through the final "loading" step that follows it.
  const onboardingBefore = useRef(false);
  const onboarding = needsOnboarding(state) || (onboardingBefore.current && state?.status === "loading");
  useEffect(() => {
    onboardingBefore.current = onboarding;
  }, [onboarding]);

  const notice = useCallback((text: string) => setToast({ id: Date.now(), text, kind: "info" }), []);
  const fail = useCallback((e: AppError) => setToast({ id: Date.now(), text: errorText(e), kind: "error" }), [errorText]);
  const clearToast = useCallback(() => setToast(null), []);

  // Errors of model actions taken outside the onboarding screen (status panel, banners).
  const { actionError, clearError } = bitnet;
  useEffect(() => {
    if (actionError && !onboarding) {
      fail(actionError);
      clearError();
    }
  }, [actionError, onboarding, fail, clearError]);

  const newChat = useCallback(() => {
    setCurrentId(null);
  }, []);

  // Ctrl/Cmd+N new chat, Ctrl/Cmd+K search, Ctrl/Cmd+, settings.
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
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, [newChat]);

  const current = conversations.items.find((c) => c.id === currentId);
  const title = currentId ? current?.title || t("sidebar.untitled") : t("sidebar.newChat");

  useEffect(() => {
    document.title = t("app.name");
  }, [t]);

  return (
    <div className="app" data-testid="app">
      <Sidebar
        conversations={conversations}
        currentId={currentId}
        generatingId={state?.generatingConversationId}
        onSelect={setCurrentId}
        onNew={newChat}
        onDeleted={(id) => id === currentId && setCurrentId(null)}
        onNotice={notice}
        onError={fail}
        searchRef={searchRef}
        footer={
          <div className="sidebar__footer-row">
            <BitNetStatus
              state={state}
              onLoad={() => void bitnet.loadModel()}
              onUnload={() => void bitnet.unloadModel()}
              onImport={() => void bitnet.chooseModelFile()}
            />
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
          </header>
        )}
        {state === null ? (
          <div className="main__placeholder" />
        ) : onboarding ? (
          <Onboarding state={state} bitnet={bitnet} />
        ) : (
          <ChatInterface
            conversationId={currentId}
            state={state}
            onConversationCreated={setCurrentId}
            onLoadModel={() => void bitnet.loadModel()}
            dialogOpen={settingsOpen}
          />
        )}
      </main>
      {settingsOpen && settings.settings && (
        <SettingsDialog
          settings={settings.settings}
          serverUrl={state?.serverUrl}
          version={state?.version}
          onSave={settings.save}
          onClose={() => setSettingsOpen(false)}
        />
      )}
      <Toast message={toast} onDone={clearToast} />
    </div>
  );
}
