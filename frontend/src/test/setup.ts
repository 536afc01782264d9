import "@testing-library/jest-dom/vitest";
import { cleanup } from "@testing-library/react";
import { afterEach } from "vitest";
import i18n from "../i18n";

afterEach(async () => {
  cleanup();
  await i18n.changeLanguage("en");
  delete document.documentElement.dataset.theme;
  const w = window as unknown as { go?: unknown; runtime?: unknown };
  delete w.go;
  delete w.runtime;
});
