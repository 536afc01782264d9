import { fireEvent, screen, waitFor, within } from "@testing-library/react";
import { describe, expect, it } from "vitest";
import { conversation } from "../testing/fakeBackend";
import { setup } from "../testing/helpers";

const convos = [
  conversation("c1", "Python palindromes", [{ content: "palindrome in python?" }, { content: "def f(): ..." }], "2025-01-03T00:00:00Z"),
  conversation("c2", "Trip to Lisbon", [{ content: "what to see in Lisbon" }, { content: "Alfama" }], "2025-01-02T00:00:00Z"),
  conversation("c3", "", [], "2025-01-01T00:00:00Z"),
];

const items = () => screen.getAllByTestId("conversation-item");

describe("Sidebar", () => {
  it("lists conversations newest first, untitled as New chat, and opens one", async () => {
    const { user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    expect(items().map((i) => i.textContent)).toEqual(["Python palindromes", "Trip to Lisbon", "New chat"]);
    await user.click(within(items()[1]!).getByText("Trip to Lisbon"));
    expect(await screen.findByText("what to see in Lisbon")).toBeInTheDocument();
    expect(items()[1]).toHaveAttribute("data-active", "true");
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("Trip to Lisbon");
  });

  it("searches titles and messages", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.type(screen.getByTestId("search"), "alfama");
    await waitFor(() => expect(items()).toHaveLength(1));
    expect(items()[0]).toHaveTextContent("Trip to Lisbon");
    expect(backend.callsOf("ListConversations").at(-1)).toEqual(["alfama"]);
    await user.clear(screen.getByTestId("search"));
    await user.type(screen.getByTestId("search"), "zzz");
    expect(await screen.findByText("No chats match “zzz”")).toBeInTheDocument();
  });

  it("renames inline", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.click(within(items()[0]!).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-rename"));
    const input = screen.getByTestId("rename-input");
    await user.clear(input);
    await user.type(input, "Palindromes{Enter}");
    expect(backend.callsOf("RenameConversation")).toEqual([["c1", "Palindromes"]]);
    await waitFor(() => expect(items()[0]).toHaveTextContent("Palindromes"));
  });

  it("deletes after confirmation", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.click(within(items()[1]!).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-delete"));
    const dialog = screen.getByTestId("confirm-dialog");
    expect(dialog).toHaveTextContent("“Trip to Lisbon” and all its messages will be deleted.");
    await user.click(within(dialog).getByTestId("confirm-button"));
    expect(backend.callsOf("DeleteConversation")).toEqual([["c2"]]);
    await waitFor(() => expect(items()).toHaveLength(2));
  });

  it("cancelling the confirmation keeps the conversation", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.click(within(items()[1]!).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-delete"));
    await user.click(screen.getByText("Cancel"));
    expect(backend.callsOf("DeleteConversation")).toHaveLength(0);
    expect(items()).toHaveLength(3);
  });

  it("exports as Markdown and JSON and says where", async () => {
    const { backend, user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.click(within(items()[0]!).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-export-markdown"));
    expect(await screen.findByTestId("toast")).toHaveTextContent("Saved to /home/user/Documents/Python palindromes.md");
    await user.click(within(items()[0]!).getByTestId("conversation-menu"));
    await user.click(screen.getByTestId("menu-export-json"));
    expect(backend.callsOf("ExportConversation")).toEqual([
      ["c1", "markdown"],
      ["c1", "json"],
    ]);
  });

  it("Ctrl+K focuses search and Ctrl+N starts a new chat", async () => {
    const { user } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    await user.click(within(items()[0]!).getByText("Python palindromes"));
    await screen.findByText("palindrome in python?");
    fireEvent.keyDown(window, { key: "k", ctrlKey: true });
    expect(screen.getByTestId("search")).toHaveFocus();
    fireEvent.keyDown(window, { key: "n", ctrlKey: true });
    expect(await screen.findByText("Start a conversation")).toBeInTheDocument();
    expect(screen.getByTestId("conversation-title")).toHaveTextContent("New chat");
  });

  it("refreshes on conversations:changed", async () => {
    const { backend } = setup({ conversations: convos });
    await waitFor(() => expect(items()).toHaveLength(3));
    backend.conversations.set("c9", conversation("c9", "Fresh one", [], "2025-02-01T00:00:00Z"));
    backend.emit("conversations:changed", {});
    await waitFor(() => expect(items()[0]).toHaveTextContent("Fresh one"));
  });
});
