import { act, render } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import type { ReactElement } from "react";
import { FakeBackend, type FakeOptions } from "./fakeBackend";
import { App } from "../components/App";
import type { EventMap, EventName } from "../api/types";

/** Installs a fake Go backend (window.go / window.runtime) and renders `ui` (default: the app). */
export function setup(opts: FakeOptions = {}, ui: ReactElement = <App />) {
  const backend = new FakeBackend(opts).install();
  const user = userEvent.setup();
  const result = render(ui);
  return { backend, user, ...result };
}

/** Emits a Go event inside act(). */
export function emit<K extends EventName>(backend: FakeBackend, name: K, payload: EventMap[K]) {
  act(() => backend.emit(name, payload));
}

/** Lets pending animation frames (the streaming flush) run. */
export async function nextFrames(n = 2) {
  for (let i = 0; i < n; i++) {
    await act(() => new Promise<void>((r) => requestAnimationFrame(() => r())));
  }
}
