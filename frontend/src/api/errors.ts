import type { AppError } from "./types";

/** An error from a bound Go method, with the parsed {code, params, message}. */
export class ApiError extends Error {
  readonly appError: AppError;
  constructor(appError: AppError) {
    super(appError.message || appError.code);
    this.name = "ApiError";
    this.appError = appError;
  }
  get code(): string {
    return this.appError.code;
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fromObject(o: Record<string, unknown>, raw: string): AppError | null {
  if (typeof o.code !== "string" || o.code === "") return null;
  return {
    code: o.code,
    params: isRecord(o.params) ? o.params : undefined,
    message: typeof o.message === "string" ? o.message : raw,
  };
}

/**
 * Turns whatever a rejected Wails call gives (the Go error string, which is the JSON of
 * *engine.Error, or an Error, or an object) into an AppError. Falls back to the plain text with
 * code "unknown".
 */
export function toAppError(err: unknown): AppError {
  if (err instanceof ApiError) return err.appError;
  if (isRecord(err) && !(err instanceof Error)) {
    const o = fromObject(err, JSON.stringify(err));
    if (o) return o;
  }
  const text = err instanceof Error ? err.message : String(err ?? "");
  const trimmed = text.trim();
  if (trimmed.startsWith("{")) {
    try {
      const parsed: unknown = JSON.parse(trimmed);
      if (isRecord(parsed)) {
        const o = fromObject(parsed, trimmed);
        if (o) return o;
      }
    } catch {
      // not JSON: plain text below
    }
  }
  return { code: "unknown", message: text };
}
