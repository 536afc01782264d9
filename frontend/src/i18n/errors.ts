import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import type { i18n as I18n } from "i18next";
import type { AppError } from "../api/types";

/** Params a code's precise sentence (errors.withParams.<code>) needs; without them the general one. */
const NEEDS: Record<string, string[]> = {
  context_length_exceeded: ["tokens", "limit"],
  http_error: ["status"],
  port_in_use: ["port"],
};

const present = (v: unknown) => v !== undefined && v !== null && v !== "";

/**
 * The translated sentence for an AppError: errors.withParams.<code> when Go sent the params it
 * names, else errors.<code>, else Go's message.
 */
export function errorText(i18n: I18n, err: AppError): string {
  const params = err.params ?? {};
  const precise = `errors.withParams.${err.code}`;
  const needs = NEEDS[err.code];
  if (needs && needs.every((p) => present(params[p])) && i18n.exists(precise)) return i18n.t(precise, { ...params });
  const key = `errors.${err.code}`;
  if (err.code && err.code !== "withParams" && i18n.exists(key)) return i18n.t(key, { ...params });
  return err.message || i18n.t("errors.unknown");
}

export function useErrorText(): (err: AppError) => string {
  const { i18n } = useTranslation();
  // i18n.language in the deps re-creates it on a language switch.
  return useCallback((err: AppError) => errorText(i18n, err), [i18n, i18n.language]);
}
