import { useEffect, useLayoutEffect, useRef } from "react";
import * as runtime from "../../wailsjs/runtime/runtime";
import type { EventMap, EventName } from "./types";

type RuntimeWindow = Window & { runtime?: Record<string, unknown> };

function hasRuntime(name: string): boolean {
  const rt = (window as RuntimeWindow).runtime;
  return typeof rt === "object" && rt !== null && typeof rt[name] === "function";
}

/** Whether Go events can be subscribed to (the Wails runtime, or the fake backend, is there). */
export function eventsAvailable(): boolean {
  return hasRuntime("EventsOnMultiple");
}

/** Subscribes to a Go event; returns the unsubscribe function. A no-op outside Wails. */
export function onEvent<K extends EventName>(name: K, cb: (payload: EventMap[K]) => void): () => void {
  if (!hasRuntime("EventsOnMultiple")) return () => {};
  const off = runtime.EventsOn(name, (payload: EventMap[K]) => cb(payload));
  return typeof off === "function" ? off : () => {};
}

/** React hook: calls the latest `handler` for every `name` event while mounted. */
export function useEvent<K extends EventName>(name: K, handler: (payload: EventMap[K]) => void): void {
  const ref = useRef(handler);
  useLayoutEffect(() => {
    ref.current = handler;
  });
  useEffect(() => onEvent(name, (p) => ref.current(p)), [name]);
}

/**
 * Files dropped on the window (Wails v2 OnFileDrop gives real paths; it needs
 * DragAndDrop.EnableFileDrop in the Go options). Returns the unsubscribe function, or null
 * when the runtime has no OnFileDrop (a plain browser).
 */
export function onFileDrop(cb: (paths: string[]) => void): (() => void) | null {
  if (!hasRuntime("OnFileDrop")) return null;
  runtime.OnFileDrop((_x: number, _y: number, paths: string[]) => cb(paths ?? []), false);
  return () => {
    if (hasRuntime("OnFileDropOff")) runtime.OnFileDropOff();
  };
}

/** Opens a link in the system browser (never navigates the app's webview away). */
export function openExternal(url: string): void {
  if (hasRuntime("BrowserOpenURL")) runtime.BrowserOpenURL(url);
  else window.open(url, "_blank", "noopener,noreferrer");
}

export async function copyText(text: string): Promise<boolean> {
  try {
    if (hasRuntime("ClipboardSetText")) return await runtime.ClipboardSetText(text);
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}
