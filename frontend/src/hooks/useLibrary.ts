import { useCallback, useEffect, useMemo, useRef, useState } from "react";
import { api, toAppError, useEvent } from "../api";
import type { AppError, AppState, LibraryModel } from "../api";

export type LibraryApi = ReturnType<typeof useLibrary>;

/** A library action running for a model (its buttons are off meanwhile). */
export type LibraryAction = "download" | "pause" | "cancel" | "select" | "delete";

/**
 * What of Go's state changes the library without a models:changed: the loaded model (an unload, a
 * failed load), and a finished download (Go also sends models:changed then). The progress of a
 * download or a load is read from the state itself.
 */
function libraryKey(s: AppState | null): string {
  if (!s) return "";
  const finished = s.download?.state === "done" ? s.download.modelId : "";
  return `${s.model?.id ?? ""}|${finished}`;
}

const without = <T,>(o: Readonly<Record<string, T>>, id: string): Record<string, T> => {
  if (!(id in o)) return o as Record<string, T>;
  const { [id]: _gone, ...rest } = o;
  return rest;
};

/**
 * The model library (ListModels), refreshed on `models:changed` and when Go's state says the
 * download or the loaded model changed, with its actions and their errors (by model id). The live
 * download progress and load progress are in AppState; this holds what ListModels says.
 */
export function useLibrary(state: AppState | null) {
  const [models, setModels] = useState<LibraryModel[] | null>(null);
  const [listError, setListError] = useState<AppError | null>(null);
  const [errors, setErrors] = useState<Readonly<Record<string, AppError>>>({});
  const [working, setWorking] = useState<Readonly<Record<string, LibraryAction>>>({});
  const [importError, setImportError] = useState<AppError | null>(null);
  const seq = useRef(0);

  const refresh = useCallback(async () => {
    const n = ++seq.current;
    try {
      const list = await api.listModels();
      if (n === seq.current) {
        setModels(list);
        setListError(null);
      }
    } catch (e) {
      if (n === seq.current) setListError(toAppError(e));
    }
  }, []);

  useEffect(() => {
    void refresh();
  }, [refresh]);

  useEvent("models:changed", () => void refresh());

  const key = libraryKey(state);
  const lastKey = useRef<string | null>(null);
  useEffect(() => {
    if (!key) return;
    const before = lastKey.current;
    lastKey.current = key;
    if (before !== null && before !== key) void refresh();
  }, [key, refresh]);

  const run = useCallback(async (id: string, action: LibraryAction, fn: () => Promise<unknown>): Promise<AppError | null> => {
    setErrors((o) => without(o, id));
    setWorking((w) => ({ ...w, [id]: action }));
    try {
      await fn();
      return null;
    } catch (e) {
      const err = toAppError(e);
      setErrors((o) => ({ ...o, [id]: err }));
      return err;
    } finally {
      setWorking((w) => without(w, id));
    }
  }, []);

  const actions = useMemo(
    () => ({
      /** Starts or resumes the download of a catalog model. */
      download: (id: string) => run(id, "download", () => api.downloadModel(id)),
      pause: (id: string) => run(id, "pause", () => api.pauseDownload()),
      cancel: (id: string) => run(id, "cancel", () => api.cancelDownload()),
      /** Makes an installed model the active one and loads it (the load's failure comes in AppState.error). */
      select: (id: string) => run(id, "select", () => api.selectModel(id)),
      remove: (id: string) =>
        run(id, "delete", async () => {
          await api.deleteModel(id);
          await refresh();
        }),
      /** The native file dialog; the imported model becomes the active one. */
      importFile: async () => {
        setImportError(null);
        try {
          await api.chooseModelFile();
        } catch (e) {
          setImportError(toAppError(e));
        }
      },
      clearError: (id: string) => setErrors((o) => without(o, id)),
      clearImportError: () => setImportError(null),
    }),
    [run, refresh],
  );

  const find = useCallback((id: string | undefined) => (id ? models?.find((m) => m.id === id) : undefined), [models]);
  /** the model the app uses (loaded or not) */
  const active = useMemo(() => models?.find((m) => m.active), [models]);

  return { models, listError, errors, working, importError, refresh, find, active, ...actions };
}
