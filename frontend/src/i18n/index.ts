import i18n from "i18next";
import { initReactI18next } from "react-i18next";
import en from "./en.json";
import es from "./es.json";
import type { LanguageSetting } from "../api/types";

export const LANGUAGES = ["en", "es"] as const;
export type Language = (typeof LANGUAGES)[number];

/** The first of the system's preferred languages that we have, else English. */
export function detectLanguage(): Language {
  const prefs =
    typeof navigator === "undefined"
      ? []
      : navigator.languages && navigator.languages.length > 0
        ? navigator.languages
        : [navigator.language];
  for (const tag of prefs) {
    const base = (tag ?? "").toLowerCase().split(/[-_]/)[0];
    if (base === "es" || base === "en") return base;
  }
  return "en";
}

/** settings.language "" means "follow the system". */
export function resolveLanguage(setting: LanguageSetting | undefined): Language {
  return setting === "en" || setting === "es" ? setting : detectLanguage();
}

export function applyLanguage(lang: Language): Promise<unknown> {
  if (typeof document !== "undefined") document.documentElement.lang = lang;
  if (i18n.language === lang) return Promise.resolve();
  return i18n.changeLanguage(lang);
}

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, es: { translation: es } },
  lng: detectLanguage(),
  fallbackLng: "en",
  supportedLngs: [...LANGUAGES],
  interpolation: { escapeValue: false },
  returnNull: false,
  initAsync: false,
});

export default i18n;
