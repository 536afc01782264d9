// The app as a whole: the header, the context meter, the chat view vs. the set-up screen, errors.
import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { conversation, stats } from "../testing/fakeBackend";
import { setup } from "../testing/helpers";

const items = () => screen.getAllByTestId("conversation-item");

const convos = [
  conversation(
    "c1",
    "Python palindromes",
    [{ content: "palindrome in python?" }, { content: "def f(): ...", stats: stats({ contextUsed: 1234, contextSize: 4096 }) }],
    "2025-01-03T00:00:00Z",
  ),
  conversation(
    "c2",
    "Trip to Lisbon",
    [{ content: "what to see in Lisbon" }, { content: "Alfama", stats: stats({ contextUsed: 2000, contextSize: 4096 }) }],
    "2025-01-02T00:00:00Z",
  ),
];

describe("header", () => {
  it("keeps the open conversation's title when the search hides it", async () => {
    const { user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(2));
    await user.click(within(items()[0]!).getByText("Python palindromes"));
    await screen.findByText("palindrome in python?");
    await user.type(screen.getByTestId("search"), "lisbon");
    await waitFor(() => expect(items()).toHaveLength(1));
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("Python palindromes");
    expect(screen.getByText("palindrome in python?")).toBeInTheDocument();
  });

  it("also for a chat opened while the search already hid it from the list", async () => {
    const { user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(2));
    await user.type(screen.getByTestId("search"), "alfama");
    await waitFor(() => expect(items()).toHaveLength(1));
    await user.click(within(items()[0]!).getByText("Trip to Lisbon"));
    await screen.findByText("what to see in Lisbon");
    await user.clear(screen.getByTestId("search"));
    await user.type(screen.getByTestId("search"), "python");
    await waitFor(() => expect(items()[0]).toHaveTextContent("Python palindromes"));
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("Trip to Lisbon");
  });
});

describe("context meter", () => {
  it("shows the open conversation's use, 0 for a new chat, and keeps it while an answer runs", async () => {
    const { user } = setup({
      conversations: convos,
      state: { contextUsed: 3999, contextSize: 4096 },
      autoReply: { text: () => "x".repeat(60), chunk: 6, intervalMs: 40, ttftMs: 40 },
    });
    await waitFor(() => expect(items()).toHaveLength(2));
    await user.click(screen.getByTestId("status-toggle"));
    expect(screen.getByTestId("status-context")).toHaveTextContent("0 / 4,096");
    await user.click(within(items()[0]!).getByText("Python palindromes"));
    await waitFor(() => expect(screen.getByTestId("status-context")).toHaveTextContent("1,234 / 4,096"));
    await user.click(within(items()[1]!).getByText("Trip to Lisbon"));
    await waitFor(() => expect(screen.getByTestId("status-context")).toHaveTextContent("2,000 / 4,096"));

    await user.type(screen.getByTestId("composer"), "And Porto?{Enter}");
    await screen.findByTestId("stop");
    expect(screen.getByTestId("status-context")).toHaveTextContent("2,000 / 4,096");
    await waitFor(() => expect(screen.queryByTestId("stop")).not.toBeInTheDocument(), { timeout: 3000 });
    // the fake's answer: 180 prompt tokens + 15 completion tokens
    expect(screen.getByTestId("status-context")).toHaveTextContent("195 / 4,096");

    await user.click(screen.getByTestId("new-chat"));
    expect(screen.getByTestId("status-context")).toHaveTextContent("0 / 4,096");
  });
});

describe("model changes", () => {
  it("importing a model while one is present keeps the chat, with the progress in a banner", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(2));
    await user.click(within(items()[0]!).getByText("Python palindromes"));
    await screen.findByText("palindrome in python?");
    act(() => backend.setState({ status: "converting", loadFraction: 0.4, loadStage: "importing" }));
    expect(screen.queryByTestId("onboarding")).not.toBeInTheDocument();
    expect(screen.getByTestId("chat")).toBeInTheDocument();
    expect(screen.getByTestId("loading-banner")).toHaveTextContent("Preparing the model… 40% · Copying the file");
    expect(screen.getByText("palindrome in python?")).toBeInTheDocument();
  });

  it("the first import stays on the set-up screen while the model file appears", async () => {
    const { backend } = setup({ state: { modelPresent: false, status: "not_installed", model: undefined } });
    await screen.findByTestId("onboarding");
    act(() => backend.setState({ status: "converting", loadFraction: 0.1 }));
    act(() => backend.setState({ modelPresent: true, status: "converting", loadFraction: 0.6 }));
    expect(screen.getByTestId("onboarding")).toBeInTheDocument();
    expect(screen.getByTestId("load-progress")).toHaveTextContent("60%");
  });

  it("an import error from the status panel stays on screen with its reason until dismissed", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(2));
    backend.fail("ChooseModelFile", "invalid_model", "/tmp/x.gguf is not a usable model: truncated: tensor blk.3 needs 9 bytes");
    await user.click(screen.getByTestId("status-toggle"));
    await user.click(screen.getByText("Import another model…"));
    const err = await screen.findByTestId("import-error");
    expect(err).toHaveTextContent("This file isn’t a model BitNet Desktop can load.");
    expect(err).toHaveTextContent("truncated: tensor blk.3 needs 9 bytes");
    expect(screen.queryByTestId("toast")).not.toBeInTheDocument();
    await user.click(within(err).getByRole("button", { name: "Dismiss" }));
    expect(screen.queryByTestId("import-error")).not.toBeInTheDocument();
  });

  it("other model errors are a toast with the translated text and Go's message", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(2));
    backend.fail("UnloadModel", "io_error", "munmap: invalid argument");
    await user.click(screen.getByTestId("status-toggle"));
    await user.click(screen.getByTestId("unload-model"));
    const toast = await screen.findByTestId("toast");
    expect(toast).toHaveTextContent("A file couldn’t be read or written.");
    expect(within(toast).getByTestId("toast-detail")).toHaveTextContent("munmap: invalid argument");
  });

  it("a bad model file offers Download again and Import a file instead of only Load model", async () => {
    const { backend, user } = setup({
      conversations: convos,
      state: {
        status: "error",
        modelPresent: true,
        error: { code: "invalid_model", message: "BITNET_MODEL_PATH=/x.gguf: not a GGUF file" },
      },
    });
    await screen.findByTestId("model-error");
    await user.click(screen.getByTestId("download-again"));
    expect(backend.callsOf("StartDownload")).toHaveLength(1);
    await waitFor(() => expect(screen.getByTestId("onboarding")).toBeInTheDocument());
  });
});
