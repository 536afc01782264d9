import { useCallback, useEffect, useRef, useState } from "react";
import { api, toAppError, useEvent } from "../api";
import type { AppError, AppState } from "../api";

export type BitNet = ReturnType<typeof useBitNet>;

/** The model actions; `actionErrorFrom` names the one that failed. */
export type ModelAction =
  | "startDownload"
  | "pauseDownload"
  | "cancelDownload"
  | "chooseModelFile"
  | "importModel"
  | "loadModel"
  | "unloadModel";

/** Import errors stay on screen until dismissed (they carry the reason a file is not usable). */
export const isImportAction = (a: ModelAction | null) => a === "chooseModelFile" || a === "importModel";

/** Model state (GetState + `state` events) and the model-manager actions. */
export function useBitNet() {
  const [state, setState] = useState<AppState | null>(null);
  const [actionError, setActionError] = useState<AppError | null>(null);
  const [actionErrorFrom, setActionErrorFrom] = useState<ModelAction | null>(null);
  const gotEvent = useRef(false);
  // The newest snapshot applied (AppState.seq): events can arrive out of order (Wails' dev server).
  const lastSeq = useRef(-1);
  const newer = (s: AppState) => {
    if (typeof s.seq !== "number") return true;
    if (s.seq <= lastSeq.current) return false;
    lastSeq.current = s.seq;
    return true;
  };

  useEffect(() => {
    let alive = true;
    api
      .getState()
      .then((s) => {
        // A `state` event that came first is newer than this answer (without seq, assume so).
        if (alive && (typeof s.seq === "number" || !gotEvent.current) && newer(s)) setState(s);
      })
      .catch((e) => alive && setActionError(toAppError(e)));
    return () => {
      alive = false;
    };
  }, []);

  useEvent("state", (s) => {
    gotEvent.current = true;
    if (newer(s)) setState(s);
  });

  const run = useCallback(
    <A extends unknown[], R>(name: ModelAction, fn: (...args: A) => Promise<R>) =>
      async (...args: A): Promise<R | undefined> => {
        setActionError(null);
        setActionErrorFrom(null);
        try {
          return await fn(...args);
        } catch (e) {
          setActionError(toAppError(e));
          setActionErrorFrom(name);
          return undefined;
        }
      },
    [],
  );

  const [actions] = useState(() => ({
    startDownload: run("startDownload", api.startDownload),
    pauseDownload: run("pauseDownload", api.pauseDownload),
    cancelDownload: run("cancelDownload", api.cancelDownload),
    chooseModelFile: run("chooseModelFile", api.chooseModelFile),
    importModel: run("importModel", api.importModel),
    loadModel: run("loadModel", api.loadModel),
    unloadModel: run("unloadModel", api.unloadModel),
  }));

  const clearError = useCallback(() => {
    setActionError(null);
    setActionErrorFrom(null);
  }, []);
  const reportError = useCallback((e: AppError) => setActionError(e), []);

  return { state, actionError, actionErrorFrom, clearError, reportError, ...actions };
}

export type ViewStatus = AppState["status"] | "not_loaded" | "download_paused";

/** The status shown to people: "not_installed" with a model file present means "not loaded". */
export function viewStatus(state: AppState | null): ViewStatus | null {
  if (!state) return null;
  if (state.status === "not_installed" && state.modelPresent) return "not_loaded";
  if (state.status === "not_installed" && state.download?.state === "paused") return "download_paused";
  return state.status;
}

/**
 * Whether the main area shows the onboarding / model manager instead of the chat: no model file
 * yet, or a download of one running. Importing or converting a model while one is present keeps
 * the chat (with a progress banner).
 */
export function needsOnboarding(state: AppState | null): boolean {
  if (!state) return false;
  if (!state.modelPresent) return true;
  return state.status === "downloading" || state.status === "verifying";
}
