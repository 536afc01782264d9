import { beforeEach, describe, expect, it, vi } from "vitest";

vi.mock("../../wailsjs/go/main/App", () => ({
  GetState: vi.fn(),
  SendMessage: vi.fn(),
  ListConversations: vi.fn(),
  GetConversation: vi.fn(),
}));

import * as App from "../../wailsjs/go/main/App";
import { api } from "./client";
import { ApiError, toAppError } from "./errors";

describe("toAppError", () => {
  it("parses the JSON error text Go sends", () => {
    expect(toAppError('{"code":"busy","message":"engine busy"}')).toEqual({
      code: "busy",
      params: undefined,
      message: "engine busy",
    });
    expect(toAppError(new Error('{"code":"context_length_exceeded","params":{"limit":4096},"message":"too long"}'))).toEqual({
      code: "context_length_exceeded",
      params: { limit: 4096 },
      message: "too long",
    });
  });

  it("falls back to the plain text", () => {
    expect(toAppError("open /x: permission denied")).toEqual({ code: "unknown", message: "open /x: permission denied" });
    expect(toAppError("{not json")).toEqual({ code: "unknown", message: "{not json" });
    expect(toAppError({ code: "not_found", message: "gone" })).toMatchObject({ code: "not_found", message: "gone" });
  });
});

describe("api client", () => {
  beforeEach(() => vi.clearAllMocks());

  it("wraps rejections into ApiError with the parsed code", async () => {
    vi.mocked(App.SendMessage).mockRejectedValue('{"code":"no_model","message":"no model installed"}');
    const err = await api.sendMessage("c1", "hi").catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).code).toBe("no_model");
    expect(App.SendMessage).toHaveBeenCalledWith("c1", "hi");
  });

  it("turns Go nil slices into empty arrays", async () => {
    vi.mocked(App.ListConversations).mockResolvedValue(null as never);
    expect(await api.listConversations("")).toEqual([]);
    vi.mocked(App.GetConversation).mockResolvedValue({ id: "c1", title: "", messages: null } as never);
    expect((await api.getConversation("c1")).messages).toEqual([]);
  });
});
