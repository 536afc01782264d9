import { useCallback, useEffect, useLayoutEffect, useState } from "react";
import { api, toAppError } from "../api";
import type { AppError, Settings, Theme } from "../api";
import { applyLanguage, resolveLanguage } from "../i18n";

export type SettingsApi = ReturnType<typeof useSettings>;

/** Settings from Go; applies theme and language to the document. */
export function useSettings() {
  const [settings, setSettings] = useState<Settings | null>(null);
  const [error, setError] = useState<AppError | null>(null);

  useEffect(() => {
    let alive = true;
    api
      .getSettings()
      .then((s) => alive && setSettings(s))
      .catch((e) => alive && setError(toAppError(e)));
    return () => {
      alive = false;
    };
  }, []);

  useTheme(settings?.theme ?? "system");

  const language = settings?.language;
  useEffect(() => {
    void applyLanguage(resolveLanguage(language));
  }, [language]);

  /** Persists; throws an ApiError when Go refuses. Go may clamp values: read them back. */
  const save = useCallback(async (next: Settings) => {
    await api.saveSettings(next);
    setSettings(next);
    setError(null);
    try {
      setSettings(await api.getSettings());
    } catch {
      // keep what was saved
    }
  }, []);

  return { settings, error, save };
}

function systemPrefersDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

/** Sets <html data-theme="light|dark">, following the system when theme is "system". */
export function useTheme(theme: Theme) {
  // Before paint, so the first frame already has the right colours.
  useLayoutEffect(() => {
    const root = document.documentElement;
    const apply = () => {
      const dark = theme === "dark" || (theme === "system" && systemPrefersDark());
      root.dataset.theme = dark ? "dark" : "light";
      root.style.colorScheme = dark ? "dark" : "light";
    };
    apply();
    if (theme !== "system" || typeof window.matchMedia !== "function") return;
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    mq.addEventListener?.("change", apply);
    return () => mq.removeEventListener?.("change", apply);
  }, [theme]);
}
