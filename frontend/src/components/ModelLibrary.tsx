import { useState, type ReactNode } from "react";
import { useTranslation } from "react-i18next";
import { openExternal } from "../api";
import type { AppError, AppState, DownloadProgress, LibraryModel } from "../api";
import type { LibraryApi } from "../hooks/useLibrary";
import { useSecondsUntil } from "../hooks/useSecondsUntil";
import { useFormat } from "../i18n/format";
import { Action } from "./Action";
import { ErrorNote } from "./ErrorNote";
import { DownloadIcon, ExternalIcon, FileIcon, ShieldCheckIcon } from "./icons";
import { ConfirmDialog, Modal } from "./Modal";
import { ProgressBar } from "./ProgressBar";
import { RetryCountdown } from "./RetryCountdown";

/** Display names of the graph families (engine/gguf Family). */
const FAMILY_NAMES: Record<string, string> = { "bitnet-b1.58": "BitNet b1.58", bitnet: "BitNet", llama: "Llama" };
export const familyName = (family?: string) => (family ? (FAMILY_NAMES[family] ?? family) : "");

/** What every row needs to know of Go's state. */
type Context = {
  status: AppState["status"] | undefined;
  /** the loaded model's id */
  loadedId: string | undefined;
  loadFraction: number;
  /** why the last load failed (AppState.error, status "error"): shown on the active model */
  loadError: AppError | undefined;
  download: DownloadProgress | undefined;
  /** the name of the model being downloaded */
  downloadName: string;
};

const isLive = (d: DownloadProgress | undefined) => !!d && (d.state === "running" || d.state === "verifying");

/**
 * The model library: every catalog model (installed or not) and the other installed files, with
 * download (progress, pause, resume, cancel, the reason of a failure), use, delete (confirmed) and
 * import. Go does the work; the rows show Go's state.
 */
export function ModelLibrary({ library, state, onClose }: { library: LibraryApi; state: AppState | null; onClose: () => void }) {
  const { t } = useTranslation();
  const f = useFormat();
  const [confirming, setConfirming] = useState<LibraryModel | null>(null);
  const { models } = library;

  const status = state?.status;
  const loading = status === "loading" || status === "converting";
  const ctx: Context = {
    status,
    loadedId: state
      ? status === "ready" || status === "generating"
        ? state.model?.id
        : undefined
      : models?.find((m) => m.loaded)?.id,
    loadFraction: state?.loadFraction ?? 0,
    loadError: status === "error" ? state?.error : undefined,
    download: state?.download,
    downloadName: library.find(state?.download?.modelId)?.name ?? state?.download?.modelId ?? "",
  };
  const installed = models?.filter((m) => m.installed) ?? [];
  const available = models?.filter((m) => !m.installed) ?? [];
  // Why Use and Import wait (null: they do not).
  const busyWhy = status === "generating" ? t("library.whyGenerating") : loading ? t("library.whyLoading") : null;

  const row = (m: LibraryModel) => (
    <ModelRow key={m.id} m={m} ctx={ctx} library={library} busyWhy={busyWhy} onDelete={() => setConfirming(m)} />
  );

  return (
    <>
      <Modal
        title={t("library.title")}
        onClose={onClose}
        className="modal--library"
        testId="library-dialog"
        footer={
          <div className="library__footer">
            <span className="library__hint">{t("library.importHint")}</span>
            <Action
              className="button"
              testId="library-import"
              why={busyWhy}
              onClick={() => void library.importFile()}
            >
              <FileIcon size={15} />
              {t("library.import")}
            </Action>
          </div>
        }
      >
        <p className="library__lead">{t("library.lead")}</p>
        {library.listError && <ErrorNote error={library.listError} testId="library-error" />}
        {library.importError && (
          <ErrorNote error={library.importError} onDismiss={library.clearImportError} testId="library-import-error" />
        )}
        {models === null ? (
          !library.listError && <p className="library__empty">{t("library.loadingList")}</p>
        ) : (
          <div className="library__list" tabIndex={-1} data-autofocus>
            <section className="library__section" aria-label={t("library.installed")}>
              <h3 className="library__heading">{t("library.installed")}</h3>
              {installed.length === 0 ? (
                <p className="library__empty" data-testid="library-none-installed">
                  {t("library.noneInstalled")}
                </p>
              ) : (
                <ul className="library__models" data-testid="library-installed">
                  {installed.map(row)}
                </ul>
              )}
            </section>
            {available.length > 0 && (
              <section className="library__section" aria-label={t("library.available")}>
                <h3 className="library__heading">{t("library.available")}</h3>
                <ul className="library__models" data-testid="library-available">
                  {available.map(row)}
                </ul>
              </section>
            )}
          </div>
        )}
      </Modal>
      {confirming && (
        <ConfirmDialog
          title={t("library.confirmDeleteTitle")}
          body={[
            t(confirming.downloadable ? "library.confirmDeleteBody" : "library.confirmDeleteBodyImported", {
              model: confirming.name,
              size: f.bytes(confirming.sizeBytes),
            }),
            ctx.loadedId === confirming.id ? t("library.confirmDeleteLoaded") : "",
          ]
            .filter(Boolean)
            .join(" ")}
          confirmLabel={t("library.delete")}
          onCancel={() => setConfirming(null)}
          onConfirm={() => {
            const id = confirming.id;
            setConfirming(null);
            void library.remove(id);
          }}
        />
      )}
    </>
  );
}

function ModelRow({
  m,
  ctx,
  library,
  busyWhy,
  onDelete,
}: {
  m: LibraryModel;
  ctx: Context;
  library: LibraryApi;
  busyWhy: string | null;
  onDelete: () => void;
}) {
  const { t } = useTranslation();
  const f = useFormat();
  const { status } = ctx;
  const generating = status === "generating";
  const loadingNow = status === "loading" || status === "converting";
  const loaded = ctx.loadedId === m.id;
  const d = ctx.download?.modelId === m.id ? ctx.download : undefined;
  const dl = d?.state;
  const inDownload = !m.installed && !!d && (dl === "running" || dl === "paused" || dl === "verifying" || dl === "failed");
  const other = ctx.download && ctx.download.modelId !== m.id && isLive(ctx.download) ? ctx.download : undefined;
  const busy = !!library.working[m.id];
  const error = library.errors[m.id];
  const loadError = m.active && !loaded && ctx.loadError ? ctx.loadError : undefined;

  const activeLoading = m.active && loadingNow;
  const nameId = `model-name-${m.id}`;
  const state: { key: string; text: string; tone: string } | null = loaded
    ? { key: "in-use", text: t("library.inUse"), tone: "success" }
    : activeLoading
      ? { key: "loading", text: t("library.loading", { percent: f.percent(ctx.loadFraction) }), tone: "warn" }
      : m.active && loadError
        ? { key: "failed", text: t("library.failed"), tone: "danger" }
        : m.active && m.installed
          ? { key: "selected", text: t("library.selected"), tone: "muted" }
          : null;

  const facts = [
    m.publisher,
    m.parameters > 0 ? t("library.parameters", { value: f.params(m.parameters) }) : "",
    familyName(m.family),
    m.contextSize > 0 ? t("library.context", { tokens: f.number(m.contextSize) }) : "",
    m.license ? t("library.license", { license: m.license }) : "",
  ].filter(Boolean);
  const size =
    m.sizeBytes <= 0
      ? ""
      : m.installed
        ? t("library.onDisk", { size: f.bytes(m.sizeBytes) })
        : t(m.sizeExact ? "library.downloadSize" : "library.downloadSizeApprox", { size: f.bytes(m.sizeBytes) });
  const needs = [size, m.ramBytes > 0 ? t("library.ram", { size: f.bytes(m.ramBytes) }) : ""].filter(Boolean);
  const getFromPage = !m.installed && !m.downloadable;

  const deleteWhy = m.external
    ? t("library.whyExternal")
    : loaded && generating ? t("library.whyGenerating") : m.active && loadingNow ? t("library.whyLoading") : null;
  const downloadWhy = other ? t("library.whyOtherDownload", { model: ctx.downloadName }) : null;

  let actions: ReactNode;
  if (m.installed) {
    actions = (
      <>
        {!loaded && !activeLoading && (
          <Action
            className="button button--small button--primary"
            testId={`model-use-${m.id}`}
            describedBy={nameId}
            why={busyWhy}
            busy={busy}
            onClick={() => void library.select(m.id)}
          >
            {m.active ? t("library.load") : t("library.use")}
          </Action>
        )}
        <Action
          className="button button--small button--ghost model-row__delete"
          testId={`model-delete-${m.id}`}
          describedBy={nameId}
          why={deleteWhy}
          busy={busy}
          onClick={onDelete}
        >
          {t("library.delete")}
        </Action>
      </>
    );
  } else if (getFromPage) {
    actions = (
      <>
        {m.page && (
          <button
            type="button"
            className="button button--small"
            data-testid={`model-page-${m.id}`}
            onClick={() => openExternal(m.page!)}
          >
            <ExternalIcon size={14} />
            {t("library.openPage")}
          </button>
        )}
        <Action
          className="button button--small button--ghost"
          testId={`model-import-${m.id}`}
          describedBy={nameId}
          why={busyWhy}
          onClick={() => void library.importFile()}
        >
          {t("library.import")}
        </Action>
      </>
    );
  } else if (dl === "running") {
    actions = (
      <>
        <Action
          className="button button--small"
          testId={`model-pause-${m.id}`}
          describedBy={nameId}
          busy={busy}
          onClick={() => void library.pause(m.id)}
        >
          {t("library.pause")}
        </Action>
        <Action
          className="button button--small button--ghost"
          testId={`model-cancel-${m.id}`}
          describedBy={nameId}
          busy={busy}
          onClick={() => void library.cancel(m.id)}
        >
          {t("library.cancel")}
        </Action>
      </>
    );
  } else if (dl === "verifying") {
    actions = null;
  } else {
    const resume = inDownload && dl === "paused";
    const again = inDownload && dl === "failed";
    actions = (
      <>
        <Action
          className="button button--small button--primary"
          testId={`model-download-${m.id}`}
          describedBy={nameId}
          why={downloadWhy}
          busy={busy}
          onClick={() => void library.download(m.id)}
        >
          {!resume && <DownloadIcon size={14} />}
          {resume ? t("library.resume") : again ? t("library.downloadAgain") : t("library.download")}
        </Action>
        {inDownload && (
          <Action
            className="button button--small button--ghost"
            testId={`model-cancel-${m.id}`}
            describedBy={nameId}
            busy={busy}
            onClick={() => void library.cancel(m.id)}
          >
            {t("library.cancel")}
          </Action>
        )}
      </>
    );
  }

  return (
    <li
      className={`model-row ${loaded ? "model-row--loaded" : ""} ${m.active ? "model-row--active" : ""}`}
      data-testid={`library-model-${m.id}`}
      data-installed={m.installed || undefined}
      data-active={m.active || undefined}
      data-loaded={loaded || undefined}
    >
      <div className="model-row__main">
        <div className="model-row__head">
          <span className="model-row__name" id={nameId}>
            {m.name}
          </span>
          {state && (
            <span className={`badge badge--${state.tone}`} data-testid={`model-state-${m.id}`} data-state={state.key}>
              {state.text}
            </span>
          )}
          {m.chat ? (
            <span className="badge" data-testid={`model-chat-${m.id}`}>
              {t("library.chat")}
            </span>
          ) : (
            <span className="badge badge--warn" data-testid={`model-base-${m.id}`} title={t("library.baseTitle")}>
              {t("library.base")}
            </span>
          )}
          {m.verified && (
            <span className="badge badge--verified" data-testid={`model-verified-${m.id}`} title={t("library.verifiedTitle")}>
              <ShieldCheckIcon size={12} />
              {t("library.verified")}
            </span>
          )}
          {!m.inCatalog && (
            <span className="badge" title={m.path}>
              {t("library.imported")}
            </span>
          )}
        </div>
        {facts.length > 0 && <div className="model-row__facts">{facts.join(" · ")}</div>}
        {needs.length > 0 && (
          <div className="model-row__facts tabular" data-testid={`model-size-${m.id}`}>
            {needs.join(" · ")}
          </div>
        )}
        {getFromPage ? (
          <p className="model-row__hint" data-testid={`model-no-download-${m.id}`}>
            {t("library.noDownload")}
          </p>
        ) : (
          m.page && (
            <button
              type="button"
              className="link-button model-row__page"
              data-testid={`model-page-${m.id}`}
              onClick={() => openExternal(m.page!)}
            >
              {t("library.page")}
              <ExternalIcon size={12} />
            </button>
          )
        )}
      </div>
      <div className="model-row__actions">{actions}</div>
      {inDownload && d && <DownloadBlock d={d} id={m.id} />}
      {loadError && (
        <div className="model-row__wide">
          <ErrorNote error={loadError} testId={`model-load-error-${m.id}`} />
        </div>
      )}
      {error && (
        <div className="model-row__wide">
          <ErrorNote error={error} onDismiss={() => library.clearError(m.id)} testId={`model-error-${m.id}`} />
        </div>
      )}
    </li>
  );
}

/** A download's progress in its row: bytes, speed, time left, and why it failed or retries. */
function DownloadBlock({ d, id }: { d: DownloadProgress; id: string }) {
  const { t } = useTranslation();
  const f = useFormat();
  const running = d.state === "running";
  const retryIn = useSecondsUntil(running ? d.retryAt : undefined);
  const waitingToRetry = retryIn !== null && retryIn > 0;
  const fraction = d.bytesTotal > 0 ? d.bytesDone / d.bytesTotal : null;
  const head =
    d.state === "verifying"
      ? t("library.verifying")
      : d.state === "paused"
        ? t("library.paused")
        : d.state === "failed"
          ? t("library.downloadFailed")
          : fraction === null
            ? waitingToRetry
              ? t("onboarding.waitingToRetry")
              : t("onboarding.connecting")
            : t("library.downloading", { percent: f.percent(fraction) });
  return (
    <div className="model-row__wide model-row__progress" data-testid={`model-progress-${id}`} data-state={d.state}>
      <div className="model-row__progress-head">
        <span>{head}</span>
        {d.state !== "verifying" && d.bytesTotal > 0 && (
          <span className="tabular" data-testid={`model-progress-bytes-${id}`}>
            {t("onboarding.progress", { done: f.bytes(d.bytesDone), total: f.bytes(d.bytesTotal) })}
            {running && d.bytesPerSecond > 0 && ` · ${f.speed(d.bytesPerSecond)}`}
            {running && d.etaSeconds > 0 && ` · ${t("onboarding.eta", { eta: f.duration(d.etaSeconds) })}`}
          </span>
        )}
      </div>
      {/* Still while paused or waiting to retry: nothing is moving. */}
      {d.state !== "failed" && (
        <ProgressBar fraction={d.state === "paused" || waitingToRetry ? (fraction ?? 0) : fraction} label={head} />
      )}
      {d.error && <ErrorNote error={d.error} testId={`model-download-error-${id}`} />}
      <RetryCountdown retryIn={retryIn} attempt={d.attempt} className="model-row__retry" testId={`model-retry-in-${id}`} />
    </div>
  );
}
