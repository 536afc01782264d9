import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import i18n from "../i18n";

afterEach(async () => {
  cleanup();
  // The chat store outlives components (as in the app): each test gets a new one, subscribed to
  // its own fake Go.
  // (Imported here, not at the top: a test file's vi.mock of the bindings must apply to it.)
  const { resetChatStore } = await import("../store/chatStore");
  resetChatStore();
  // The drafts too: each test starts with none.
  const { resetDraftStore } = await import("../store/draftStore");
  resetDraftStore();
  await i18n.changeLanguage("en");
  delete document.documentElement.dataset.theme;
  const w = window as unknown as { go?: unknown; runtime?: unknown };
  delete w.go;
  delete w.runtime;
});
