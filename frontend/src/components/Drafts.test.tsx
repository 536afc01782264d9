// Each conversation keeps its own composer draft (and the new chat its own), across chat switches
// and remounts; a send empties only that conversation's draft and a refused one keeps it. The
// whole app against the fake Go.
import { act, fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { ChatInterface } from "./ChatInterface";
import { getDraftStore } from "../store/draftStore";
import { conversation, defaultState, type FakeBackend } from "../testing/fakeBackend";
import { setup } from "../testing/helpers";

const notes = conversation("c1", "Notes", [{ id: "u1", content: "Note one" }, { id: "a1", content: "Noted." }]);
const plans = conversation("c2", "Plans", [{ id: "u2", content: "Plan one" }, { id: "a2", content: "Planned." }]);

const box = () => screen.getByTestId("composer") as HTMLTextAreaElement;
const item = (id: string) => screen.getAllByTestId("conversation-item").find((el) => el.dataset.id === id)!;
const userBubbles = () =>
  screen
    .queryAllByTestId("message")
    .filter((m) => m.dataset.role === "user")
    .map((m) => m.textContent);

type User = ReturnType<typeof setup>["user"];

/** Opens a conversation from the sidebar and waits for its messages. */
async function open(user: User, id: string, firstMessage: string) {
  await waitFor(() => expect(item(id)).toBeTruthy());
  await user.click(within(item(id)).getAllByRole("button")[0]!);
  await screen.findByText(firstMessage);
  await waitFor(() => expect(item(id)).toHaveAttribute("data-active", "true"));
}

async function newChat(user: User) {
  await user.click(screen.getByTestId("new-chat"));
  await screen.findByTestId("empty-state");
}

/** Go without CountDraft: a too-long draft is refused by SendMessage (the path that puts it back). */
function noCount(backend: FakeBackend) {
  delete (backend.app as Record<string, unknown>).CountDraft;
}

describe("drafts per conversation", () => {
  it("each chat keeps its own draft, and the new chat its own, when switching back and forth", async () => {
    const { user } = setup({ conversations: [notes, plans] });
    await screen.findByTestId("empty-state");
    await user.type(box(), "An idea for a new chat");

    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("");
    await user.type(box(), "Draft for notes");

    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("");
    await user.type(box(), "Draft for plans");

    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Draft for notes");
    await newChat(user);
    expect(box()).toHaveValue("An idea for a new chat");
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("Draft for plans");
    // Editing one draft leaves the others alone.
    await user.clear(box());
    await user.type(box(), "Plans, edited");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Draft for notes");
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("Plans, edited");
  });

  it("sending empties only that chat's draft", async () => {
    const { backend, user } = setup({
      conversations: [notes, plans],
      autoReply: { text: () => "Sure.", ttftMs: 5, intervalMs: 5 },
    });
    await screen.findByTestId("empty-state");
    await user.type(box(), "New chat draft");
    await open(user, "c1", "Note one");
    await user.type(box(), "Keep me for later");
    await open(user, "c2", "Plan one");
    await user.type(box(), "Send me now{Enter}");
    expect(box()).toHaveValue("");
    await waitFor(() => expect(userBubbles()).toContain("Send me now"));
    expect(backend.callsOf("SendMessage")).toEqual([["c2", "Send me now"]]);

    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Keep me for later");
    await newChat(user);
    expect(box()).toHaveValue("New chat draft");
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("");
  });

  it("the new chat's first message empties the new chat's draft; the created chat starts empty", async () => {
    const { backend, user } = setup({ conversations: [notes], autoReply: { text: () => "Hello!", ttftMs: 5, intervalMs: 5 } });
    await open(user, "c1", "Note one");
    await user.type(box(), "Notes draft");
    await newChat(user);
    await user.type(box(), "First message{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    const id = backend.callsOf("SendMessage")[0]![0] as string;
    await waitFor(() => expect(item(id)).toHaveAttribute("data-active", "true"));
    expect(box()).toHaveValue("");
    await newChat(user);
    expect(box()).toHaveValue("");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Notes draft");
  });

  it("a send refused as too long keeps the draft in its chat, also after switching away and back", async () => {
    const { backend, user } = setup({ conversations: [notes, plans] });
    noCount(backend);
    await open(user, "c1", "Note one");
    const long = "Lorem ipsum dolor sit amet. ".repeat(715);
    fireEvent.change(box(), { target: { value: long } });
    await user.type(box(), "{Enter}");
    expect(await screen.findByTestId("chat-error")).toHaveAttribute("data-code", "context_length_exceeded");
    await waitFor(() => expect(box()).toHaveValue(long));
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue(long);
    expect(backend.conversations.get("c1")!.messages).toHaveLength(2);
  });

  it("a send refused as busy keeps the draft", async () => {
    const { backend, user } = setup({ conversations: [notes, plans] });
    await open(user, "c2", "Plan one");
    backend.fail("SendMessage", "busy", "an answer is being generated");
    await user.type(box(), "Not now?{Enter}");
    expect(await screen.findByTestId("chat-error")).toHaveAttribute("data-code", "busy");
    expect(box()).toHaveValue("Not now?");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("");
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("Not now?");
  });

  it("with the model not loaded, Enter sends nothing and the draft stays with its chat", async () => {
    const { backend, user } = setup({ conversations: [notes, plans] });
    await open(user, "c1", "Note one");
    act(() => backend.setState({ status: "not_installed", modelPresent: true, model: undefined }));
    expect(await screen.findByTestId("not-loaded-banner")).toBeInTheDocument();
    await user.type(box(), "Later, when it loads{Enter}");
    expect(box()).toHaveValue("Later, when it loads");
    expect(screen.getByTestId("send")).toBeDisabled();
    expect(backend.callsOf("SendMessage")).toHaveLength(0);
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Later, when it loads");
  });

  it("a refusal that comes after the user opened another chat puts the draft back in its own chat", async () => {
    const { backend, user } = setup({ conversations: [notes, plans] });
    await open(user, "c1", "Note one");
    const release = backend.hold("SendMessage");
    await user.type(box(), "Slow one{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    expect(box()).toHaveValue("");
    await open(user, "c2", "Plan one");
    await user.type(box(), "Typed in plans");
    backend.fail("SendMessage", "busy", "an answer is being generated");
    await act(async () => release());
    // This chat's draft is untouched; the refused text went back to its own chat.
    expect(box()).toHaveValue("Typed in plans");
    await waitFor(() => expect(getDraftStore().get("c1")).toBe("Slow one"));
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("Slow one");
  });

  it("a send that Go takes after the user opened another chat leaves both drafts alone", async () => {
    const { backend, user } = setup({ conversations: [notes, plans], autoReply: { text: () => "Ok.", ttftMs: 5, intervalMs: 5 } });
    await open(user, "c1", "Note one");
    const release = backend.hold("SendMessage");
    await user.type(box(), "Slow but fine{Enter}");
    await waitFor(() => expect(backend.callsOf("SendMessage")).toHaveLength(1));
    await open(user, "c2", "Plan one");
    await user.type(box(), "Typed in plans");
    await act(async () => release());
    await waitFor(() => expect(backend.conversations.get("c1")!.messages.at(-1)?.status).toBe("done"));
    expect(box()).toHaveValue("Typed in plans");
    await open(user, "c1", "Note one");
    expect(box()).toHaveValue("");
    expect(userBubbles()).toContain("Slow but fine");
  });

  it("a chat's token count is not shown in another chat's draft", async () => {
    const { backend, user } = setup({ conversations: [notes, plans] });
    await open(user, "c2", "Plan one");
    await user.type(box(), "A short plan");
    await open(user, "c1", "Note one");
    await user.click(box());
    await user.paste("Lorem ipsum dolor sit amet. ".repeat(715));
    await waitFor(() => expect(screen.getByTestId("draft-count")).toHaveAttribute("data-over", "true"));
    const counts = backend.callsOf("CountDraft").length;
    await open(user, "c2", "Plan one");
    expect(box()).toHaveValue("A short plan");
    expect(screen.queryByTestId("draft-count")).not.toBeInTheDocument();
    expect(screen.getByTestId("send")).toBeEnabled();
    // Back in the first chat, its draft is still over the limit (and counted again).
    await open(user, "c1", "Note one");
    await waitFor(() => expect(screen.getByTestId("draft-count")).toHaveAttribute("data-over", "true"));
    expect(screen.getByTestId("send")).toBeDisabled();
    await waitFor(() => expect(backend.callsOf("CountDraft").length).toBeGreaterThan(counts));
  });

  it("a deleted conversation's draft is dropped", async () => {
    const { user } = setup({ conversations: [notes, plans] });
    await open(user, "c1", "Note one");
    await user.type(box(), "Soon gone");
    await open(user, "c2", "Plan one");
    await user.type(box(), "Stays");
    await user.click(within(item("c1")).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-delete"));
    await user.click(within(screen.getByTestId("confirm-dialog")).getByTestId("confirm-button"));
    await waitFor(() => expect(screen.getAllByTestId("conversation-item")).toHaveLength(1));
    expect(getDraftStore().keys()).toEqual(["c2"]);
    expect(box()).toHaveValue("Stays");
  });
});

describe("drafts and remounts", () => {
  it("a chat view mounted again shows its draft", async () => {
    const props = { state: defaultState(), onConversationCreated: () => {}, onLoadModel: () => {} };
    const { user, rerender } = setup({ conversations: [notes, plans] }, <ChatInterface conversationId="c1" {...props} />);
    await screen.findByText("Note one");
    await user.type(box(), "Half a thought");
    rerender(<div data-testid="elsewhere" />);
    expect(screen.queryByTestId("composer")).not.toBeInTheDocument();
    rerender(<ChatInterface conversationId="c1" {...props} />);
    await screen.findByText("Note one");
    expect(box()).toHaveValue("Half a thought");
    // The same view given another conversation shows that one's draft.
    rerender(<ChatInterface conversationId="c2" {...props} />);
    await screen.findByText("Plan one");
    expect(box()).toHaveValue("");
    rerender(<ChatInterface conversationId={null} {...props} />);
    expect(box()).toHaveValue("");
    rerender(<ChatInterface conversationId="c1" {...props} />);
    expect(box()).toHaveValue("Half a thought");
  });
});
