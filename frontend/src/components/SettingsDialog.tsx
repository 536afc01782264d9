import { useEffect, useRef, useState, type ReactNode } from "react";
import { Trans, useTranslation } from "react-i18next";
import { api, toAppError } from "../api";
import { kVCacheSettingValues } from "../api/types";
import type { AppError, LanguageSetting, Settings } from "../api";
import { LANGUAGES, resolveLanguage } from "../i18n";
import { ErrorNote } from "./ErrorNote";
import { Modal } from "./Modal";

type Props = {
  settings: Settings;
  serverUrl?: string;
  /** why the API server is not running (AppState.serverError, also from start-up) */
  serverError?: AppError;
  /** The app's version (from git tags, set at build time), shown under "About". */
  version?: string;
  onSave: (s: Settings) => Promise<void>;
  onClose: () => void;
};

type NumField = "temperature" | "topP" | "topK" | "maxTokens" | "threads" | "serverPort";
const LIMITS: Record<NumField, { min: number; max: number; step: number; int: boolean }> = {
  temperature: { min: 0, max: 2, step: 0.05, int: false },
  topP: { min: 0, max: 1, step: 0.01, int: false },
  topK: { min: 0, max: 1000, step: 1, int: true },
  maxTokens: { min: 1, max: 4096, step: 1, int: true },
  threads: { min: 1, max: 256, step: 1, int: true },
  serverPort: { min: 1024, max: 65535, step: 1, int: true },
};

function Field({ label, hint, htmlFor, children }: { label: string; hint?: string; htmlFor: string; children: ReactNode }) {
  return (
    <div className="field">
      <label className="field__label" htmlFor={htmlFor}>
        {label}
      </label>
      {children}
      {hint && <div className="field__hint">{hint}</div>}
    </div>
  );
}

export function SettingsDialog({ settings, serverUrl, serverError, version, onSave, onClose }: Props) {
  const { t } = useTranslation();
  const [draft, setDraft] = useState<Settings>(settings);
  // Number inputs keep their text while typing; parsed on save.
  const [nums, setNums] = useState<Record<NumField, string>>(() => ({
    temperature: String(settings.temperature),
    topP: String(settings.topP),
    topK: String(settings.topK),
    maxTokens: String(settings.maxTokens),
    threads: String(settings.threads),
    serverPort: String(settings.serverPort),
  }));
  const [invalid, setInvalid] = useState<NumField | null>(null);
  const [saving, setSaving] = useState(false);
  const [error, setError] = useState<AppError | null>(null);

  const set = <K extends keyof Settings>(k: K, v: Settings[K]) => setDraft((d) => ({ ...d, [k]: v }));
  const setNum = (k: NumField, v: string) => {
    setNums((n) => ({ ...n, [k]: v }));
    if (invalid === k) setInvalid(null);
  };

  const parse = (override: Partial<Record<NumField, string>> = {}): Settings | null => {
    const out = { ...draft };
    const texts = { ...nums, ...override };
    for (const k of Object.keys(LIMITS) as NumField[]) {
      const lim = LIMITS[k];
      const v = Number(texts[k].replace(",", "."));
      if (texts[k].trim() === "" || !Number.isFinite(v) || v < lim.min || v > lim.max || (lim.int && !Number.isInteger(v))) {
        setInvalid(k);
        document.getElementById(`settings-${k}`)?.focus();
        return null;
      }
      out[k] = v;
    }
    return out;
  };

  const save = async (override: Partial<Record<NumField, string>> = {}) => {
    const next = parse(override);
    if (!next) return;
    setSaving(true);
    setError(null);
    try {
      await onSave(next);
      onClose();
    } catch (e) {
      // Go saved the rest; a port in use shows by the port field (see the effect below).
      setError(toAppError(e));
    } finally {
      setSaving(false);
    }
  };

  /** "Use port N": puts the suggested free port in the field and saves. */
  const usePort = (port: number) => {
    setNum("serverPort", String(port));
    void save({ serverPort: String(port) });
  };

  // The API server's problem, by the port field: a refused save, or Go's (e.g. at start-up).
  const portError: AppError | null =
    error?.code === "port_in_use" ? error : draft.serverEnabled && !serverUrl && serverError ? serverError : null;
  const suggested = Number(portError?.params?.suggestedPort);
  const otherError = error && error.code !== "port_in_use" ? error : null;

  // A save refused for the port: once its error is rendered, bring it (with "Use port N", under the
  // field) into view and put the cursor in the field. (Scrolling before the render left the error
  // under the dialog's footer.)
  const portNote = useRef<HTMLDivElement>(null);
  useEffect(() => {
    if (error?.code !== "port_in_use") return;
    portNote.current?.scrollIntoView?.({ block: "nearest" });
    document.getElementById("settings-serverPort")?.focus({ preventScroll: true });
  }, [error]);

  const useDefaultPrompt = async () => {
    try {
      set("systemPrompt", await api.defaultSystemPrompt(resolveLanguage(draft.language)));
    } catch (e) {
      setError(toAppError(e));
    }
  };

  /** A select of a string-enum setting k (id settings-k), labelled option by option. */
  const enumSelect = <K extends "theme" | "kvCache">(
    k: K,
    testId: string,
    values: readonly Settings[K][],
    label: (v: Settings[K]) => string,
  ) => (
    <select
      id={`settings-${k}`}
      data-testid={testId}
      className="input"
      value={draft[k]}
      onChange={(e) => set(k, e.target.value as Settings[K])}
    >
      {values.map((v) => (
        <option key={v} value={v}>
          {label(v)}
        </option>
      ))}
    </select>
  );

  const numInput = (k: NumField) => (
    <>
      <input
        id={`settings-${k}`}
        data-testid={`settings-${k}`}
        className="input input--number"
        type="number"
        inputMode={LIMITS[k].int ? "numeric" : "decimal"}
        min={LIMITS[k].min}
        max={LIMITS[k].max}
        step={LIMITS[k].step}
        value={nums[k]}
        aria-invalid={invalid === k || undefined}
        onChange={(e) => setNum(k, e.target.value)}
      />
      {invalid === k && (
        <div className="field__error" role="alert">
          {t("settings.invalidNumber", { min: LIMITS[k].min, max: LIMITS[k].max })}
        </div>
      )}
    </>
  );

  const slider = (k: "temperature" | "topP") => (
    <div className="slider-row">
      <input
        type="range"
        aria-hidden="true"
        tabIndex={-1}
        min={LIMITS[k].min}
        max={LIMITS[k].max}
        step={LIMITS[k].step}
        value={Number(nums[k]) || 0}
        onChange={(e) => setNum(k, e.target.value)}
      />
      {numInput(k)}
    </div>
  );

  return (
    <Modal
      title={t("settings.title")}
      onClose={onClose}
      className="modal--settings"
      testId="settings-dialog"
      footer={
        <>
          {otherError && (
            <div className="modal__footer-note">
              <ErrorNote error={otherError} testId="settings-error" />
            </div>
          )}
          <button type="button" className="button button--ghost" onClick={onClose}>
            {t("common.cancel")}
          </button>
          <button
            type="button"
            className="button button--primary"
            data-testid="settings-save"
            disabled={saving}
            onClick={() => void save()}
          >
            {saving ? t("settings.saving") : t("common.save")}
          </button>
        </>
      }
    >
      <form
        className="settings"
        onSubmit={(e) => {
          e.preventDefault();
          void save();
        }}
      >
        <h3 className="settings__section">{t("settings.sectionAppearance")}</h3>
        <div className="grid-2">
          <Field label={t("settings.theme")} htmlFor="settings-theme">
            {enumSelect("theme", "theme-select", ["system", "light", "dark"] as const, (th) => t(`settings.themes.${th}`))}
          </Field>
          <Field label={t("settings.language")} htmlFor="settings-language">
            <select
              id="settings-language"
              data-testid="language-select"
              className="input"
              value={draft.language}
              onChange={(e) => set("language", e.target.value as LanguageSetting)}
            >
              <option value="">{t("settings.languageSystem")}</option>
              {LANGUAGES.map((l) => (
                <option key={l} value={l}>
                  {t(`languages.${l}`)}
                </option>
              ))}
            </select>
          </Field>
        </div>

        <h3 className="settings__section">{t("settings.sectionGeneration")}</h3>
        <div className="field">
          <div className="field__label-row">
            <label className="field__label" htmlFor="settings-systemPrompt">
              {t("settings.systemPrompt")}
            </label>
            <button
              type="button"
              className="link-button"
              data-testid="settings-default-prompt"
              onClick={() => void useDefaultPrompt()}
            >
              {t("settings.useDefault")}
            </button>
          </div>
          <textarea
            id="settings-systemPrompt"
            data-testid="settings-systemPrompt"
            className="input input--textarea"
            rows={4}
            maxLength={8000}
            value={draft.systemPrompt}
            onChange={(e) => set("systemPrompt", e.target.value)}
          />
          <div className="field__hint">{t("settings.systemPromptHint")}</div>
        </div>
        <div className="grid-2">
          <Field label={t("settings.temperature")} hint={t("settings.temperatureHint")} htmlFor="settings-temperature">
            {slider("temperature")}
          </Field>
          <Field label={t("settings.topP")} htmlFor="settings-topP">
            {slider("topP")}
          </Field>
          <Field label={t("settings.topK")} htmlFor="settings-topK">
            {numInput("topK")}
          </Field>
          <Field label={t("settings.maxTokens")} htmlFor="settings-maxTokens">
            {numInput("maxTokens")}
          </Field>
        </div>

        <h3 className="settings__section">{t("settings.sectionModel")}</h3>
        <div className="grid-2">
          <Field label={t("settings.threads")} hint={t("settings.threadsHint")} htmlFor="settings-threads">
            {numInput("threads")}
          </Field>
          <Field label={t("settings.kvCache")} hint={t("settings.kvCacheHint")} htmlFor="settings-kvCache">
            {enumSelect("kvCache", "settings-kvCache", kVCacheSettingValues, (kv) => t(`settings.kvCaches.${kv}`))}
          </Field>
          <Field label={t("settings.downloadUrl")} hint={t("settings.downloadUrlHint")} htmlFor="settings-downloadUrl">
            <input
              id="settings-downloadUrl"
              data-testid="settings-downloadUrl"
              className="input"
              type="url"
              spellCheck={false}
              value={draft.downloadUrl}
              onChange={(e) => set("downloadUrl", e.target.value)}
            />
          </Field>
        </div>

        <h3 className="settings__section">{t("settings.sectionServer")}</h3>
        <label className="checkbox">
          <input
            type="checkbox"
            data-testid="settings-serverEnabled"
            checked={draft.serverEnabled}
            onChange={(e) => set("serverEnabled", e.target.checked)}
          />
          <span>{t("settings.serverEnabled")}</span>
        </label>
        <div className="field__hint">{t("settings.serverHint")}</div>
        <div className="grid-2 server-row">
          <Field label={t("settings.serverPort")} htmlFor="settings-serverPort">
            {numInput("serverPort")}
          </Field>
          <div className="server-status" data-testid="server-url">
            <span
              className={`status__dot ${serverUrl ? "status__dot--ready" : portError ? "status__dot--error" : "status__dot--idle"}`}
              aria-hidden="true"
            />
            {serverUrl ? (
              <span>
                <Trans i18nKey="settings.serverRunning" values={{ url: serverUrl }} components={{ code: <code /> }} />
              </span>
            ) : (
              <span>{t("settings.serverStopped")}</span>
            )}
          </div>
        </div>
        {portError && (
          <div ref={portNote}>
            <ErrorNote error={portError} testId="port-error" className="port-error">
              {Number.isInteger(suggested) && suggested > 0 && (
                <button
                  type="button"
                  className="button button--small"
                  data-testid="use-suggested-port"
                  disabled={saving}
                  onClick={() => usePort(suggested)}
                >
                  {t("settings.usePort", { port: suggested })}
                </button>
              )}
            </ErrorNote>
          </div>
        )}
        <h3 className="settings__section">{t("settings.sectionAbout")}</h3>
        <p className="field__hint" data-testid="about-version">
          {t("app.name")} · {t("status.version", { version: version || "dev" })}
        </p>
        <button type="submit" hidden />
      </form>
    </Modal>
  );
}
