import { screen, waitFor, within } from "@testing-library/react";
import { act } from "react";
import { describe, expect, it } from "vitest";
import { setup } from "../testing/helpers";

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
          modelId: "bitnet-b1.58-2b4t",
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
          modelId: "bitnet-b1.58-2b4t",
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

describe("download failures and retries", () => {
  const running = {
    modelId: "bitnet-b1.58-2b4t",
    state: "running" as const,
    bytesDone: 0,
    bytesTotal: 0,
    bytesPerSecond: 0,
    etaSeconds: 0,
    attempt: 2,
  };

  it("shows the first failure's reason at once while Go retries, with a countdown", async () => {
    const { backend } = setup(noModel);
    await screen.findByTestId("download-button");
    const retryAt = new Date(Date.now() + 8_000).toISOString();
    act(() =>
      backend.setState({
        status: "downloading",
        download: {
          ...running,
          error: { code: "no_connection", message: "dial tcp: lookup huggingface.co: no such host" },
          retryAt,
        },
      }),
    );
    const err = screen.getByTestId("download-error");
    expect(err).toHaveTextContent("No internet connection: the download server couldn’t be reached.");
    expect(err).toHaveTextContent("lookup huggingface.co: no such host");
    expect(screen.getByTestId("download-retry-in")).toHaveTextContent(/Retrying in [78] sec \(attempt 3\)/);
    // Waiting for the next attempt, not connecting.
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Waiting to retry");
    expect(screen.getByTestId("onboarding")).not.toHaveTextContent("Connecting…");
    await waitFor(() => expect(screen.getByTestId("download-retry-in")).toHaveTextContent(/Retrying in [67] sec/), {
      timeout: 2500,
    });
    // Import stays available while downloading.
    expect(screen.getByTestId("import-button")).toBeEnabled();
  });

  it("says Connecting… only while an attempt connects, never while it waits to retry", async () => {
    const { backend } = setup(noModel);
    await screen.findByTestId("download-button");
    const card = () => screen.getByTestId("onboarding");
    const bar = () => within(screen.getByTestId("download-progress")).getByRole("progressbar");
    const download = (patch: object) =>
      act(() => backend.setState({ status: "downloading", download: { ...running, attempt: 1, ...patch } }));
    // The first attempt connects.
    download({});
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Connecting…");
    expect(screen.queryByTestId("download-retry-in")).not.toBeInTheDocument();
    expect(bar()).toHaveClass("progress--indeterminate"); // something is happening
    // Refused: Go says why and when it tries again (Go's own order: the reason, then retryAt).
    const refused = { code: "connection_refused", message: "dial tcp 127.0.0.1:9: connect: connection refused" };
    download({ error: refused, retryAt: new Date(Date.now() + 30_000).toISOString() });
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Waiting to retry");
    expect(screen.getByTestId("download-error")).toHaveTextContent("The download server refused the connection.");
    expect(screen.getByTestId("download-retry-in")).toHaveTextContent(/^Retrying in (29|30) sec \(attempt 2\)$/);
    expect(card()).not.toHaveTextContent("Connecting…");
    // Nothing moves while it waits: a still bar, not the busy animation.
    expect(bar()).not.toHaveClass("progress--indeterminate");
    expect(bar()).toHaveAttribute("aria-valuenow", "0");
    // The wait is over (Go has not cleared retryAt yet): retrying now, so connecting again.
    download({ error: refused, retryAt: new Date(Date.now() - 500).toISOString() });
    expect(screen.getByTestId("download-retry-in")).toHaveTextContent("Retrying now (attempt 2)…");
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Connecting…");
    // The second attempt connects (Go cleared retryAt; the last reason stays on screen).
    download({ error: refused, attempt: 2 });
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Connecting…");
    expect(screen.getByTestId("download-stats")).toHaveTextContent("Attempt 2");
    expect(screen.queryByTestId("download-retry-in")).not.toBeInTheDocument();
    // Refused again: waiting again.
    download({ error: refused, attempt: 2, retryAt: new Date(Date.now() + 60_000).toISOString() });
    expect(screen.getByTestId("download-bytes")).toHaveTextContent("Waiting to retry");
    expect(screen.getByTestId("download-retry-in")).toHaveTextContent(/^Retrying in 1 min( 0 sec)? \(attempt 3\)$|^Retrying in (59|60) sec \(attempt 3\)$/);
    expect(card()).not.toHaveTextContent("Connecting…");
  });

  it("in Spanish, waiting to retry is said in Spanish", async () => {
    const { backend } = setup({ ...noModel, settings: { language: "es" } });
    await screen.findByTestId("download-button");
    act(() =>
      backend.setState({
        status: "downloading",
        download: {
          ...running,
          error: { code: "connection_refused", message: "connection refused" },
          retryAt: new Date(Date.now() + 30_000).toISOString(),
        },
      }),
    );
    await waitFor(() => expect(screen.getByTestId("download-bytes")).toHaveTextContent("Esperando para reintentar"));
    expect(screen.getByTestId("onboarding")).not.toHaveTextContent("Conectando…");
  });

  it.each([
    ["connection_refused", undefined, "The download server refused the connection."],
    ["timeout", undefined, "The connection timed out."],
    ["http_error", { status: 503 }, "The download server answered with HTTP 503."],
    ["http_error", undefined, "The download server answered with an error."],
    ["tls_error", undefined, "A secure connection to the download server couldn’t be made."],
    ["disk_full", undefined, "There isn’t enough free disk space."],
    ["checksum_mismatch", undefined, "The downloaded file is damaged (checksum mismatch)."],
    ["download_failed", undefined, "The download failed."],
  ])("says %s in plain words", async (code, params, text) => {
    const { backend } = setup(noModel);
    await screen.findByTestId("download-button");
    act(() =>
      backend.setState({
        status: "downloading",
        download: { ...running, error: { code, params, message: `go: ${code}` } },
      }),
    );
    expect(screen.getByTestId("download-error")).toHaveTextContent(text);
    expect(screen.getByTestId("download-error")).toHaveTextContent(`go: ${code}`);
  });

  it("after a failed download offers Download again and Import a file", async () => {
    const { backend, user } = setup(noModel);
    await screen.findByTestId("download-button");
    act(() =>
      backend.setState({
        status: "not_installed",
        download: { ...running, state: "failed", error: { code: "no_connection", message: "no such host" } },
      }),
    );
    expect(screen.getByTestId("download-retry")).toHaveTextContent("Download again");
    expect(screen.getByTestId("import-button")).toBeEnabled();
    await user.click(screen.getByTestId("download-retry"));
    expect(backend.callsOf("StartDownload")).toHaveLength(1);
    await user.click(screen.getByTestId("import-button"));
    expect(backend.callsOf("ChooseModelFile")).toHaveLength(1);
  });

  it("keeps an import's reason on screen until dismissed", async () => {
    const { backend, user } = setup(noModel);
    const reason = "/home/me/x.gguf is not a usable model: truncated: tensor blk.0.attn_q needs 4194304 bytes";
    backend.fail("ChooseModelFile", "invalid_model", reason);
    await user.click(await screen.findByTestId("import-button"));
    const err = await screen.findByTestId("onboarding-error");
    expect(err).toHaveTextContent("This file isn’t a model BitNet Desktop can load.");
    expect(err).toHaveTextContent("truncated: tensor blk.0.attn_q needs 4194304 bytes");
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(screen.getByTestId("onboarding-error")).toBeInTheDocument();
    await user.click(within(err).getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByTestId("onboarding-error")).not.toBeInTheDocument();
  });
});
