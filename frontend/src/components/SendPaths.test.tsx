// Every way a send can end, through the whole app and the fake Go: the UI never stays in
// "sending"/"Reading your message…", shows the reason, gives the draft back and the composer works.
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ChatInterface } from "./ChatInterface";
import { conversation, defaultState, type FakeBackend } from "../testing/fakeBackend";
import { emit, nextFrames, setup } from "../testing/helpers";

const existing = conversation("c1", "Notes", [{ id: "u0", content: "Hello" }, { id: "a0", content: "Hi!" }]);

const box = () => screen.getByTestId("composer") as HTMLTextAreaElement;
const items = () => screen.queryAllByTestId("conversation-item");
const assistants = () => screen.queryAllByTestId("message").filter((m) => m.dataset.role === "assistant");

/** Go without CountDraft: the draft is not checked before sending, so Go's refusal is what shows. */
function noCount(backend: FakeBackend) {
  delete (backend.app as Record<string, unknown>).CountDraft;
}

/** A 20,000-character text (about 8,800 tokens), different for each i. */
const paste = (i: number) => `Document ${i}. ` + "Lorem ipsum dolor sit amet. ".repeat(715);

async function openExisting(user: ReturnType<typeof setup>["user"]) {
  await waitFor(() => expect(items()).toHaveLength(1));
  await user.click(within(items()[0]!).getByText("Notes"));
  await screen.findByText("Hello");
}

/** The composer can be used: no Stop, no "Reading your message…", Send back. */
function expectUsable() {
  expect(screen.queryByTestId("stop")).not.toBeInTheDocument();
  expect(screen.getByTestId("send")).toBeInTheDocument();
  expect(screen.queryByText("Reading your message…")).not.toBeInTheDocument();
  expect(box()).not.toBeDisabled();
}

describe("a message too long for the context", () => {
  it("as the first message of a new chat: refused with the reason, 20 times in a row, no empty chat left", async () => {
    const { backend, user } = setup({ conversations: [] });
    noCount(backend);
    await screen.findByText("Start a conversation");
    for (let i = 0; i < 20; i++) {
      fireEvent.change(box(), { target: { value: paste(i) } });
      await user.type(box(), "{Enter}");
      const err = await screen.findByTestId("chat-error");
      await waitFor(() => expect(box()).toHaveValue(paste(i)));
      expect(err).toHaveAttribute("data-code", "context_length_exceeded");
      expect(err).toHaveTextContent(/This message is too long: about [\d,]+ tokens, and at most [\d,]+ fit/);
      expectUsable();
      expect(screen.getByTestId("conversation-title")).toHaveTextContent("New chat");
      expect(screen.getByTestId("empty-state")).toBeInTheDocument();
    }
    expect(backend.callsOf("SendMessage")).toHaveLength(20);
    await waitFor(() => expect(backend.conversations.size).toBe(0));
    await waitFor(() => expect(items()).toHaveLength(0));
  });

  it("in an existing chat: refused 20 times in a row, the chat unchanged, then a short message goes", async () => {
    const { backend, user } = setup({ conversations: [existing], autoReply: { text: () => "Done.", ttftMs: 5, intervalMs: 5 } });
    noCount(backend);
    await openExisting(user);
    for (let i = 0; i < 20; i++) {
      fireEvent.change(box(), { target: { value: paste(i) } });
      await user.type(box(), "{Enter}");
      await waitFor(() => expect(screen.getByTestId("chat-error")).toHaveAttribute("data-code", "context_length_exceeded"));
      await waitFor(() => expect(box()).toHaveValue(paste(i)));
      expectUsable();
      expect(screen.getAllByTestId("message")).toHaveLength(2);
    }
    expect(backend.conversations.get("c1")!.messages).toHaveLength(2);
    await user.clear(box());
    await user.type(box(), "Short one{Enter}");
    await waitFor(() => expect(screen.queryByTestId("chat-error")).not.toBeInTheDocument());
    await waitFor(() => expect(assistants().at(-1)).toHaveTextContent("Done."));
    expectUsable();
  });

  it("with the count on: the paste shows its tokens and Send stays off until it fits", async () => {
    const { backend, user } = setup({ conversations: [] });
    await screen.findByText("Start a conversation");
    await user.click(box());
    await user.paste(paste(1));
    await waitFor(() => expect(screen.getByTestId("draft-count")).toHaveAttribute("data-over", "true"));
    expect(screen.getByTestId("draft-tokens")).toHaveTextContent(/[\d,]+ \/ [\d,]+ tokens/);
    expect(screen.getByTestId("send")).toBeDisabled();
    await user.keyboard("{Enter}");
    expect(backend.callsOf("SendMessage")).toHaveLength(0);
    expect(backend.callsOf("CreateConversation")).toHaveLength(0);
  });
});

describe("other refusals", () => {
  it.each([
    ["busy", "BitNet is busy with another answer"],
    ["model_not_loaded", "The model isn’t loaded yet."],
    ["no_model", "No model is installed yet."],
    ["io_error", "A file couldn’t be read or written."],
  ])("%s: the reason with Go's message, the draft back, the composer usable", async (code, text) => {
    const { backend, user } = setup({ conversations: [existing] });
    await openExisting(user);
    backend.fail("SendMessage", code, `Go: ${code} details`);
    await user.type(box(), "Try this{Enter}");
    const err = await screen.findByTestId("chat-error");
    expect(err).toHaveTextContent(text);
    expect(err).toHaveTextContent(`Details: Go: ${code} details`);
    expect(box()).toHaveValue("Try this");
    expectUsable();
    expect(screen.queryByText("Try this", { selector: ".bubble" })).not.toBeInTheDocument();
  });

  it("busy as the first message of a new chat: back on the new chat with the draft", async () => {
    const { backend, user } = setup({ conversations: [] });
    await screen.findByText("Start a conversation");
    backend.fail("SendMessage", "busy", "an answer is being generated");
    await user.type(box(), "Hello?{Enter}");
    expect(await screen.findByTestId("chat-error")).toHaveAttribute("data-code", "busy");
    expect(box()).toHaveValue("Hello?");
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("New chat");
    expectUsable();
    await waitFor(() => expect(backend.conversations.size).toBe(0));
  });
});

describe("the answer's events", () => {
  it("a chat:error before SendMessage resolves: the reason under the answer, nothing waits", async () => {
    const { backend, user } = setup({ conversations: [existing] });
    await openExisting(user);
    backend.afterSend = (c) =>
      backend.emit("chat:error", {
        conversationId: c.id,
        messageId: "a9",
        error: { code: "context_length_exceeded", message: "the prompt needs 8811 tokens but only 4095 fit" },
      });
    await user.type(box(), "Hi{Enter}");
    const err = await screen.findByTestId("message-error");
    expect(err).toHaveTextContent("too long for the model’s context window");
    expect(err).toHaveTextContent("the prompt needs 8811 tokens but only 4095 fit");
    expect(assistants().at(-1)).toHaveAttribute("data-status", "error");
    expectUsable();
    expect(box()).toHaveValue("");
  });

  it("a chat:error before chat:start: the answer fails at once and the late chat:start adds nothing", async () => {
    const { backend, user } = setup({ conversations: [existing] });
    await openExisting(user);
    await user.type(box(), "Hi{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    expect(await screen.findByTestId("stop")).toBeInTheDocument(); // waiting for the answer
    emit(backend, "chat:error", { conversationId: "c1", messageId: "a9", error: { code: "internal", message: "engine crashed" } });
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a9", modelId: "", model: "" });
    await nextFrames();
    expect(screen.getByTestId("message-error")).toHaveTextContent("engine crashed");
    expect(assistants().filter((m) => m.dataset.messageId === "a9")).toHaveLength(1);
    expectUsable();
  });

  it("no events at all after SendMessage: Go's state ends the wait", async () => {
    const { backend, user } = setup({ conversations: [existing] });
    await openExisting(user);
    await user.type(box(), "Anyone?{Enter}");
    expect(await screen.findByTestId("stop")).toBeInTheDocument();
    act(() => backend.setState({ status: "generating", generatingConversationId: "c1" }));
    act(() => backend.setState({ status: "ready", generatingConversationId: undefined }));
    await waitFor(() => expectUsable());
    expect(screen.getByText("Anyone?", { selector: ".bubble" })).toBeInTheDocument();
  });

  it("Esc while waiting for an answer that never comes: stops and frees the composer", async () => {
    const { backend, user } = setup({ conversations: [existing] });
    await openExisting(user);
    await user.type(box(), "Anyone?{Enter}");
    expect(await screen.findByTestId("stop")).toBeInTheDocument();
    await user.keyboard("{Escape}");
    expect(backend.callsOf("StopGeneration")).toHaveLength(1);
    await waitFor(() => expectUsable());
  });

  it("Stop while the message is still being sent stops the answer as soon as it starts", async () => {
    // Unless it is stopped, the answer takes a minute to start and another per word: only the Stop
    // pressed while SendMessage is pending can end it within the test.
    const { backend, user } = setup({
      conversations: [existing],
      autoReply: { text: () => "A long answer that should not finish.", ttftMs: 60_000, intervalMs: 60_000 },
    });
    await openExisting(user);
    // Go answers SendMessage only when the test says so (no timing window).
    const release = backend.hold("SendMessage");
    await user.type(box(), "Go{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    await user.click(await screen.findByTestId("stop"));
    // Still being sent: nothing runs in Go yet, so that Stop stopped nothing; the UI still waits.
    expect(backend.callsOf("StopGeneration")).toHaveLength(1);
    expect(assistants().map((m) => m.dataset.messageId)).toEqual(["a0"]);
    expect(screen.getByTestId("stop")).toBeInTheDocument();
    expect(screen.getByText("Go", { selector: ".bubble" })).toBeInTheDocument();
    // Go takes the message and starts the answer: it is stopped at once.
    await act(async () => release());
    await waitFor(() => expect(assistants().at(-1)).toHaveAttribute("data-status", "cancelled"));
    expect(assistants()).toHaveLength(2);
    expect(within(assistants().at(-1)!).getByText("Stopped")).toBeInTheDocument();
    expect(backend.callsOf("StopGeneration").length).toBeGreaterThanOrEqual(2);
    expect(backend.conversations.get("c1")!.messages.at(-1)).toMatchObject({ role: "assistant", status: "cancelled" });
    expectUsable();
  });

  it("a new chat's first message selects the conversation once Go took it, and the answer streams there", async () => {
    const { backend, user } = setup({ conversations: [], autoReply: { text: () => "Welcome!", ttftMs: 5, intervalMs: 5 } });
    await screen.findByText("Start a conversation");
    await user.type(box(), "First message{Enter}");
    await waitFor(() => expect(assistants().at(-1)).toHaveTextContent("Welcome!"));
    const id = backend.callsOf("SendMessage")[0]![0] as string;
    await waitFor(() => expect(items()[0]).toHaveAttribute("data-active", "true"));
    expect(items()[0]).toHaveAttribute("data-id", id);
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("First message");
    expectUsable();
  });
});

describe("remount", () => {
  it("a chat view shown again mid-answer shows the text streamed so far", async () => {
    const props = { state: defaultState(), onConversationCreated: () => {}, onLoadModel: () => {} };
    const { backend, rerender } = setup({ conversations: [existing] }, <ChatInterface conversationId="c1" {...props} />);
    await screen.findByText("Hello");
    emit(backend, "chat:start", { conversationId: "c1", messageId: "a1", modelId: "", model: "" });
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 0, text: "Streamed " });
    await nextFrames();
    rerender(<div data-testid="elsewhere" />);
    emit(backend, "chat:delta", { conversationId: "c1", messageId: "a1", seq: 1, text: "while away." });
    rerender(<ChatInterface conversationId="c1" {...props} />);
    await nextFrames();
    expect(assistants().at(-1)).toHaveTextContent("Streamed while away.");
    expect(screen.getByTestId("stop")).toBeInTheDocument();
  });
});
