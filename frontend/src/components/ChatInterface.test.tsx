import { act, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ChatInterface } from "./ChatInterface";
import { conversation, defaultState, stats } from "../testing/fakeBackend";
import type { AppState } from "../api/types";
import { emit, nextFrames, setup } from "../testing/helpers";

const convo = conversation("c1", "Greetings", [{ role: "user", content: "Hello there" }]);

function renderChat(state: Partial<AppState> = {}, conversationId: string | null = "c1") {
  const s = { ...defaultState(), ...state };
  const created: string[] = [];
  const r = setup(
    { conversations: [convo], state: s },
    <ChatInterface
      conversationId={conversationId}
      state={s}
      onConversationCreated={(id) => created.push(id)}
      onLoadModel={() => {}}
    />,
  );
  return { ...r, created };
}

const assistantMessages = () => screen.queryAllByTestId("message").filter((m) => m.dataset.role === "assistant");

describe("ChatInterface streaming", () => {
  it("applies deltas in seq order and replaces them with the final content", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");

    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    // seq 2 arrives before seq 1: it must wait for it.
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "One, " });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 2, text: "three." });
    await nextFrames();
    expect(assistantMessages()[0]).toHaveTextContent("One,");
    expect(assistantMessages()[0]).not.toHaveTextContent("three");

    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 1, text: "two, " });
    // a duplicate is ignored
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 1, text: "two, " });
    await nextFrames();
    expect(within(assistantMessages()[0]!).getByTestId("message-content")).toHaveTextContent("One, two, three.");
    expect(assistantMessages()[0]).toHaveAttribute("data-status", "streaming");
    expect(screen.getByTestId("stop")).toBeInTheDocument();

    emit(backend, "chat:done", {
      conversationId: "c1",
      messageId: "a1",
      content: "The **final** answer.",
      stats: stats({ completionTokens: 42, decodeTps: 25.3, ttftMs: 350 }),
      status: "done",
    });
    const msg = assistantMessages()[0]!;
    expect(within(msg).getByTestId("message-content")).toHaveTextContent("The final answer.");
    expect(within(msg).getByText("final").tagName).toBe("STRONG");
    expect(msg).toHaveAttribute("data-status", "done");
    expect(within(msg).getByTestId("message-metrics")).toHaveTextContent("42 tokens · 25.3 tok/s · TTFT 350 ms");
    expect(screen.queryByTestId("stop")).not.toBeInTheDocument();
    expect(screen.getByTestId("send")).toBeInTheDocument();
  });

  it("ignores a delta or chat:start that arrives after chat:done (out of order)", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "Final " });
    emit(backend, "chat:done", {
      conversationId: "c1",
      messageId: "a1",
      content: "Final answer.",
      stats: stats({ completionTokens: 2 }),
      status: "done",
    });
    // Wails' dev server sends each event from its own goroutine: these can come last.
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 1, text: "answer." });
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    await nextFrames();
    expect(assistantMessages()).toHaveLength(1);
    const msg = assistantMessages()[0]!;
    expect(within(msg).getByTestId("message-content")).toHaveTextContent("Final answer.");
    expect(msg).toHaveAttribute("data-status", "done");
    expect(screen.queryByTestId("stop")).not.toBeInTheDocument();
  });

  it("batches many deltas into few renders and ignores other conversations", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:start", { conversationId: "other", messageId: "x1", modelId: "", model: "" });
    act(() => {
      for (let i = 0; i < 200; i++) {
        backend.emit("chat:delta", { conversationId: "c1", messageId: "a1", seq: i, text: `${i} ` });
        backend.emit("chat:delta", { conversationId: "other", messageId: "x1", seq: i, text: "nope " });
      }
    });
    await nextFrames();
    const expected = Array.from({ length: 200 }, (_, i) => `${i}`).join(" ");
    expect(assistantMessages()).toHaveLength(1);
    expect(within(assistantMessages()[0]!).getByTestId("message-content")).toHaveTextContent(expected);
    expect(screen.queryByText(/nope/)).not.toBeInTheDocument();
  });

  it("Stop calls StopGeneration and keeps the partial text", async () => {
    const { backend, user } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "Partial ans" });
    await nextFrames();

    await user.click(screen.getByTestId("stop"));
    expect(backend.callsOf("StopGeneration")).toHaveLength(1);
    expect(assistantMessages()[0]).toHaveTextContent("Partial ans");

    emit(backend, "chat:done", {
      conversationId: "c1",
      messageId: "a1",
      content: "Partial ans",
      stats: stats({ finishReason: "cancelled", completionTokens: 3 }),
      status: "cancelled",
    });
    const msg = assistantMessages()[0]!;
    expect(msg).toHaveTextContent("Partial ans");
    expect(msg).toHaveAttribute("data-status", "cancelled");
    expect(within(msg).getByText("Stopped")).toBeInTheDocument();
  });

  it("shows a notice when older messages were dropped to fit the context", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:done", {
      conversationId: "c1",
      messageId: "a1",
      content: "ok",
      stats: stats({ droppedMessages: 3 }),
      status: "done",
    });
    expect(screen.getByTestId("dropped-notice")).toHaveTextContent("3 older messages were left out to fit the context");
  });

  it("shows chat:error translated from its code under the message", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:error", {
      conversationId: "c1",
      messageId: "a1",
      error: { code: "context_length_exceeded", message: "prompt is 5000 tokens", params: { tokens: 5000 } },
    });
    const err = await screen.findByTestId("message-error");
    expect(err).toHaveTextContent("too long for the model’s context window");
    expect(err).toHaveTextContent("prompt is 5000 tokens");
  });
});

describe("switching conversations", () => {
  it("keeps the streamed text of an answer running in another conversation", async () => {
    const other = conversation("c2", "Other", [{ content: "Other question" }]);
    const props = { state: defaultState(), onConversationCreated: () => {}, onLoadModel: () => {} };
    const { backend, rerender } = setup(
      { conversations: [convo, other] },
      <ChatInterface conversationId="c1" {...props} />,
    );
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "First part, " });
    await nextFrames();

    rerender(<ChatInterface conversationId="c2" {...props} />);
    await screen.findByText("Other question");
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 1, text: "second part." });
    await nextFrames();
    expect(screen.queryByText(/second part/)).not.toBeInTheDocument();

    // Go has stored part of the answer meanwhile; the buffer is newer.
    backend.conversations.get("c1")!.messages.push({
      id: "a1", conversationId: "c1", role: "assistant", content: "First", createdAt: "", status: "streaming",
    });
    rerender(<ChatInterface conversationId="c1" {...props} />);
    await waitFor(() => expect(assistantMessages()[0]).toHaveTextContent("First part, second part."));
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 2, text: " Third." });
    await nextFrames();
    expect(assistantMessages()[0]).toHaveTextContent("First part, second part. Third.");
    expect(assistantMessages()).toHaveLength(1);
  });
});

describe("Composer keys", () => {
  it("Enter sends, and the sent message shows at once", async () => {
    const { backend, user } = renderChat();
    await screen.findByText("Hello there");
    const box = screen.getByTestId("composer");
    await user.type(box, "What is BitNet?{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toEqual([["c1", "What is BitNet?"]]));
    expect(box).toHaveValue("");
    expect(await screen.findByText("What is BitNet?")).toBeInTheDocument();
  });

  it("Shift+Enter adds a new line without sending", async () => {
    const { backend, user } = renderChat();
    const box = await screen.findByTestId("composer");
    await user.type(box, "line one{Shift>}{Enter}{/Shift}line two");
    expect(box).toHaveValue("line one\nline two");
    expect(backend.callsOf("SendMessage")).toHaveLength(0);
  });

  it("Esc stops a running answer", async () => {
    const { backend, user } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    await user.type(screen.getByTestId("composer"), "{Escape}");
    expect(backend.callsOf("StopGeneration")).toHaveLength(1);
  });

  it("puts the text back and shows the translated error when sending fails", async () => {
    const { backend, user } = renderChat();
    await screen.findByText("Hello there");
    backend.fail("SendMessage", "busy", "engine busy");
    await user.type(screen.getByTestId("composer"), "Try this{Enter}");
    expect(await screen.findByTestId("chat-error")).toHaveTextContent("BitNet is busy with another answer");
    expect(screen.getByTestId("composer")).toHaveValue("Try this");
    expect(screen.queryByText("Try this", { selector: ".bubble" })).not.toBeInTheDocument();
  });

  it("cannot send while the model is not ready", async () => {
    const { user } = renderChat({ status: "loading", loadFraction: 0.4 });
    await screen.findByText("Hello there");
    await user.type(screen.getByTestId("composer"), "hi");
    expect(screen.getByTestId("send")).toBeDisabled();
    expect(screen.getByTestId("loading-banner")).toHaveTextContent("Loading the model… 40%");
  });
});

describe("Conversation actions", () => {
  it("sending from a new chat creates the conversation first", async () => {
    const { backend, user, created } = renderChat({}, null);
    expect(screen.getByText("Start a conversation")).toBeInTheDocument();
    expect(screen.getAllByTestId("example-prompt")).toHaveLength(3);
    await user.type(screen.getByTestId("composer"), "First message{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    expect(backend.calls.map((c) => c.method)).toEqual(["CreateConversation", "SendMessage"]);
    expect(created).toHaveLength(1);
    expect(backend.callsOf("SendMessage")[0]).toEqual([created[0], "First message"]);
  });

  it("regenerates the last answer", async () => {
    const { backend, user } = setup(
      { conversations: [conversation("c1", "x", [{ content: "Q" }, { content: "A", stats: stats() }])] },
      <ChatInterface conversationId="c1" state={defaultState()} onConversationCreated={() => {}} onLoadModel={() => {}} />,
    );
    await screen.findByText("A");
    await user.click(screen.getByTestId("regenerate"));
    expect(backend.callsOf("Regenerate")).toEqual([["c1"]]);
    expect(screen.queryByText("A")).not.toBeInTheDocument();
  });

  it("edits a user message and resends it", async () => {
    const { backend, user } = setup(
      { conversations: [conversation("c1", "x", [{ id: "u1", content: "Old question" }, { content: "Answer" }])] },
      <ChatInterface conversationId="c1" state={defaultState()} onConversationCreated={() => {}} onLoadModel={() => {}} />,
    );
    await screen.findByText("Old question");
    await user.click(screen.getByTestId("edit-message"));
    const box = screen.getByTestId("edit-textarea");
    await user.clear(box);
    await user.type(box, "New question");
    await user.click(screen.getByTestId("edit-save"));
    expect(backend.callsOf("EditMessage")).toEqual([["c1", "u1", "New question"]]);
    expect(screen.getByText("New question")).toBeInTheDocument();
    expect(screen.queryByText("Answer")).not.toBeInTheDocument();
  });

  it("copies an answer through the Wails clipboard", async () => {
    const { backend, user } = setup(
      { conversations: [conversation("c1", "x", [{ content: "Q" }, { content: "Copy me" }])] },
      <ChatInterface conversationId="c1" state={defaultState()} onConversationCreated={() => {}} onLoadModel={() => {}} />,
    );
    await screen.findByText("Copy me");
    const answer = assistantMessages()[0]!;
    await user.click(within(answer).getByTestId("copy-message"));
    expect(backend.clipboard).toBe("Copy me");
  });
});

describe("smaller items", () => {
  it("a whitespace-only answer says so instead of an empty bubble, and keeps its stats", async () => {
    const { backend } = renderChat();
    await screen.findByText("Hello there");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "  \n " });
    await nextFrames();
    emit(backend, "chat:done", {
      conversationId: "c1",
      messageId: "a1",
      content: "  \n  \n",
      stats: stats({ completionTokens: 3 }),
      status: "done",
    });
    const msg = assistantMessages()[0]!;
    expect(within(msg).getByTestId("blank-answer")).toHaveTextContent("(The model answered with whitespace only.)");
    expect(within(msg).getByTestId("message-metrics")).toHaveTextContent("3 tokens");
    expect(within(msg).queryByTestId("copy-message")).not.toBeInTheDocument();
  });

  it("editing says how many later messages saving removes", async () => {
    const { user } = setup(
      {
        conversations: [
          conversation("c1", "x", [
            { id: "u1", content: "First question" },
            { content: "First answer" },
            { id: "u2", content: "Second question" },
            { content: "Second answer" },
          ]),
        ],
      },
      <ChatInterface conversationId="c1" state={defaultState()} onConversationCreated={() => {}} onLoadModel={() => {}} />,
    );
    await screen.findByText("First question");
    const [first, second] = screen.getAllByTestId("edit-message");
    await user.click(first!);
    expect(screen.getByTestId("edit-drops")).toHaveTextContent("Saving will remove the 3 messages after this one.");
    await user.click(screen.getByText("Cancel"));
    await user.click(second!);
    expect(screen.getByTestId("edit-drops")).toHaveTextContent("Saving will remove the message after this one.");
  });

  it("importing another model shows its progress in the chat", async () => {
    renderChat({ status: "converting", loadFraction: 0.3, loadStage: "converting" });
    await screen.findByText("Hello there");
    expect(screen.getByTestId("loading-banner")).toHaveTextContent("Preparing the model… 30% · Converting the weights");
  });

  it("a model file that is present but not usable offers Download again and Import a file", async () => {
    const s = {
      ...defaultState(),
      status: "error" as const,
      modelPresent: true,
      error: { code: "invalid_model", message: "/models/m.gguf is not a usable model: truncated: tensor output needs 1024 bytes" },
    };
    const calls: string[] = [];
    const { user } = setup(
      { conversations: [convo], state: s },
      <ChatInterface
        conversationId="c1"
        state={s}
        onConversationCreated={() => {}}
        onLoadModel={() => calls.push("load")}
        onDownload={() => calls.push("download")}
        onImport={() => calls.push("import")}
      />,
    );
    const err = await screen.findByTestId("model-error");
    expect(err).toHaveTextContent("This file isn’t a model BitNet Desktop can load.");
    expect(err).toHaveTextContent("truncated: tensor output needs 1024 bytes");
    expect(screen.queryByTestId("load-model")).not.toBeInTheDocument();
    await user.click(screen.getByTestId("download-again"));
    await user.click(screen.getByTestId("import-file"));
    expect(calls).toEqual(["download", "import"]);
  });

  it("a model that failed to load for another reason still offers Load model", async () => {
    renderChat({ status: "error", modelPresent: true, error: { code: "internal", message: "out of memory" } });
    expect(await screen.findByTestId("load-model")).toBeInTheDocument();
    expect(screen.queryByTestId("download-again")).not.toBeInTheDocument();
  });
});
