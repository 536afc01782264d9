import { useEffect, useLayoutEffect, useRef, useState } from "react";
import { useTranslation } from "react-i18next";
import { onFileDrop } from "../api";
import type { AppError, AppState } from "../api";
import type { BitNet } from "../hooks/useBitNet";
import { useSecondsUntil } from "../hooks/useSecondsUntil";
import { useFormat } from "../i18n/format";
import { ErrorNote } from "./ErrorNote";
import { DownloadIcon, FileIcon } from "./icons";
import { ProgressBar } from "./ProgressBar";
import { RetryCountdown } from "./RetryCountdown";

/** Size of the official ggml-model-i2_s.gguf, for the button before the download starts. */
export const OFFICIAL_MODEL_BYTES = 1_187_801_280;
/** The catalog id of the app's own model (what StartDownload downloads). */
export const OFFICIAL_MODEL_ID = "bitnet-b1.58-2b4t";

type Props = {
  state: AppState;
  bitnet: Pick<
    BitNet,
    "startDownload" | "pauseDownload" | "cancelDownload" | "chooseModelFile" | "importModel" | "actionError" | "clearError" | "reportError"
  >;
  /** the name of the model being downloaded (the library's), when it is not the app's own */
  downloadName?: string;
  /** opens the model library */
  onBrowse?: () => void;
};

const isGguf = (p: string) => /\.gguf$/i.test(p.trim());

/** First run / model manager: download the model or import a GGUF, with progress and errors. */
export function Onboarding({ state, bitnet, downloadName, onBrowse }: Props) {
  const { t } = useTranslation();
  const f = useFormat();
  const [dragging, setDragging] = useState(false);
  const [dropError, setDropError] = useState<AppError | null>(null);
  const model = downloadName || t("app.modelName");

  // Files dropped onto the window: Wails gives their paths (OnFileDrop).
  const importRef = useRef(bitnet.importModel);
  useLayoutEffect(() => {
    importRef.current = bitnet.importModel;
  });
  const nativeDrop = useRef(false);
  useEffect(() => {
    const off = onFileDrop((paths) => {
      setDragging(false);
      const file = paths.find(isGguf);
      if (!file) {
        setDropError({ code: "drop_not_gguf", message: t("onboarding.dropNotGguf") });
        return;
      }
      setDropError(null);
      void importRef.current(file);
    });
    nativeDrop.current = off !== null;
    return () => off?.();
  }, [t]);

  // The drop overlay (and, outside Wails, a hint that dropping is not available).
  useEffect(() => {
    let depth = 0;
    const hasFiles = (e: DragEvent) => Array.from(e.dataTransfer?.types ?? []).includes("Files");
    const enter = (e: DragEvent) => {
      if (!hasFiles(e)) return;
      depth++;
      setDragging(true);
    };
    const leave = () => {
      depth = Math.max(0, depth - 1);
      if (depth === 0) setDragging(false);
    };
    const over = (e: DragEvent) => {
      if (hasFiles(e)) e.preventDefault();
    };
    const drop = (e: DragEvent) => {
      depth = 0;
      setDragging(false);
      if (!hasFiles(e)) return;
      e.preventDefault();
      if (!nativeDrop.current) {
        const name = e.dataTransfer?.files?.[0]?.name ?? "";
        setDropError({
          code: "drop",
          message: name && !isGguf(name) ? t("onboarding.dropNotGguf") : t("onboarding.dropUnavailable"),
        });
      }
    };
    window.addEventListener("dragenter", enter);
    window.addEventListener("dragleave", leave);
    window.addEventListener("dragover", over);
    window.addEventListener("drop", drop);
    return () => {
      window.removeEventListener("dragenter", enter);
      window.removeEventListener("dragleave", leave);
      window.removeEventListener("dragover", over);
      window.removeEventListener("drop", drop);
    };
  }, [t]);

  const d = state.download;
  const status = state.status;
  const dl = d?.state ?? "idle";
  const fraction = d && d.bytesTotal > 0 ? d.bytesDone / d.bytesTotal : null;
  const retryIn = useSecondsUntil(dl === "running" ? d?.retryAt : undefined);
  // Between attempts (Go waits before the next one): not "Connecting…", which the next attempt says.
  const waitingToRetry = retryIn !== null && retryIn > 0;

  let body;
  if (status === "converting" || status === "loading") {
    const stage = state.loadStage ? t(`onboarding.stages.${state.loadStage}`, { defaultValue: "" }) : "";
    body = (
      <div className="onboarding__progress" data-testid="load-progress">
        <div className="onboarding__progress-head">
          <span>{status === "converting" ? t("onboarding.converting") : t("onboarding.loading")}</span>
          <span className="tabular">{f.percent(state.loadFraction)}</span>
        </div>
        <ProgressBar fraction={state.loadFraction} label={t("onboarding.loading")} />
        {stage && <div className="onboarding__meta">{stage}</div>}
      </div>
    );
  } else if (status === "verifying" || dl === "verifying") {
    body = (
      <div className="onboarding__progress" data-testid="verify-progress">
        <div className="onboarding__progress-head">
          <span>{t("onboarding.verifying")}</span>
          {fraction !== null && <span className="tabular">{f.percent(fraction)}</span>}
        </div>
        {/* While verifying, bytesDone counts the bytes hashed so far. */}
        <ProgressBar fraction={fraction} label={t("onboarding.verifying")} />
      </div>
    );
  } else if (d && (dl === "running" || dl === "paused")) {
    const running = dl === "running";
    body = (
      <div className="onboarding__progress" data-testid="download-progress" data-state={dl}>
        <div className="onboarding__progress-head">
          <span>{running ? t("onboarding.downloading", { model }) : t("onboarding.paused")}</span>
          {fraction !== null && <span className="tabular">{f.percent(fraction)}</span>}
        </div>
        {/* Still while paused or waiting to retry: nothing is moving. */}
        <ProgressBar
          fraction={running && !waitingToRetry ? fraction : (fraction ?? 0)}
          label={t("onboarding.downloading", { model })}
        />
        <div className="onboarding__meta tabular" data-testid="download-stats">
          <span data-testid="download-bytes">
            {d.bytesTotal === 0 && d.bytesDone === 0 && running
              ? waitingToRetry
                ? t("onboarding.waitingToRetry")
                : t("onboarding.connecting")
              : t("onboarding.progress", { done: f.bytes(d.bytesDone), total: f.bytes(d.bytesTotal) })}
          </span>
          {running && d.bytesPerSecond > 0 && (
            <span data-testid="download-speed">{t("onboarding.speed", { speed: f.speed(d.bytesPerSecond) })}</span>
          )}
          {running && d.etaSeconds > 0 && (
            <span data-testid="download-eta">{t("onboarding.eta", { eta: f.duration(d.etaSeconds) })}</span>
          )}
          {d.attempt > 1 && retryIn === null && <span>{t("onboarding.attempt", { attempt: f.number(d.attempt) })}</span>}
        </div>
        {/* Go keeps retrying (state "running"): the first failure's reason shows at once. */}
        {running && d.error && <ErrorNote error={d.error} testId="download-error" />}
        <RetryCountdown retryIn={retryIn} attempt={d.attempt} className="onboarding__retry" testId="download-retry-in" />
        <div className="onboarding__row">
          {running ? (
            <button type="button" className="button" data-testid="download-pause" onClick={() => void bitnet.pauseDownload()}>
              {t("onboarding.pause")}
            </button>
          ) : (
            <button
              type="button"
              className="button button--primary"
              data-testid="download-resume"
              onClick={() => void bitnet.startDownload()}
            >
              {t("onboarding.resume")}
            </button>
          )}
          <button
            type="button"
            className="button button--ghost"
            data-testid="download-cancel"
            onClick={() => void bitnet.cancelDownload()}
          >
            {t("onboarding.cancel")}
          </button>
        </div>
      </div>
    );
  } else if (dl === "failed") {
    body = (
      <div className="onboarding__failed" data-testid="download-failed">
        <div className="onboarding__failed-title">{t("onboarding.failed")}</div>
        {d?.error && <ErrorNote error={d.error} testId="download-error" />}
        <button
          type="button"
          className="button button--primary button--large"
          data-testid="download-retry"
          onClick={() => void bitnet.startDownload()}
        >
          <DownloadIcon size={18} />
          {t("onboarding.retry")}
        </button>
      </div>
    );
  } else {
    body = (
      <button
        type="button"
        className="button button--primary button--large"
        data-testid="download-button"
        onClick={() => void bitnet.startDownload()}
      >
        <DownloadIcon size={18} />
        {t("onboarding.download", { model: t("app.modelName"), size: f.bytes((d?.modelId === OFFICIAL_MODEL_ID && d.bytesTotal) || OFFICIAL_MODEL_BYTES) })}
      </button>
    );
  }

  // Import stays available while downloading (a file at hand beats a slow or failing download).
  const importBusy = status === "converting" || status === "loading" || status === "verifying";
  const error = bitnet.actionError ?? dropError ?? (status === "error" ? state.error : undefined);

  return (
    <div className="onboarding" data-testid="onboarding">
      <div className="onboarding__card">
        <div className="onboarding__logo" aria-hidden="true">
          b
        </div>
        <h1 className="onboarding__title">{t("onboarding.title")}</h1>
        <p className="onboarding__lead">{t("onboarding.line1")}</p>
        <p className="onboarding__lead">{t("onboarding.line2")}</p>

        <div className="onboarding__main">{body}</div>

        {error && (
          <ErrorNote
            error={error}
            testId="onboarding-error"
            onDismiss={
              bitnet.actionError || dropError
                ? () => {
                    bitnet.clearError();
                    setDropError(null);
                  }
                : undefined
            }
          />
        )}

        <div className="onboarding__divider">
          <span>{t("onboarding.or")}</span>
        </div>
        <button
          type="button"
          className="button button--secondary"
          data-testid="import-button"
          disabled={importBusy}
          onClick={() => void bitnet.chooseModelFile()}
        >
          <FileIcon size={16} />
          {t("onboarding.import")}
        </button>
        <p className="onboarding__hint">{t("onboarding.dropHint")}</p>
        {onBrowse && (
          <button type="button" className="link-button onboarding__browse" data-testid="onboarding-browse" onClick={onBrowse}>
            {t("library.browse")}
          </button>
        )}
      </div>
      <p className="onboarding__footer">{t("onboarding.footer")}</p>
      {dragging && (
        <div className="drop-overlay" data-testid="drop-overlay">
          <div className="drop-overlay__box">
            <FileIcon size={28} />
            <span>{t("onboarding.dropOverlay")}</span>
          </div>
        </div>
      )}
    </div>
  );
}
