// Numbers, sizes, speeds and durations formatted with Intl for the current UI language.
import { useTranslation } from "react-i18next";

const cache = new Map<string, Intl.NumberFormat>();
function nf(locale: string, opts: Intl.NumberFormatOptions): Intl.NumberFormat {
  const key = locale + JSON.stringify(opts);
  let f = cache.get(key);
  if (!f) {
    f = new Intl.NumberFormat(locale, opts);
    cache.set(key, f);
  }
  return f;
}

function unit(locale: string, value: number, u: string, digits: number): string {
  return nf(locale, { style: "unit", unit: u, unitDisplay: "short", maximumFractionDigits: digits }).format(value);
}

export function formatNumber(locale: string, n: number, maxFractionDigits = 0): string {
  return nf(locale, { maximumFractionDigits: maxFractionDigits }).format(n);
}

/** Decimal units (1 GB = 10^9 bytes), like file managers and download pages. */
export function formatBytes(locale: string, bytes: number): string {
  const b = Math.max(0, bytes || 0);
  if (b >= 1e9) return unit(locale, b / 1e9, "gigabyte", 2);
  if (b >= 1e6) return unit(locale, b / 1e6, "megabyte", b >= 1e7 ? 0 : 1);
  if (b >= 1e3) return unit(locale, b / 1e3, "kilobyte", 0);
  return `${formatNumber(locale, b)} B`;
}

export function formatSpeed(locale: string, bytesPerSecond: number): string {
  const b = Math.max(0, bytesPerSecond || 0);
  if (b >= 1e6) return unit(locale, b / 1e6, "megabyte-per-second", 1);
  return unit(locale, b / 1e3, "kilobyte-per-second", 0);
}

/** 45 s, 3 min 20 s, 1 h 5 min. */
export function formatDuration(locale: string, seconds: number): string {
  const s = Math.max(0, Math.round(seconds || 0));
  if (s < 60) return unit(locale, s, "second", 0);
  if (s < 3600) {
    const m = Math.floor(s / 60);
    const r = s % 60;
    return r === 0 || m >= 10
      ? unit(locale, m, "minute", 0)
      : `${unit(locale, m, "minute", 0)} ${unit(locale, r, "second", 0)}`;
  }
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return m === 0 ? unit(locale, h, "hour", 0) : `${unit(locale, h, "hour", 0)} ${unit(locale, m, "minute", 0)}`;
}

/** 350 ms, 1.2 s */
export function formatMs(locale: string, ms: number): string {
  const v = Math.max(0, ms || 0);
  if (v < 1000) return unit(locale, Math.round(v), "millisecond", 0);
  return unit(locale, v / 1000, "second", v < 10000 ? 1 : 0);
}

export function formatPercent(locale: string, fraction: number): string {
  const f = Math.min(1, Math.max(0, fraction || 0));
  return nf(locale, { style: "percent", maximumFractionDigits: 0 }).format(f);
}

export function formatTps(locale: string, tps: number): string {
  return formatNumber(locale, tps || 0, tps >= 100 ? 0 : 1);
}

/** Parameters of a model: "2.4 B", "729 M". */
export function formatParams(locale: string, n: number): string {
  const v = Math.max(0, n || 0);
  if (v >= 1e9) return `${formatNumber(locale, v / 1e9, 1)} B`;
  if (v >= 1e6) return `${formatNumber(locale, v / 1e6, 0)} M`;
  return formatNumber(locale, v);
}

/** The formatters bound to the current i18n language. */
export function useFormat() {
  const { i18n } = useTranslation();
  const locale = i18n.language || "en";
  return {
    locale,
    number: (n: number, d = 0) => formatNumber(locale, n, d),
    bytes: (b: number) => formatBytes(locale, b),
    speed: (b: number) => formatSpeed(locale, b),
    duration: (s: number) => formatDuration(locale, s),
    ms: (ms: number) => formatMs(locale, ms),
    percent: (f: number) => formatPercent(locale, f),
    tps: (v: number) => formatTps(locale, v),
    params: (n: number) => formatParams(locale, n),
  };
}
