import { useState } from "react";
import { useTranslation } from "react-i18next";
import type { AppState } from "../api";
import { viewStatus } from "../hooks/useBitNet";
import { useErrorText } from "../i18n/errors";
import { useFormat } from "../i18n/format";
import { AlertIcon, ChevronIcon } from "./icons";
import { ProgressBar } from "./ProgressBar";

type Props = {
  state: AppState | null;
  onLoad: () => void;
  onUnload: () => void;
  onImport: () => void;
  /** opens the model library */
  onOpenLibrary?: () => void;
  /** the active model's name when none is loaded (the library's) */
  activeName?: string;
  defaultOpen?: boolean;
  /**
   * The context use of the conversation shown (its last answer's stats; null for a new chat).
   * Without it, the model's last answer (AppState.contextUsed) is shown.
   */
  context?: { used: number; size: number } | null;
};

/** Names of the ternary kernels (engine ModelInfo.kernel) as shown. */
const kernelNames: Record<string, string> = {
  "avx512-vnni": "AVX-512 VNNI",
  "avx512-vnni-1.6bit": "AVX-512 VNNI, 1.6-bit",
  "avx-vnni": "AVX-VNNI",
  avx2: "AVX2",
  "neon-dotprod": "NEON dotprod",
  neon: "NEON",
  ggml: "ggml",
};

function basename(p: string): string {
  const parts = p.split(/[\\/]/);
  return parts[parts.length - 1] || p;
}

/** Compact model status for the sidebar footer, with details on demand. */
export function BitNetStatus({
  state,
  onLoad,
  onUnload,
  onImport,
  onOpenLibrary,
  activeName,
  defaultOpen = false,
  context,
}: Props) {
  const { t } = useTranslation();
  const f = useFormat();
  const errorText = useErrorText();
  const [open, setOpen] = useState(defaultOpen);
  const status = viewStatus(state);
  if (!state || !status) return null;

  const label = t(`status.states.${status}`);
  const busy = status === "loading" || status === "converting" || status === "verifying" || status === "downloading";
  const progress =
    status === "downloading" && state.download && state.download.bytesTotal > 0
      ? state.download.bytesDone / state.download.bytesTotal
      : status === "loading" || status === "converting"
        ? state.loadFraction
        : null;
  const contextSize = (context === undefined ? 0 : context?.size) || state.contextSize || state.model?.contextSize || 0;
  const contextUsed = context === undefined ? state.contextUsed : (context?.used ?? 0);
  const stats = state.lastStats;
  const none = t("status.none");

  return (
    <section className={`status status--${status}`} data-testid="status-panel" data-status={status}>
      <button
        type="button"
        className="status__summary"
        onClick={() => setOpen((v) => !v)}
        aria-expanded={open}
        aria-label={open ? t("status.hideDetails") : t("status.showDetails")}
        data-testid="status-toggle"
      >
        <span className={`status__dot status__dot--${status}`} aria-hidden="true" />
        <span className="status__lines">
          <span className="status__text" data-testid="status-text">
            {label}
          </span>
          <span className="status__model" data-testid="status-model">
            {state.model?.displayName || state.model?.name || activeName || t("app.modelName")}
          </span>
        </span>
        {state.serverError && !state.serverUrl && (
          <span
            className="status__warn"
            data-testid="status-server-warning"
            title={`${t("status.server")}: ${errorText(state.serverError)}`}
          >
            <AlertIcon size={14} />
          </span>
        )}
        <ChevronIcon size={14} className={`status__chevron ${open ? "status__chevron--open" : ""}`} />
      </button>
      {busy && progress !== null && (
        <ProgressBar fraction={progress} label={label} testId="status-progress" />
      )}
      {open && (
        <div className="status__details" data-testid="status-details">
          <dl>
            <dt>{t("status.memory")}</dt>
            <dd data-testid="status-memory">{state.memoryBytes > 0 ? f.bytes(state.memoryBytes) : none}</dd>
            <dt>{t("status.threads")}</dt>
            <dd data-testid="status-threads">{state.threads > 0 ? f.number(state.threads) : none}</dd>
            <dt>{t("status.kernel")}</dt>
            <dd data-testid="status-kernel">
              {state.model?.kernel ? (kernelNames[state.model.kernel] ?? state.model.kernel) : none}
            </dd>
            <dt>{t("status.kvCache")}</dt>
            <dd data-testid="status-kvCache" title={state.model?.kvCache ? t(`settings.kvCaches.${state.model.kvCache}`) : undefined}>
              {state.model?.kvCache || none}
            </dd>
            <dt>{t("status.modelFile")}</dt>
            <dd className="status__file" title={state.model?.path}>
              {state.model ? basename(state.model.runPath || state.model.path) : none}
            </dd>
            <dt>{t("status.context")}</dt>
            <dd data-testid="status-context">
              {contextSize > 0
                ? t("status.contextValue", { used: f.number(contextUsed), size: f.number(contextSize) })
                : none}
            </dd>
            <dt>{t("status.lastAnswer")}</dt>
            <dd data-testid="status-speed">{stats ? t("chat.tps", { value: f.tps(stats.decodeTps) }) : none}</dd>
            <dt>{t("status.ttft")}</dt>
            <dd data-testid="status-ttft">{stats ? f.ms(stats.ttftMs) : none}</dd>
            {(state.serverUrl || state.serverError) && (
              <>
                <dt>{t("status.server")}</dt>
                <dd
                  data-testid="status-server"
                  className={state.serverError && !state.serverUrl ? "status__server-error" : undefined}
                  title={state.serverError?.message}
                >
                  {state.serverUrl ?? (state.serverError ? errorText(state.serverError) : none)}
                </dd>
              </>
            )}
          </dl>
          <div className="status__actions">
            {(status === "ready" || status === "generating") && (
              <button
                type="button"
                className="button button--small"
                data-testid="unload-model"
                disabled={status === "generating"}
                onClick={onUnload}
              >
                {t("status.unload")}
              </button>
            )}
            {state.modelPresent && (status === "not_loaded" || status === "error") && (
              <button type="button" className="button button--small button--primary" data-testid="status-load" onClick={onLoad}>
                {t("status.load")}
              </button>
            )}
            {onOpenLibrary && (
              <button type="button" className="button button--small" data-testid="status-models" onClick={onOpenLibrary}>
                {t("library.showModels")}
              </button>
            )}
            {!busy && status !== "generating" && (
              <button type="button" className="button button--small button--ghost" onClick={onImport}>
                {t("status.changeModel")}
              </button>
            )}
          </div>
          {state.version && <div className="status__version">{t("status.version", { version: state.version })}</div>}
        </div>
      )}
    </section>
  );
}
