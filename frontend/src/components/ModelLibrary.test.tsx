// The model library: the dialog (list, badges, download, use, delete, import, page links), the
// answers labelled with their model, the conversation's model, base models. Go is the fake backend.
import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import {
  BITNET_2B4T,
  conversation,
  defaultState,
  fakeModelInfo,
  stats,
  type FakeModelFile,
  type FakeOptions,
} from "../testing/fakeBackend";
import { setup } from "../testing/helpers";

const FALCON1 = "falcon3-1b-instruct-1.58bit";
const FALCON1_NAME = "Falcon3 1B Instruct 1.58-bit";
const FALCON3 = "falcon3-3b-instruct-1.58bit";
const FALCON7 = "falcon3-7b-instruct-1.58bit";
const LARGE = "bitnet-b1.58-large";
const LLAMA8 = "llama3-8b-1.58-100b-tokens";
const BITNET_NAME = "BitNet b1.58 2B4T";

/** The default loaded 2B4T file (Go's defaults) plus other installed models. */
const withLibrary = (...more: (string | FakeModelFile)[]): FakeOptions["library"] => ({
  installed: [{ id: BITNET_2B4T, path: defaultState().model!.path }, ...more],
});

const row = (id: string) => screen.getByTestId(`library-model-${id}`);
const items = () => screen.getAllByTestId("conversation-item");

async function openLibrary(user: ReturnType<typeof setup>["user"]) {
  await user.click(await screen.findByTestId("library-open"));
  const dialog = await screen.findByTestId("library-dialog");
  await within(dialog).findByTestId(`library-model-${LLAMA8}`);
  return dialog;
}

describe("the library dialog", () => {
  it("opens with Ctrl+L and lists installed and downloadable models with their facts and badges", async () => {
    const { user } = setup({ library: withLibrary(FALCON1, LARGE) });
    await screen.findByTestId("topbar-model");
    await user.keyboard("{Control>}l{/Control}");
    const dialog = await screen.findByTestId("library-dialog");
    await within(dialog).findByTestId(`library-model-${LLAMA8}`);

    const installed = screen.getByTestId("library-installed");
    const available = screen.getByTestId("library-available");
    expect(within(installed).getAllByRole("listitem").map((li) => li.dataset.testid)).toEqual([
      `library-model-${BITNET_2B4T}`,
      `library-model-${FALCON1}`,
      `library-model-${LARGE}`,
    ]);
    expect(within(available).getByTestId(`library-model-${FALCON3}`)).toBeInTheDocument();

    // 2B4T: loaded, verified, its facts, size on disk and memory
    const bitnet = row(BITNET_2B4T);
    expect(bitnet).toHaveAttribute("data-loaded", "true");
    expect(within(bitnet).getByTestId(`model-state-${BITNET_2B4T}`)).toHaveTextContent("In use");
    expect(within(bitnet).getByTestId(`model-verified-${BITNET_2B4T}`)).toHaveTextContent("Verified");
    expect(within(bitnet).getByTestId(`model-chat-${BITNET_2B4T}`)).toHaveTextContent("Chat");
    expect(bitnet).toHaveTextContent("Microsoft · 2.4 B parameters · BitNet b1.58 · 4,096-token context · License: MIT");
    expect(within(bitnet).getByTestId(`model-size-${BITNET_2B4T}`)).toHaveTextContent("1.19 GB on disk · needs about 1.82 GB of RAM");
    expect(within(bitnet).queryByTestId(`model-use-${BITNET_2B4T}`)).not.toBeInTheDocument();

    // an installed chat model: Use; a base model says it completes text
    expect(within(row(FALCON1)).getByTestId(`model-use-${FALCON1}`)).toHaveTextContent("Use");
    expect(within(row(LARGE)).getByTestId(`model-base-${LARGE}`)).toHaveTextContent("Completes text; not a chat model");
    expect(row(LARGE)).toHaveTextContent("729 M parameters");

    // not installed: the approximate download size and Download
    const falcon3 = row(FALCON3);
    expect(within(falcon3).getByTestId(`model-size-${FALCON3}`)).toHaveTextContent("about 2.22 GB download");
    expect(within(falcon3).getByTestId(`model-download-${FALCON3}`)).toHaveTextContent("Download");
    expect(within(falcon3).getByTestId(`model-verified-${FALCON3}`)).toBeInTheDocument();
    expect(within(row("falcon-e-1b-instruct")).queryByTestId("model-verified-falcon-e-1b-instruct")).not.toBeInTheDocument();
  });

  it("offers the page and Import for a model without a download", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    const llama = row(LLAMA8);
    expect(within(llama).getByTestId(`model-no-download-${LLAMA8}`)).toHaveTextContent(
      "Get the file from its page, then import it.",
    );
    expect(within(llama).queryByTestId(`model-download-${LLAMA8}`)).not.toBeInTheDocument();
    expect(within(llama).getByTestId(`model-base-${LLAMA8}`)).toBeInTheDocument();
    await user.click(within(llama).getByTestId(`model-page-${LLAMA8}`));
    expect(backend.openedUrls).toEqual(["https://huggingface.co/HF1BitLLM/Llama3-8B-1.58-100B-tokens"]);
    backend.chooseResult = "/home/user/Downloads/llama3-8b-1.58.gguf";
    await user.click(within(llama).getByTestId(`model-import-${LLAMA8}`));
    expect(backend.callsOf("ChooseModelFile")).toHaveLength(1);
  });

  it("downloads with progress, pause and resume, blocks a second download, shows a failure's reason and installs", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    await user.click(screen.getByTestId(`model-download-${FALCON3}`));
    expect(backend.callsOf("DownloadModel")).toEqual([[FALCON3]]);
    const progress = await screen.findByTestId(`model-progress-${FALCON3}`);
    expect(progress).toHaveAttribute("data-state", "running");

    act(() => backend.progressDownload(1_110_000_000, { bytesPerSecond: 12_500_000, etaSeconds: 89 }));
    expect(progress).toHaveTextContent("Downloading 50%");
    expect(screen.getByTestId(`model-progress-bytes-${FALCON3}`)).toHaveTextContent("1.11 GB of 2.22 GB · 12.5 MB/s · 1 min 29 sec left");
    expect(within(progress).getByRole("progressbar")).toHaveAttribute("aria-valuenow", "50");
    // the chat keeps its model while another one downloads
    expect(screen.getByTestId("status-text")).toHaveTextContent("Ready");

    // one download at a time: the others say why they wait
    const other = screen.getByTestId(`model-download-${FALCON7}`);
    expect(other).toHaveAttribute("aria-disabled", "true");
    expect(other).toHaveAttribute("title", "Falcon3 3B Instruct 1.58-bit is downloading. Pause or cancel that download first.");
    await user.click(other);
    expect(backend.callsOf("DownloadModel")).toHaveLength(1);

    await user.click(screen.getByTestId(`model-pause-${FALCON3}`));
    expect(backend.callsOf("PauseDownload")).toHaveLength(1);
    expect(screen.getByTestId(`model-progress-${FALCON3}`)).toHaveAttribute("data-state", "paused");
    expect(screen.getByTestId(`model-download-${FALCON7}`)).not.toHaveAttribute("aria-disabled");
    const resume = screen.getByTestId(`model-download-${FALCON3}`);
    expect(resume).toHaveTextContent("Resume");
    await user.click(resume);
    expect(backend.callsOf("DownloadModel")).toEqual([[FALCON3], [FALCON3]]);
    expect(backend.state.download?.bytesDone).toBe(1_110_000_000);

    act(() => backend.failDownload({ code: "http_error", params: { status: 503 }, message: "download failed after 3 attempts: server answered HTTP 503" }));
    const error = await screen.findByTestId(`model-download-error-${FALCON3}`);
    expect(error).toHaveTextContent("The download server answered with HTTP 503.");
    expect(error).toHaveTextContent("server answered HTTP 503");
    expect(screen.getByTestId(`model-progress-${FALCON3}`)).toHaveTextContent("The download didn’t finish");
    expect(screen.getByTestId(`model-download-${FALCON3}`)).toHaveTextContent("Download again");

    await user.click(screen.getByTestId(`model-download-${FALCON3}`));
    act(() => backend.finishDownload());
    // installed; 2B4T stays loaded (Go loads a finished download only when no model is loaded)
    await waitFor(() => expect(row(FALCON3)).toHaveAttribute("data-installed", "true"));
    expect(within(screen.getByTestId("library-installed")).getByTestId(`model-use-${FALCON3}`)).toHaveTextContent("Use");
    expect(row(BITNET_2B4T)).toHaveAttribute("data-loaded", "true");
  });

  it("a download of unknown size says it waits to retry (not Connecting…) between attempts", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    await user.click(screen.getByTestId(`model-download-${FALCON3}`));
    const progress = await screen.findByTestId(`model-progress-${FALCON3}`);
    act(() => backend.progressDownload(0, { bytesTotal: 0 }));
    expect(progress).toHaveTextContent("Connecting…");
    expect(within(progress).getByRole("progressbar")).toHaveClass("progress--indeterminate");
    const error = { code: "connection_refused", message: "connect: connection refused" };
    act(() => backend.progressDownload(0, { bytesTotal: 0, error, retryAt: new Date(Date.now() + 30_000).toISOString() }));
    expect(progress).toHaveTextContent("Waiting to retry");
    expect(progress).not.toHaveTextContent("Connecting…");
    expect(within(progress).getByRole("progressbar")).not.toHaveClass("progress--indeterminate");
    expect(screen.getByTestId(`model-retry-in-${FALCON3}`)).toHaveTextContent(/^Retrying in (29|30) sec \(attempt 2\)$/);
    expect(screen.getByTestId(`model-download-error-${FALCON3}`)).toHaveTextContent("The download server refused the connection.");
    act(() => backend.progressDownload(0, { bytesTotal: 0, error, attempt: 2, retryAt: undefined }));
    expect(progress).toHaveTextContent("Connecting…");
    expect(screen.queryByTestId(`model-retry-in-${FALCON3}`)).not.toBeInTheDocument();
  });

  it("shows Go's refusal of a download (another model's download runs)", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    backend.fail("DownloadModel", "busy", "a download of another model is running", { modelId: FALCON7 });
    await user.click(screen.getByTestId(`model-download-${FALCON3}`));
    expect(await screen.findByTestId(`model-error-${FALCON3}`)).toHaveTextContent(
      "Another model is being downloaded. Pause or cancel that download first.",
    );
  });

  it("Use switches the loaded model: new answers carry the new model, old answers keep theirs", async () => {
    const { backend, user } = setup({
      library: withLibrary(FALCON1),
      conversations: [
        conversation("c1", "Lisbon", [
          { content: "What to see in Lisbon?" },
          { content: "Alfama.", stats: stats(), modelId: BITNET_2B4T, model: BITNET_NAME },
        ]),
      ],
      autoReply: { text: () => "Belém.", chunk: 50, intervalMs: 1, ttftMs: 1 },
    });
    await waitFor(() => expect(items()).toHaveLength(1));
    await user.click(within(items()[0]!).getByText("Lisbon"));
    await screen.findByText("Alfama.");
    expect(screen.getByTestId("message-model")).toHaveTextContent(BITNET_NAME);
    expect(screen.getByTestId("topbar-model")).toHaveTextContent(BITNET_NAME);

    await user.click(screen.getByTestId("topbar-model"));
    await screen.findByTestId(`library-model-${LLAMA8}`);
    await user.click(screen.getByTestId(`model-use-${FALCON1}`));
    expect(backend.callsOf("SelectModel")).toEqual([[FALCON1]]);
    await waitFor(() => expect(row(FALCON1)).toHaveAttribute("data-loaded", "true"));
    expect(within(row(FALCON1)).getByTestId(`model-state-${FALCON1}`)).toHaveTextContent("In use");
    expect(row(BITNET_2B4T)).not.toHaveAttribute("data-loaded");
    expect(within(row(BITNET_2B4T)).getByTestId(`model-use-${BITNET_2B4T}`)).toHaveTextContent("Use");
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("library-dialog")).not.toBeInTheDocument());
    expect(screen.getByTestId("topbar-model")).toHaveTextContent(FALCON1_NAME);
    expect(screen.getByTestId("status-model")).toHaveTextContent(FALCON1_NAME);

    await user.type(screen.getByTestId("composer"), "And then?{Enter}");
    await screen.findByText("Belém.");
    await waitFor(() => expect(screen.getAllByTestId("message-model")).toHaveLength(2));
    const labels = screen.getAllByTestId("message-model");
    expect(labels[0]).toHaveTextContent(BITNET_NAME);
    expect(labels[1]).toHaveTextContent(FALCON1_NAME);
    expect(labels[1]).toHaveAttribute("data-model-id", FALCON1);
    // Go stored the same label
    expect(backend.conversations.get("c1")!.messages.at(-1)).toMatchObject({ modelId: FALCON1, model: FALCON1_NAME });
    // the conversation's model is now the loaded one: no banner
    expect(screen.queryByTestId("conversation-model-banner")).not.toBeInTheDocument();
  });

  it("Use is off while an answer is generated, with the reason; so is Delete of the loaded model", async () => {
    const { backend, user } = setup({ library: withLibrary(FALCON1), state: { status: "generating", generatingConversationId: "c9" } });
    await openLibrary(user);
    const use = screen.getByTestId(`model-use-${FALCON1}`);
    expect(use).toHaveAttribute("aria-disabled", "true");
    expect(use).toHaveAttribute("title", "Wait for the answer to finish, or stop it.");
    await user.click(use);
    const del = screen.getByTestId(`model-delete-${BITNET_2B4T}`);
    expect(del).toHaveAttribute("aria-disabled", "true");
    await user.click(del);
    expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("SelectModel")).toHaveLength(0);
    // a model that is not loaded can go
    expect(screen.getByTestId(`model-delete-${FALCON1}`)).not.toHaveAttribute("aria-disabled");
  });

  it("Delete asks for confirmation naming the model and the space it frees, then removes it", async () => {
    const { backend, user } = setup({ library: withLibrary(FALCON1) });
    await openLibrary(user);
    await user.click(screen.getByTestId(`model-delete-${FALCON1}`));
    let confirm = await screen.findByTestId("confirm-dialog");
    expect(confirm).toHaveTextContent("Delete this model?");
    expect(confirm).toHaveTextContent(`“${FALCON1_NAME}” will be deleted from this computer, freeing 1.36 GB.`);
    // Esc closes the confirmation only
    await user.keyboard("{Escape}");
    await waitFor(() => expect(screen.queryByTestId("confirm-dialog")).not.toBeInTheDocument());
    expect(screen.getByTestId("library-dialog")).toBeInTheDocument();
    expect(backend.callsOf("DeleteModel")).toHaveLength(0);

    await user.click(screen.getByTestId(`model-delete-${FALCON1}`));
    confirm = await screen.findByTestId("confirm-dialog");
    await user.click(within(confirm).getByTestId("confirm-button"));
    expect(backend.callsOf("DeleteModel")).toEqual([[FALCON1]]);
    await waitFor(() => expect(row(FALCON1)).not.toHaveAttribute("data-installed"));
    expect(within(screen.getByTestId("library-available")).getByTestId(`model-download-${FALCON1}`)).toBeInTheDocument();
  });

  it("deleting the loaded model says it is unloaded first; Go's refusal shows on its row", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    await user.click(screen.getByTestId(`model-delete-${BITNET_2B4T}`));
    expect(await screen.findByTestId("confirm-dialog")).toHaveTextContent("It’s in use: it will be unloaded first.");
    backend.fail("DeleteModel", "invalid_request", "/models/x.gguf is outside the models folder (BITNET_MODEL_PATH): delete it yourself");
    await user.click(screen.getByTestId("confirm-button"));
    const error = await screen.findByTestId(`model-error-${BITNET_2B4T}`);
    expect(error).toHaveTextContent("outside the models folder");
    expect(row(BITNET_2B4T)).toHaveAttribute("data-installed", "true");
  });

  it("a model that does not fit in free memory says how much it needs and how much is free", async () => {
    const { backend, user } = setup({ library: { ...withLibrary(FALCON7), memAvailable: 2_000_000_000 } });
    await openLibrary(user);
    await user.click(screen.getByTestId(`model-use-${FALCON7}`));
    const error = await screen.findByTestId(`model-load-error-${FALCON7}`);
    expect(error).toHaveAttribute("data-code", "insufficient_memory");
    expect(error).toHaveTextContent(
      "This model needs about 4.53 GB of memory and 2 GB are free. Close other programs or choose a smaller model.",
    );
    expect(within(row(FALCON7)).getByTestId(`model-state-${FALCON7}`)).toHaveTextContent("Didn’t load");
    expect(backend.state.status).toBe("error");
    // the chat says it too, and offers the library
    await user.keyboard("{Escape}");
    expect(await screen.findByTestId("model-error")).toHaveTextContent("needs about 4.53 GB of memory and 2 GB are free");
    await user.click(screen.getByTestId("not-loaded-open-library"));
    expect(await screen.findByTestId("library-dialog")).toBeInTheDocument();
  });

  it("imports a file from the dialog and shows why an import failed", async () => {
    const { backend, user } = setup({ library: withLibrary() });
    await openLibrary(user);
    backend.fail("ChooseModelFile", "invalid_model", "/tmp/x.gguf: unsupported weight type q4_0");
    await user.click(screen.getByTestId("library-import"));
    const error = await screen.findByTestId("library-import-error");
    expect(error).toHaveTextContent("This file isn’t a model BitNet Desktop can load.");
    expect(error).toHaveTextContent("unsupported weight type q4_0");
    backend.chooseResult = "/home/user/Downloads/TriLM_3.9B.gguf";
    await user.click(screen.getByTestId("library-import"));
    expect(screen.queryByTestId("library-import-error")).not.toBeInTheDocument();
    await waitFor(() => expect(row("trilm-3.9b")).toHaveAttribute("data-active", "true"));
    expect(row("trilm-3.9b")).toHaveTextContent("Imported file");
  });
});

describe("the conversation's model", () => {
  const used = (modelId: string, model: string) =>
    conversation("c1", "Old chat", [
      { content: "Hello" },
      { content: "Hi there.", stats: stats(), modelId, model },
    ]);

  it("a quiet banner names it and switches to it only when asked", async () => {
    const { backend, user } = setup({ library: withLibrary(FALCON1), conversations: [used(FALCON1, FALCON1_NAME)] });
    await waitFor(() => expect(items()).toHaveLength(1));
    await user.click(within(items()[0]!).getByText("Old chat"));
    const banner = await screen.findByTestId("conversation-model-banner");
    expect(banner).toHaveTextContent(`This conversation used ${FALCON1_NAME}.`);
    expect(backend.callsOf("SelectModel")).toHaveLength(0);
    expect(screen.getByTestId("topbar-model")).toHaveTextContent(BITNET_NAME);

    await user.click(within(banner).getByTestId("conversation-model-switch"));
    expect(backend.callsOf("SelectModel")).toEqual([[FALCON1]]);
    await waitFor(() => expect(screen.getByTestId("topbar-model")).toHaveTextContent(FALCON1_NAME));
    expect(screen.queryByTestId("conversation-model-banner")).not.toBeInTheDocument();
  });

  it("says when that model is not installed, offers the library, and can be dismissed", async () => {
    const { user } = setup({ library: withLibrary(), conversations: [used(FALCON7, "Falcon3 7B Instruct 1.58-bit")] });
    await waitFor(() => expect(items()).toHaveLength(1));
    await user.click(within(items()[0]!).getByText("Old chat"));
    const banner = await screen.findByTestId("conversation-model-banner");
    expect(banner).toHaveTextContent("This conversation used Falcon3 7B Instruct 1.58-bit, which isn’t installed.");
    expect(within(banner).queryByTestId("conversation-model-switch")).not.toBeInTheDocument();
    await user.click(within(banner).getByTestId("conversation-model-dismiss"));
    expect(screen.queryByTestId("conversation-model-banner")).not.toBeInTheDocument();
  });

  it("is not shown for answers of the loaded model or answers from before the library", async () => {
    const { user } = setup({
      library: withLibrary(FALCON1),
      conversations: [
        used(BITNET_2B4T, BITNET_NAME),
        conversation("c2", "Older chat", [{ content: "Hello" }, { content: "Hi." }], "2024-12-01T00:00:00Z"),
      ],
    });
    await waitFor(() => expect(items()).toHaveLength(2));
    await user.click(within(items()[0]!).getByText("Old chat"));
    await screen.findByText("Hi there.");
    await user.click(within(items()[1]!).getByText("Older chat"));
    await screen.findByText("Hi.");
    expect(screen.queryByTestId("message-model")).not.toBeInTheDocument();
    expect(screen.queryByTestId("conversation-model-banner")).not.toBeInTheDocument();
  });
});

describe("base models", () => {
  it("say they complete text, in the chat and in the composer", async () => {
    const { user } = setup({
      library: { installed: [LARGE] },
      state: { model: fakeModelInfo(LARGE), contextSize: 2048 },
    });
    const note = await screen.findByTestId("base-model-note");
    expect(note).toHaveTextContent(
      "BitNet b1.58 large (0.7B) is a base model: it completes text and isn’t a chat model. It continues what you write.",
    );
    expect(screen.getByTestId("composer")).toHaveAttribute(
      "placeholder",
      "Write the start of a text for BitNet b1.58 large (0.7B) to continue…",
    );
    expect(screen.getByTestId("topbar-model")).toHaveTextContent("BitNet b1.58 large (0.7B)");
    await openLibrary(user);
    expect(within(row(LARGE)).getByTestId(`model-state-${LARGE}`)).toHaveTextContent("In use");
  });

  it("a chat model shows no such note", async () => {
    setup({ library: withLibrary() });
    await screen.findByTestId("topbar-model");
    expect(screen.queryByTestId("base-model-note")).not.toBeInTheDocument();
    expect(screen.getByTestId("composer")).toHaveAttribute("placeholder", "Message BitNet…");
  });
});

describe("onboarding", () => {
  it("keeps the one-click download and links to the library", async () => {
    const { backend, user } = setup({ state: { modelPresent: false, status: "not_installed", model: undefined } });
    expect(await screen.findByTestId("download-button")).toHaveTextContent("Download BitNet b1.58 2B4T (1.19 GB)");
    await user.click(screen.getByTestId("onboarding-browse"));
    const dialog = await screen.findByTestId("library-dialog");
    expect(await within(dialog).findByTestId("library-none-installed")).toHaveTextContent("No models installed yet.");
    await user.click(within(dialog).getByTestId(`model-download-${FALCON1}`));
    await user.keyboard("{Escape}");
    // the set-up screen names the model being downloaded
    const progress = await screen.findByTestId("download-progress");
    expect(progress).toHaveTextContent(`Downloading ${FALCON1_NAME}`);
    act(() => backend.finishDownload());
    // no model was loaded: the downloaded one becomes active and loads
    await waitFor(() => expect(screen.getByTestId("topbar-model")).toHaveTextContent(FALCON1_NAME));
  });
});
