import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeBackend, defaultState } from "../testing/fakeBackend";
import { useBitNet, viewStatus } from "./useBitNet";

describe("useBitNet", () => {
  it("drops a state older than one already applied (seq), as events can arrive out of order", async () => {
    const backend = new FakeBackend({ state: { ...defaultState(), status: "loading", seq: 1 } }).install();
    const { result } = renderHook(() => useBitNet());
    await waitFor(() => expect(result.current.state?.status).toBe("loading"));

    act(() => backend.emit("state", { ...defaultState(), status: "ready", seq: 10 }));
    act(() => backend.emit("state", { ...defaultState(), status: "loading", loadStage: "ready", seq: 9 }));
    expect(result.current.state?.status).toBe("ready");

    act(() => backend.emit("state", { ...defaultState(), status: "generating", seq: 11 }));
    expect(result.current.state?.status).toBe("generating");
  });

  it("applies every state without seq in arrival order", async () => {
    const backend = new FakeBackend({ state: { ...defaultState(), status: "not_installed" } }).install();
    const { result } = renderHook(() => useBitNet());
    await waitFor(() => expect(result.current.state?.status).toBe("not_installed"));
    act(() => backend.emit("state", { ...defaultState(), status: "ready" }));
    act(() => backend.emit("state", { ...defaultState(), status: "loading" }));
    expect(result.current.state?.status).toBe("loading");
  });
});

describe("viewStatus", () => {
  it("shows a paused download as paused, not as not installed", () => {
    const base = { ...defaultState(), status: "not_installed" as const, modelPresent: false };
    expect(viewStatus(base)).toBe("not_installed");
    expect(viewStatus({ ...base, download: { ...base.download!, state: "paused" } })).toBe("download_paused");
    expect(viewStatus({ ...base, modelPresent: true })).toBe("not_loaded");
  });
});
