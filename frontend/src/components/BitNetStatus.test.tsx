import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { describe, expect, it, vi } from "vitest";
import { BitNetStatus } from "./BitNetStatus";
import { defaultState, stats } from "../testing/fakeBackend";
import type { AppState, ModelStatus } from "../api/types";

const labels: [ModelStatus, boolean, string][] = [
  ["not_installed", false, "Not installed"],
  ["not_installed", true, "Not loaded"],
  ["downloading", false, "Downloading"],
  ["verifying", false, "Verifying"],
  ["converting", true, "Converting"],
  ["loading", true, "Loading"],
  ["ready", true, "Ready"],
  ["generating", true, "Generating"],
  ["error", true, "Error"],
];

function renderStatus(state: Partial<AppState>, defaultOpen = true) {
  const handlers = { onLoad: vi.fn(), onUnload: vi.fn(), onImport: vi.fn() };
  render(<BitNetStatus state={{ ...defaultState(), ...state }} defaultOpen={defaultOpen} {...handlers} />);
  return handlers;
}

describe("BitNetStatus", () => {
  it.each(labels)("renders status %s (model present: %s) as %s", (status, modelPresent, label) => {
    renderStatus({ status, modelPresent });
    expect(screen.getByTestId("status-text")).toHaveTextContent(label);
    expect(screen.getByTestId("status-panel")).toHaveAttribute(
      "data-status",
      status === "not_installed" && modelPresent ? "not_loaded" : status,
    );
  });

  it("shows memory, threads, context and the last answer's speed", () => {
    const path = "/home/user/.local/share/bitnet-desktop/models/ggml-model-i2_s.gguf";
    renderStatus({
      model: { ...defaultState().model!, name: "BitNet b1.58 2B4T", path, runPath: path, kernel: "avx512-vnni" },
      memoryBytes: 1_412_000_000,
      threads: 4,
      contextUsed: 1234,
      contextSize: 4096,
      lastStats: stats({ decodeTps: 27.4, ttftMs: 1250 }),
    });
    expect(screen.getByTestId("status-memory")).toHaveTextContent("1.41 GB");
    expect(screen.getByTestId("status-threads")).toHaveTextContent("4");
    expect(screen.getByTestId("status-context")).toHaveTextContent("1,234 / 4,096");
    expect(screen.getByTestId("status-speed")).toHaveTextContent("27.4 tok/s");
    expect(screen.getByTestId("status-ttft")).toHaveTextContent("1.3 sec");
    expect(screen.getByText("ggml-model-i2_s.gguf")).toBeInTheDocument();
    expect(screen.getByTestId("status-kernel")).toHaveTextContent("AVX-512 VNNI");
  });

  it("unloads a ready model and loads an unloaded one", async () => {
    const user = userEvent.setup();
    const a = renderStatus({ status: "ready" });
    await user.click(screen.getByTestId("unload-model"));
    expect(a.onUnload).toHaveBeenCalledOnce();
  });

  it("offers Load when the model is present but not loaded", async () => {
    const user = userEvent.setup();
    const a = renderStatus({ status: "not_installed", modelPresent: true });
    expect(screen.queryByTestId("unload-model")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("status-load"));
    expect(a.onLoad).toHaveBeenCalledOnce();
  });

  it("is compact until opened", async () => {
    const user = userEvent.setup();
    renderStatus({ status: "ready" }, false);
    expect(screen.queryByTestId("status-details")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("status-toggle"));
    expect(screen.getByTestId("status-details")).toBeInTheDocument();
  });
});
