import { act, renderHook, waitFor } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { FakeBackend, defaultState } from "../testing/fakeBackend";
import { needsOnboarding, useBitNet, viewStatus } from "./useBitNet";

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

describe("needsOnboarding", () => {
  it("shows the set-up screen without a model file or while one downloads, not while importing another", () => {
    const s = defaultState();
    expect(needsOnboarding({ ...s, modelPresent: false, status: "not_installed" })).toBe(true);
    expect(needsOnboarding({ ...s, modelPresent: false, status: "converting" })).toBe(true);
    expect(needsOnboarding({ ...s, modelPresent: true, status: "downloading" })).toBe(true);
    expect(needsOnboarding({ ...s, modelPresent: true, status: "converting" })).toBe(false);
    expect(needsOnboarding({ ...s, modelPresent: true, status: "loading" })).toBe(false);
    expect(needsOnboarding({ ...s, modelPresent: true, status: "error" })).toBe(false);
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
