import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import type { i18n as I18n } from "i18next";
import type { AppError } from "../api/types";

/** The translated sentence for an AppError: errors.<code> with its params, else the Go message. */
export function errorText(i18n: I18n, err: AppError): string {
  const key = `errors.${err.code}`;
  if (err.code && i18n.exists(key)) return i18n.t(key, { ...(err.params ?? {}) });
  return err.message || i18n.t("errors.unknown");
}

export function useErrorText(): (err: AppError) => string {
  const { i18n } = useTranslation();
  // i18n.language in the deps re-creates it on a language switch.
  return useCallback((err: AppError) => errorText(i18n, err), [i18n, i18n.language]);
}
