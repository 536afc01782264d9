import { screen, waitFor, within } from "@testing-library/react";
import { act } from "react";
import { describe, expect, it } from "vitest";
import { setup } from "../test/helpers";

const noModel = { state: { modelPresent: false, status: "not_installed" as const, model: undefined, memoryBytes: 0 } };

describe("Onboarding", () => {
  it("offers the download with the model size and starts it", async () => {
    const { backend, user } = setup(noModel);
    const button = await screen.findByTestId("download-button");
    expect(button).toHaveTextContent("Download BitNet b1.58 2B4T (1.19 GB)");
    expect(screen.getByTestId("import-button")).toHaveTextContent("Import a GGUF file…");
    await user.click(button);
    expect(backend.callsOf("StartDownload")).toHaveLength(1);
    expect(await screen.findByTestId("download-progress")).toBeInTheDocument();
  });

  it("shows bytes, speed and ETA, and pauses, resumes and cancels", async () => {
    const { backend, user } = setup(noModel);
    await screen.findByTestId("download-button");
    act(() =>
      backend.setState({
        status: "downloading",
        download: {
          state: "running",
          bytesDone: 400_000_000,
          bytesTotal: 1_187_801_280,
          bytesPerSecond: 12_500_000,
          etaSeconds: 63,
          attempt: 1,
        },
      }),
    );
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("400 MB of 1.19 GB");
    expect(screen.getByTestId("download-speed")).toHaveTextContent("12.5 MB/s");
    expect(screen.getByTestId("download-eta")).toHaveTextContent("1 min 3 sec left");
    expect(within(screen.getByTestId("download-progress")).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "33.7");
    expect(screen.getByTestId("status-text")).toHaveTextContent("Downloading");

    await user.click(screen.getByTestId("download-pause"));
    expect(backend.callsOf("PauseDownload")).toHaveLength(1);
    expect(screen.getByTestId("download-progress")).toHaveAttribute("data-state", "paused");
    await user.click(screen.getByTestId("download-resume"));
    expect(backend.callsOf("StartDownload")).toHaveLength(1);
    await user.click(screen.getByTestId("download-cancel"));
    expect(backend.callsOf("CancelDownload")).toHaveLength(1);
    expect(await screen.findByTestId("download-button")).toBeInTheDocument();
  });

  it("shows a failed download with its translated reason and retries", async () => {
    const { backend, user } = setup(noModel);
    await screen.findByTestId("download-button");
    act(() =>
      backend.setState({
        status: "error",
        download: {
          state: "failed",
          bytesDone: 10,
          bytesTotal: 100,
          bytesPerSecond: 0,
          etaSeconds: 0,
          attempt: 3,
          error: { code: "checksum_mismatch", message: "sha256 4221… != 1234…" },
        },
      }),
    );
    const err = screen.getByTestId("download-error");
    expect(err).toHaveTextContent("The downloaded file is damaged (checksum mismatch)");
    expect(err).toHaveTextContent("sha256 4221… != 1234…");
    await user.click(screen.getByTestId("download-retry"));
    expect(backend.callsOf("StartDownload")).toHaveLength(1);
  });

  it("shows an error from a failed call, with the Go message as fallback for unknown codes", async () => {
    const { backend, user } = setup(noModel);
    backend.fail("StartDownload", "disk_full", "no space left on device");
    await user.click(await screen.findByTestId("download-button"));
    expect(await screen.findByTestId("onboarding-error")).toHaveTextContent("There isn’t enough free disk space.");

    backend.fail("ChooseModelFile", "weird_new_code", "something odd happened");
    await user.click(screen.getByTestId("import-button"));
    await waitFor(() => expect(screen.getByTestId("onboarding-error")).toHaveTextContent("something odd happened"));
  });

  it("imports a chosen file and a .gguf dropped on the window", async () => {
    const { backend, user } = setup(noModel);
    await user.click(await screen.findByTestId("import-button"));
    expect(backend.callsOf("ChooseModelFile")).toHaveLength(1);

    expect(backend.fileDrop).toBeTypeOf("function");
    act(() => backend.fileDrop!(10, 10, ["/home/me/notes.txt"]));
    expect(screen.getByTestId("onboarding-error")).toHaveTextContent("Only .gguf model files can be imported.");
    act(() => backend.fileDrop!(10, 10, ["/home/me/readme.md", "/home/me/model.GGUF"]));
    await waitFor(() => expect(backend.callsOf("ImportModel")).toEqual([["/home/me/model.GGUF"]]));
    expect(await screen.findByTestId("load-progress")).toHaveTextContent("Preparing the model…");
  });

  it("moves on to the chat once the model is ready", async () => {
    const { backend } = setup(noModel);
    await screen.findByTestId("onboarding");
    act(() => backend.setState({ modelPresent: true, status: "loading", loadFraction: 0.5, loadStage: "loading" }));
    expect(screen.getByTestId("load-progress")).toHaveTextContent("50%");
    expect(screen.getByTestId("load-progress")).toHaveTextContent("Loading the weights");
    act(() => backend.setState({ status: "ready", loadFraction: 1 }));
    expect(await screen.findByTestId("chat")).toBeInTheDocument();
    expect(screen.queryByTestId("onboarding")).not.toBeInTheDocument();
  });
});
