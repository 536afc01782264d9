import { screen, waitFor, within } from "@testing-library/react";
import { afterEach, describe, expect, it, vi } from "vitest";
import { DEFAULT_PROMPTS, goDefaults } from "../testing/fakeBackend";
import { setup } from "../testing/helpers";

describe("Settings", () => {
  it("saves the edited settings through SaveSettings and applies the theme", async () => {
    const { backend, user } = setup({
      state: { serverUrl: "http://127.0.0.1:8765" },
      settings: { systemPrompt: "Be terse." },
    });
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    const dialog = screen.getByTestId("settings-dialog");
    expect(dialog).toBeInTheDocument();
    expect(screen.getByTestId("server-url")).toHaveTextContent("Running at http://127.0.0.1:8765");

    const temp = screen.getByTestId("settings-temperature");
    await user.clear(temp);
    await user.type(temp, "0.3");
    const maxTokens = screen.getByTestId("settings-maxTokens");
    await user.clear(maxTokens);
    await user.type(maxTokens, "512");
    await user.selectOptions(screen.getByTestId("theme-select"), "dark");
    await user.click(screen.getByTestId("settings-serverEnabled"));
    await user.click(screen.getByTestId("settings-default-prompt"));
    await waitFor(() =>
      expect(screen.getByTestId("settings-systemPrompt")).toHaveValue(DEFAULT_PROMPTS.en),
    );
    await user.click(screen.getByTestId("settings-save"));

    await waitFor(() => expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument());
    const saved = backend.callsOf("SaveSettings");
    expect(saved).toHaveLength(1);
    expect(saved[0]![0]).toMatchObject({
      temperature: 0.3,
      maxTokens: 512,
      theme: "dark",
      serverEnabled: true,
      topP: goDefaults.settings.topP,
      systemPrompt: DEFAULT_PROMPTS.en,
    });
    expect(document.documentElement.dataset.theme).toBe("dark");
  });

  it("saves the conversation memory type, which the next load uses", async () => {
    const { backend, user } = setup();
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    const select = screen.getByTestId("settings-kvCache");
    expect(select).toHaveValue("f16");
    expect(within(select).getAllByRole("option").map((o) => o.textContent)).toEqual(["Exact (16-bit)", "Compact (8-bit)"]);
    await user.selectOptions(select, "q8_0");
    await user.click(screen.getByTestId("settings-save"));
    await waitFor(() => expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("SaveSettings")[0]![0]).toMatchObject({ kvCache: "q8_0" });
    // The status shows what the loaded model runs with until it is loaded again.
    await user.click(screen.getByTestId("status-toggle"));
    expect(screen.getByTestId("status-kvCache")).toHaveTextContent("f16");
    expect(screen.getByTestId("status-kvCache")).toHaveAttribute("title", "Exact (16-bit)");
  });

  it("refuses out-of-range numbers and does not save", async () => {
    const { backend, user } = setup();
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    const port = screen.getByTestId("settings-serverPort");
    await user.clear(port);
    await user.type(port, "70000");
    await user.click(screen.getByTestId("settings-save"));
    expect(screen.getByRole("alert")).toHaveTextContent("Enter a number between 1024 and 65535.");
    expect(backend.callsOf("SaveSettings")).toHaveLength(0);
  });

  it("keeps the dialog open with the translated error when saving fails", async () => {
    const { backend, user } = setup();
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    backend.fail("SaveSettings", "io_error", "permission denied");
    await user.click(screen.getByTestId("settings-save"));
    expect(await screen.findByTestId("settings-error")).toHaveTextContent("A file couldn’t be read or written.");
    expect(screen.getByTestId("settings-dialog")).toBeInTheDocument();
  });

  it("Esc closes the dialog without saving", async () => {
    const { backend, user } = setup();
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    await user.keyboard("{Escape}");
    expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument();
    expect(backend.callsOf("SaveSettings")).toHaveLength(0);
  });

  it("shows the app version under About", async () => {
    const { user } = setup({ state: { version: "1.2.3+git4.gabcdef0" } });
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    expect(screen.getByTestId("about-version")).toHaveTextContent("BitNet Desktop · Version 1.2.3+git4.gabcdef0");
  });
});

describe("API server port in use", () => {
  afterEach(() => {
    delete (Element.prototype as { scrollIntoView?: unknown }).scrollIntoView;
  });

  it("says so next to the port field and offers a free port", async () => {
    const { backend, user } = setup();
    backend.busyPorts.add(8723);
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    await user.click(screen.getByTestId("settings-serverEnabled"));
    await user.click(screen.getByTestId("settings-save"));
    const err = await screen.findByTestId("port-error");
    expect(err).toHaveTextContent("Port 8723 is already used by another program.");
    expect(err).toHaveTextContent("address already in use");
    expect(screen.queryByTestId("settings-error")).not.toBeInTheDocument();
    // right after the port field, before About
    const port = screen.getByTestId("settings-serverPort");
    expect(port.compareDocumentPosition(err) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(err.compareDocumentPosition(screen.getByTestId("about-version")) & Node.DOCUMENT_POSITION_FOLLOWING).toBeTruthy();
    expect(screen.getByTestId("settings-dialog")).toBeInTheDocument();

    await user.click(within(err).getByTestId("use-suggested-port"));
    await waitFor(() => expect(screen.queryByTestId("settings-dialog")).not.toBeInTheDocument());
    expect(backend.callsOf("SaveSettings").at(-1)![0]).toMatchObject({ serverEnabled: true, serverPort: 8724 });
    expect(backend.state.serverUrl).toBe("http://127.0.0.1:8724");
  });

  it("a refused save scrolls the port error, with \"Use port N\", into view once it is shown", async () => {
    // Seen in the e2e run: the save scrolled the port field to the middle before the error existed,
    // so the error and its "Use port N" button ended up under the dialog's footer.
    const scrolled: Element[] = [];
    const spy = vi.fn(function (this: Element) {
      scrolled.push(this);
    });
    Object.defineProperty(Element.prototype, "scrollIntoView", { value: spy, configurable: true, writable: true });
    const { backend, user } = setup();
    backend.busyPorts.add(8723);
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    await user.click(screen.getByTestId("settings-button"));
    await user.click(screen.getByTestId("settings-serverEnabled"));
    await user.click(screen.getByTestId("settings-save"));
    const err = await screen.findByTestId("port-error");
    const usePort = within(err).getByTestId("use-suggested-port");
    await waitFor(() => expect(scrolled.some((el) => el.contains(usePort))).toBe(true));
    expect(screen.getByTestId("settings-serverPort")).toHaveFocus();
  });

  it("shows a port already taken at start-up, in the settings and in the status details", async () => {
    const serverError = {
      code: "port_in_use",
      params: { port: 8723, suggestedPort: 8730 },
      message: "listen tcp 127.0.0.1:8723: bind: address already in use",
    };
    const { user } = setup({ state: { serverError }, settings: { serverEnabled: true } });
    await waitFor(() => expect(screen.getByTestId("settings-button")).toBeEnabled());
    expect(screen.getByTestId("status-server-warning")).toBeInTheDocument();
    await user.click(screen.getByTestId("status-toggle"));
    expect(screen.getByTestId("status-server")).toHaveTextContent("Port 8723 is already used by another program.");
    await user.click(screen.getByTestId("settings-button"));
    expect(screen.getByTestId("port-error")).toHaveTextContent("Port 8723 is already used by another program.");
    expect(screen.getByTestId("use-suggested-port")).toHaveTextContent("Use port 8730");
    expect(screen.getByTestId("server-url")).toHaveTextContent("Not running");
  });
});
