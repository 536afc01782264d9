import { useCallback } from "react";
import { useTranslation } from "react-i18next";
import type { i18n as I18n } from "i18next";
import type { AppError } from "../api/types";
import { formatBytes } from "./format";

/** Params a code's precise sentence (errors.withParams.<code>) needs; without them the general one. */
const NEEDS: Record<string, string[]> = {
  context_length_exceeded: ["tokens", "limit"],
  http_error: ["status"],
  port_in_use: ["port"],
  insufficient_memory: ["needed", "available"],
  // a download refused because another model's download runs (SendMessage's busy has conversationId)
  busy: ["modelId"],
};

/** Params shown formatted (bytes as "1.2 GB"), by code. */
const BYTES: Record<string, string[]> = {
  insufficient_memory: ["needed", "available"],
};

const present = (v: unknown) => v !== undefined && v !== null && v !== "";

function shown(lang: string, err: AppError): Record<string, unknown> {
  const params: Record<string, unknown> = { ...(err.params ?? {}) };
  for (const k of BYTES[err.code] ?? []) {
    if (typeof params[k] === "number") params[k] = formatBytes(lang || "en", params[k]);
  }
  return params;
}

/**
 * The translated sentence for an AppError: errors.withParams.<code> when Go sent the params it
 * names, else errors.<code>, else Go's message.
 */
export function errorText(i18n: I18n, err: AppError): string {
  const params = shown(i18n.language, err);
  const precise = `errors.withParams.${err.code}`;
  const needs = NEEDS[err.code];
  if (needs && needs.every((p) => present(params[p])) && i18n.exists(precise)) return i18n.t(precise, params);
  const key = `errors.${err.code}`;
  if (err.code && err.code !== "withParams" && i18n.exists(key)) return i18n.t(key, params);
  return err.message || i18n.t("errors.unknown");
}

export function useErrorText(): (err: AppError) => string {
  const { i18n } = useTranslation();
  // i18n.language in the deps re-creates it on a language switch.
  return useCallback((err: AppError) => errorText(i18n, err), [i18n, i18n.language]);
}
